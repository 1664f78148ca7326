"""What each lab scenario contains and how it is served (scenario ids as in the design brief).

A scenario builds its simulated fabrics, starts their loopback servers on
the lab process's :class:`~contextlib.ExitStack` (so leaving the stack stops
every one of them, even when a later scenario of ``all`` fails to start),
and says which endpoints it serves and which disks run workloads:

* ``S1``: a Hyper-V site of two hosts over loopback WinRM;
* ``S2``: a VMM server with clouds (:func:`fakes.vmm.samples.build_cloud_lab`),
  the server and its hosts over loopback WinRM;
* ``S3``: a vCenter over loopback HTTP with VMs under workload, and a
  physical server running the mobility service;
* ``S4``: Hyper-V Replica between two VMM clouds, the replica lab of
  :func:`fakes.vmm.samples.build_replica_lab` (``vmm01``: site Primary,
  ``web01`` under workload in cloud Gold on VM network Corp-VMs;
  ``vmm02``: site Recovery, clouds DR and Tiny, VM networks DR-VMs and
  Drill, hosts ``hv11`` and ``hv12``), every server and host over loopback
  WinRM. The lab file lists what to register: ``vmm01`` as a ``vmm``
  fabric (``srp register --kind vmm``) and ``vmm02`` as a ``vmm-replica``
  target on cloud DR (``srp target add --kind vmm-replica --path
  ADDRESS``, each option of the entry as ``--option``, the password by
  ``--password-env``); then ``srp mapping network add Corp-VMs DR-VMs
  --fabric vmm01 --target vmm02`` and protect ``web01`` toward it;
* ``S5``: an InMage Scout deployment (:func:`fakes.inmage.lab.build_s5_lab`),
  its CX over loopback HTTPS, as a fabric (``inmage``) and as the secondary
  site target (``inmage-site``);
* ``all``: every scenario above at once, endpoint names prefixed by scenario.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass

from fakes.clock import VirtualClock
from fakes.disk import VirtualDisk
from fakes.hyperv import HyperVLab, start_winrm_lab
from fakes.hyperv.backend import ServedLab
from fakes.hyperv.host import HyperVHost
from fakes.hyperv.replica_server import ReplicationServerSettings
from fakes.inmage import serve_cx
from fakes.inmage.lab import build_s5_lab
from fakes.lab.labfile import LabHost, Options
from fakes.mobility import PhysicalServer, serve_mobility
from fakes.vcenter import VCenter, serve_vcenter
from fakes.vmm import VmmLab, VmmServer
from fakes.vmm.backend import start_winrm_lab as start_vmm_winrm_lab
from fakes.vmm.samples import build_cloud_lab, build_replica_lab

MIB = 1 << 20

#: The Windows account of the WinRM scenarios (S1, S2).
WINDOWS_USER = "LAB\\srpadmin"
VCENTER_USER = "administrator@vsphere.local"
MOBILITY_USER = "mobility"
#: The CX ignores the user name (the passphrase signs each request); the plugin sends one.
CX_USER = "srp"

#: VMs per host of the S1 lab: name -> disk sizes. Small disks keep the demo quick.
S1_MACHINES: dict[str, dict[str, tuple[int, ...]]] = {
    "hv01": {"web01": (16 * MIB, 8 * MIB), "app01": (16 * MIB,), "sql01": (24 * MIB,)},
    "hv02": {"file01": (16 * MIB,)},
}

#: VMs per ESXi host of the S3 vCenter (all powered on, on "VM Network").
S3_VMS: dict[str, dict[str, tuple[int, ...]]] = {
    "esx01.lab": {"web01": (16 * MIB, 8 * MIB), "app01": (16 * MIB,)},
    "esx02.lab": {"db01": (16 * MIB,)},
}
S3_VCENTER = "vcsa01"
S3_PHYSICAL = "phys01"
S3_PHYSICAL_DISKS = (16 * MIB,)

#: VMM server -> (site and host group, cloud, host -> VM name -> disk sizes).
S4_SITES: dict[str, tuple[str, str, dict[str, dict[str, tuple[int, ...]]]]] = {
    "vmm01": ("Primary", "Gold", {"hv01": {"web01": (8 * MIB, 4 * MIB), "app01": (8 * MIB,)}}),
    "vmm02": ("Recovery", "DR", {"hv11": {}}),
}
#: The site whose hosts receive replicas (enabled as Hyper-V Replica servers).
S4_RECOVERY_SITE = "Recovery"

S5_CX = "cx01"
S5_SITE = "dr-site"


@dataclass(frozen=True)
class LabContext:
    """What every scenario of one lab shares: seed, clock start and generated password."""

    seed: int
    start: float
    password: str

    def clock(self) -> VirtualClock:
        """A virtual clock starting at the lab's start (the lab process moves it with wall time)."""
        return VirtualClock(start=self.start)


@dataclass(frozen=True)
class Load:
    """Disks a workload writes to, the clock it moves, and the lock the fakes' timers need."""

    lock: AbstractContextManager[object]
    clock: VirtualClock
    disks: tuple[VirtualDisk, ...]
    machines: int


@dataclass(frozen=True)
class ServedScenario:
    """The endpoints a scenario serves and its workloads."""

    hosts: tuple[LabHost, ...]
    loads: tuple[Load, ...]


Scenario = Callable[[LabContext, ExitStack], ServedScenario]


def mark_boot(name: str, disks: Iterable[VirtualDisk]) -> None:
    """A recognisable boot area, so a replica's first block proves itself."""
    for index, disk in enumerate(disks):
        disk.write(0, f"{name} disk {index} boot".encode().ljust(4096, b"."))


def build_s1(seed: int, clock: VirtualClock) -> HyperVLab:
    """S1: a Hyper-V site ("Primary") of two hosts, replicating to the cloud target."""
    lab = HyperVLab(seed=seed, clock=clock)
    site = lab.add_site("Primary")
    for host_name, machines in S1_MACHINES.items():
        host = site.add_host(host_name)
        host.add_switch("LAN")
        for vm_name, disks in machines.items():
            vm = host.create_vm(vm_name, disks=disks, switch="LAN", running=True)
            mark_boot(vm_name, vm.disks)
    return lab


def _winrm_host(served: ServedLab, name: str, kind: str, extra: Options = ()) -> LabHost:
    username, password = served.credentials
    options = (("transport", "ntlm"), *extra)
    return LabHost(name, kind, served.endpoint(name), username, password, options)


def _hyperv_load(
    lab: HyperVLab, clock: VirtualClock, hosts: Iterable[HyperVHost] | None = None
) -> Load:
    """A workload over the VMs of ``hosts`` (default: every host of the lab)."""
    vms = [vm for host in (lab.hosts if hosts is None else hosts) for vm in host.vms]
    disks = tuple(disk for vm in vms for disk in vm.disks)
    return Load(lab.lock, clock, disks, len(vms))


def serve_s1(context: LabContext, stack: ExitStack) -> ServedScenario:
    """S1 over loopback WinRM (NTLM): one endpoint per Hyper-V host."""
    clock = context.clock()
    lab = build_s1(context.seed, clock)
    served = stack.enter_context(start_winrm_lab(lab, users={WINDOWS_USER: context.password}))
    hosts = tuple(_winrm_host(served, host.name, "hyperv") for host in lab.hosts)
    return ServedScenario(hosts, (_hyperv_load(lab, clock),))


def serve_s2(context: LabContext, stack: ExitStack) -> ServedScenario:
    """S2: the VMM cloud lab; each VMM server reaches its hosts through ``host_endpoints``."""
    clock = context.clock()
    lab = build_cloud_lab(context.seed, clock)
    users = {WINDOWS_USER: context.password}
    served = stack.enter_context(start_vmm_winrm_lab(lab, users=users))
    return ServedScenario(_vmm_hosts(lab, served), (_hyperv_load(lab.hyperv, clock),))


def _add_vmm_site(lab: VmmLab, server_name: str) -> VmmServer:
    site, cloud, hosts = S4_SITES[server_name]
    server = lab.add_server(server_name)
    server.add_host_group(site)
    server.add_logical_network("Corp")
    server.add_vm_network("Corp-VMs", "Corp")
    server.add_cloud(cloud, host_groups=[site], logical_networks=["Corp"])
    for host_name, machines in hosts.items():
        host = lab.hyperv.add_site(site).add_host(host_name)
        host.add_switch("LAN")
        server.add_host(host, site)
        if site == S4_RECOVERY_SITE:
            host.replication_server = ReplicationServerSettings(
                enabled=True, allowed_from_any_server=True
            )
        for vm_name, disks in machines.items():
            vm = host.create_vm(vm_name, disks=disks, adapters=["LAN"], running=True)
            mark_boot(vm_name, vm.disks)
            server.place_vm(vm, cloud=cloud, networks=["Corp-VMs"])
    return server


def build_s4(seed: int, clock: VirtualClock) -> VmmLab:
    """Two VMM sites of :data:`S4_SITES` over one Hyper-V lab: S4's host-to-host variant.

    ``hv01`` (Primary) replicates to ``hv11`` (Recovery, already a Replica
    server): the ``hyperv-replica`` tests use its hosts. ``srp lab up S4``
    serves the VMM-to-VMM replica lab instead (:func:`serve_s4`).
    """
    lab = VmmLab(HyperVLab(seed=seed, clock=clock))
    for server_name in S4_SITES:
        _add_vmm_site(lab, server_name)
    return lab


def _vmm_hosts(lab: VmmLab, served: ServedLab) -> tuple[LabHost, ...]:
    """One ``vmm`` endpoint per server, reaching the hosts it manages through ``host_endpoints``."""
    return tuple(_vmm_host(served, server, "vmm", ()) for server in lab.servers)


def _vmm_host(served: ServedLab, server: VmmServer, kind: str, extra: Options) -> LabHost:
    """A VMM server's endpoint; ``extra`` overrides its options (default: reach its own hosts)."""
    names = [managed.host.name for managed in server.hosts]
    endpoints = ",".join(f"{name}={served.endpoint(name)}" for name in names)
    options = dict((("vmm_server", server.name), ("host_endpoints", endpoints), *extra))
    return _winrm_host(served, server.name, kind, tuple(options.items()))


#: The S4 replica lab's primary VMM server, and the secondary one with the cloud it receives in.
S4_PRIMARY_VMM = "vmm01"
S4_SECONDARY_VMM, S4_CLOUD = "vmm02", "DR"


def serve_s4(context: LabContext, stack: ExitStack) -> ServedScenario:
    """S4 over loopback WinRM (:func:`s4_endpoints`); only the primary site runs workloads."""
    clock = context.clock()
    lab = build_replica_lab(context.seed, clock)
    users = {WINDOWS_USER: context.password}
    served = stack.enter_context(start_vmm_winrm_lab(lab, users=users))
    primary_hosts = [managed.host for managed in lab.server(S4_PRIMARY_VMM).hosts]
    load = _hyperv_load(lab.hyperv, clock, primary_hosts)
    return ServedScenario(s4_endpoints(lab, served), (load,))


def s4_endpoints(lab: VmmLab, served: ServedLab) -> tuple[LabHost, LabHost]:
    """The primary VMM as a ``vmm`` fabric, the secondary VMM's cloud as a ``vmm-replica`` target.

    The target reaches every host of both sites (``host_endpoints``): its
    replicas land on the recovery site, reverse replication and failback
    on the primary host. Its account is also an option (``username``), so
    every option of the entry goes to ``srp target add`` as it is.
    """
    primary = _vmm_host(served, lab.server(S4_PRIMARY_VMM), "vmm", ())
    everywhere = ",".join(f"{h.name}={served.endpoint(h.name)}" for h in lab.hyperv.hosts)
    options = (
        ("host_endpoints", everywhere),
        ("cloud", S4_CLOUD),
        ("username", served.credentials[0]),
    )
    secondary = _vmm_host(served, lab.server(S4_SECONDARY_VMM), "vmm-replica", options)
    return primary, secondary


def build_s3_vcenter(seed: int, clock: VirtualClock, password: str) -> VCenter:
    """S3's vCenter: DC1, cluster Prod of two ESXi hosts, the VMs of :data:`S3_VMS`."""
    vcenter = VCenter(seed=seed, clock=clock, users={VCENTER_USER: password})
    datacenter = vcenter.add_datacenter("DC1")
    datacenter.add_network("VM Network")
    cluster = datacenter.add_cluster("Prod")
    for host_name, machines in S3_VMS.items():
        host = datacenter.add_host(host_name, cluster)
        for vm_name, disks in machines.items():
            vm = vcenter.create_vm(vm_name, host, disks=disks, networks=("VM Network",))
            mark_boot(vm_name, (vmdk.disk for vmdk in vm.disks))
    return vcenter


def build_s3_physical(seed: int, clock: VirtualClock, password: str) -> PhysicalServer:
    """S3's physical server, its mobility service accepting the lab's password."""
    server = PhysicalServer.build(S3_PHYSICAL, disks=S3_PHYSICAL_DISKS, seed=seed, clock=clock)
    server.users = {MOBILITY_USER: password}
    mark_boot(S3_PHYSICAL, server.disks)
    return server


def serve_s3(context: LabContext, stack: ExitStack) -> ServedScenario:
    """S3: the vCenter and the physical server, each on its own loopback HTTP port."""
    clock = context.clock()
    vcenter = build_s3_vcenter(context.seed, clock, context.password)
    physical = build_s3_physical(context.seed, clock, context.password)
    vc_server = stack.enter_context(serve_vcenter(vcenter)[0])
    mobility_server = stack.enter_context(serve_mobility(physical)[0])
    http = (("transport", "http"),)
    hosts = (
        LabHost(S3_VCENTER, "vmware", vc_server.address, VCENTER_USER, context.password, http),
        LabHost(
            S3_PHYSICAL, "physical", mobility_server.address, MOBILITY_USER, context.password, http
        ),
    )
    vm_disks = tuple(vmdk.disk for vm in vcenter.vms.values() for vmdk in vm.disks)
    # One clock, moved under the vCenter's lock (its snapshot tasks run on it).
    load = Load(vcenter.lock, clock, vm_disks + tuple(physical.disks), len(vcenter.vms) + 1)
    return ServedScenario(hosts, (load,))


def serve_s5(context: LabContext, stack: ExitStack) -> ServedScenario:
    """S5: the Scout CX over HTTPS, as a fabric and as the secondary site behind it."""
    lab = build_s5_lab(context.clock(), context.seed)
    lab.cx.passphrase = context.password
    cx = stack.enter_context(serve_cx(lab.cx, tls=True))
    tls = (("transport", "https"), ("ca_trust_path", str(cx.ca_cert)))
    site = (*tls, ("process_server", lab.ps.name), ("master_target", lab.mt.name))
    hosts = (
        LabHost(S5_CX, "inmage", cx.address, CX_USER, context.password, tls),
        LabHost(S5_SITE, "inmage-site", cx.address, CX_USER, context.password, site),
    )
    # Scout replicates in rounds the CX drives; the lab only moves its clock.
    return ServedScenario(hosts, (Load(threading.Lock(), lab.clock, (), 0),))


SINGLE_SCENARIOS: dict[str, Scenario] = {
    "S1": serve_s1,
    "S2": serve_s2,
    "S3": serve_s3,
    "S4": serve_s4,
    "S5": serve_s5,
}


def serve_all(context: LabContext, stack: ExitStack) -> ServedScenario:
    """Every scenario at once; endpoint names get the scenario as prefix (``s1-hv01``)."""
    parts = [(name, serve(context, stack)) for name, serve in SINGLE_SCENARIOS.items()]
    hosts = tuple(
        host.renamed(f"{name.lower()}-{host.name}") for name, part in parts for host in part.hosts
    )
    return ServedScenario(hosts, tuple(load for _, part in parts for load in part.loads))


SCENARIOS: dict[str, Scenario] = {**SINGLE_SCENARIOS, "all": serve_all}
