"""A ready-made VMM fabric for tests, demos and plugin authors.

:func:`build_cloud_lab` makes one VMM server (``vmm01``) managing two
Hyper-V hosts in host group ``Primary``, with three clouds:

* ``Gold``: logical networks Corp and Dmz, unlimited capacity; VMs
  ``web01`` (hv01, two disks, NICs on Corp-VMs and Dmz-VMs), ``sql01``
  (hv01) and ``app01`` (hv02), on Corp-VMs;
* ``Silver``: logical network Corp, at most 2 VMs, both used by
  ``batch01`` and ``batch02`` (hv02): a cloud without capacity;
* ``Empty``: over host group ``Spare`` that has no host.

``loose01`` (hv02) is managed by VMM but in no cloud. Every disk starts
with a recognisable boot block.
"""

from __future__ import annotations

from fakes.clock import VirtualClock
from fakes.hyperv import HyperVLab
from fakes.vmm.lab import VmmLab
from fakes.vmm.model import CloudCapacity

MIB = 1 << 20

#: host -> VM name -> (cloud or None, disk sizes, VM network of each NIC)
CLOUD_VMS: dict[str, dict[str, tuple[str | None, tuple[int, ...], tuple[str, ...]]]] = {
    "hv01": {
        "web01": ("Gold", (2 * MIB, MIB), ("Corp-VMs", "Dmz-VMs")),
        "sql01": ("Gold", (2 * MIB,), ("Corp-VMs",)),
    },
    "hv02": {
        "app01": ("Gold", (MIB,), ("Corp-VMs",)),
        "batch01": ("Silver", (MIB,), ("Corp-VMs",)),
        "batch02": ("Silver", (MIB,), ("Corp-VMs",)),
        "loose01": (None, (MIB,), ("Corp-VMs",)),
    },
}


def build_cloud_lab(seed: int = 0, clock: VirtualClock | None = None) -> VmmLab:
    """The fabric described in the module docstring."""
    lab = VmmLab(HyperVLab(seed=seed, clock=clock))
    server = lab.add_server("vmm01")
    server.add_host_group("Primary")
    server.add_host_group("Spare")
    server.add_logical_network("Corp")
    server.add_logical_network("Dmz")
    server.add_vm_network("Corp-VMs", "Corp")
    server.add_vm_network("Dmz-VMs", "Dmz")
    server.add_vm_network("Backup", "Corp")
    server.add_cloud("Gold", host_groups=["Primary"], logical_networks=["Corp", "Dmz"])
    server.add_cloud(
        "Silver",
        host_groups=["Primary"],
        logical_networks=["Corp"],
        capacity=CloudCapacity(vm_count=2, memory_mb=8192),
    )
    server.add_cloud("Empty", host_groups=["Spare"], logical_networks=["Corp"])
    for host_name, vms in CLOUD_VMS.items():
        host = lab.hyperv.add_host(host_name)
        host.add_switch("LAN")
        server.add_host(host, "Primary")
        for vm_name, (cloud, disks, networks) in vms.items():
            adapters = ["LAN"] * len(networks)
            vm = host.create_vm(vm_name, disks=disks, adapters=adapters, running=True)
            for index, disk in enumerate(vm.disks):
                disk.write(0, f"{vm_name} disk {index} boot".encode().ljust(4096, b"."))
            server.place_vm(vm, cloud=cloud, networks=list(networks))
    return lab
