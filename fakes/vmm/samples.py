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

:func:`build_replica_lab` makes S4 between two VMM clouds: ``vmm01``
(site Primary) and ``vmm02`` (site Recovery), described in its docstring.
"""

from __future__ import annotations

from fakes.clock import VirtualClock
from fakes.hyperv import HyperVLab
from fakes.hyperv.enums import SwitchType
from fakes.hyperv.replica_server import ReplicationServerSettings
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


#: The recovery site of :func:`build_replica_lab`: host -> (VMs it runs, a Replica server).
RECOVERY_HOSTS = {"hv11": (("dc11",), True), "hv12": ((), False)}


def build_replica_lab(seed: int = 0, clock: VirtualClock | None = None) -> VmmLab:
    """Two VMM servers, one per site, for Hyper-V Replica between their clouds (S4).

    * ``vmm01`` (host group and site ``Primary``): host ``hv01``, switch
      ``LAN`` carrying logical network Corp; cloud ``Gold`` with VM network
      ``Corp-VMs``; VM ``web01`` (disks of 2 MiB and 1 MiB, its NIC on
      Corp-VMs, running, 2 GiB and 2 vCPUs).
    * ``vmm02`` (host group and site ``Recovery``): hosts ``hv11`` (a Replica
      server, running ``dc11``, outside any cloud) and ``hv12`` (not yet a
      Replica server, no VM), each with switch ``DR-LAN`` carrying logical
      network Corp-DR and private switch ``Isolated`` carrying logical
      network Test; VM networks ``DR-VMs`` (Corp-DR) and ``Drill`` (Test);
      clouds ``DR`` (unlimited) and ``Tiny`` (512 MB of memory: no room for
      web01), both over host group Recovery.
    """
    lab = VmmLab(HyperVLab(seed=seed, clock=clock))
    _primary_site(lab)
    _recovery_site(lab)
    return lab


def _primary_site(lab: VmmLab) -> None:
    server = lab.add_server("vmm01")
    server.add_host_group("Primary")
    server.add_logical_network("Corp")
    server.add_vm_network("Corp-VMs", "Corp")
    server.add_cloud("Gold", host_groups=["Primary"], logical_networks=["Corp"])
    host = lab.hyperv.add_site("Primary").add_host("hv01")
    host.add_switch("LAN")
    server.add_host(host, "Primary")
    server.connect_switch("hv01", "LAN", ["Corp"])
    vm = host.create_vm("web01", disks=(2 * MIB, MIB), adapters=["LAN"], running=True)
    for index, disk in enumerate(vm.disks):
        disk.write(0, f"web01 disk {index} boot".encode().ljust(4096, b"."))
    server.place_vm(vm, cloud="Gold", networks=["Corp-VMs"])


def _recovery_site(lab: VmmLab) -> None:
    server = lab.add_server("vmm02")
    server.add_host_group("Recovery")
    server.add_logical_network("Corp-DR")
    server.add_logical_network("Test")
    server.add_vm_network("DR-VMs", "Corp-DR")
    server.add_vm_network("Drill", "Test")
    networks = ["Corp-DR", "Test"]
    server.add_cloud("DR", host_groups=["Recovery"], logical_networks=networks)
    tiny = CloudCapacity(memory_mb=512)
    server.add_cloud("Tiny", host_groups=["Recovery"], logical_networks=networks, capacity=tiny)
    for name, (vms, replica_server) in RECOVERY_HOSTS.items():
        host = lab.hyperv.add_site("Recovery").add_host(name)
        host.add_switch("DR-LAN")
        host.add_switch("Isolated", SwitchType.Private)
        server.add_host(host, "Recovery")
        server.connect_switch(name, "DR-LAN", ["Corp-DR"])
        server.connect_switch(name, "Isolated", ["Test"])
        if replica_server:
            host.replication_server = ReplicationServerSettings(
                enabled=True, allowed_from_any_server=True
            )
        for vm_name in vms:
            server.place_vm(host.create_vm(vm_name, adapters=["DR-LAN"], running=True), cloud=None)
