"""What each lab scenario contains (scenario ids as in the design brief)."""

from __future__ import annotations

from collections.abc import Callable

from fakes.clock import VirtualClock
from fakes.hyperv import HyperVLab

MIB = 1 << 20

#: VMs per host of the S1 lab: name -> disk sizes. Small disks keep the demo quick.
S1_MACHINES: dict[str, dict[str, tuple[int, ...]]] = {
    "hv01": {"web01": (16 * MIB, 8 * MIB), "app01": (16 * MIB,), "sql01": (24 * MIB,)},
    "hv02": {"file01": (16 * MIB,)},
}


def build_s1(seed: int, clock: VirtualClock) -> HyperVLab:
    """S1: a Hyper-V site ("Primary") of two hosts, replicating to the cloud target."""
    lab = HyperVLab(seed=seed, clock=clock)
    site = lab.add_site("Primary")
    for host_name, machines in S1_MACHINES.items():
        host = site.add_host(host_name)
        host.add_switch("LAN")
        for vm_name, disks in machines.items():
            vm = host.create_vm(vm_name, disks=disks, switch="LAN", running=True)
            for index, disk in enumerate(vm.disks):
                # A recognisable boot area, so a replica's first block proves itself.
                disk.write(0, f"{vm_name} disk {index} boot".encode().ljust(4096, b"."))
    return lab


SCENARIOS: dict[str, Callable[[int, VirtualClock], HyperVLab]] = {"S1": build_s1}
