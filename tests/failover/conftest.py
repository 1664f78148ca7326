"""Fixtures of the failover suite: "a protected machine on some fabric".

Scenarios: ``simulated`` (the simulated fabric plugin, in process),
``hyperv`` (scenario S1: a VM on a simulated Hyper-V host, reached by the
real hyperv plugin over loopback WinRM) and ``vmware`` (scenario S3: a VM on
a simulated vCenter, reached by the real vmware plugin over loopback HTTP),
each replicating to the cloud target, and ``simulated-native`` (the
simulated fabric's machine protected toward :mod:`fakes.native`'s natively
replicating target). A test that needs what its scenario's kind does not
declare (VMware: planned failover, reverse replication, failback) is
skipped, saying why (:class:`DeclaredFailover`); a test of what only the
HRL path has skips on a native scenario (``Protected.require_hrl``).

Joining the suite with a native target (S4 Hyper-V Replica / VMM, S5
InMage): write a scenario ``(root: Path, clock: VirtualClock) ->
ContextManager[Protected]`` that

- builds the source machine as the suite expects it: named ``web01``, two
  disks patterned as ``hyperv_vm`` does, one NIC on the source network
  ``net-prod`` (:data:`SOURCE_NETWORK`), the guest at ``SOURCE_IP``, behind
  a :class:`~tests.failover.failover_testkit.SourceHandle`;
- opens a :class:`FailoverLab` with the fabric's and the target's plugins,
  registers the fabric, registers the native target and sets
  ``lab.target_id`` to it (the suite maps networks toward ``lab.target_id``),
  then ``lab.map_network(fabric_id)`` (``net-prod`` -> ``vnet-prod``: the
  recovery site needs a production network ``vnet-prod`` and an isolated one);
- sets ``lab.native`` to a :class:`~tests.failover.failover_testkit.NativeSide`
  (the group id, one replication round recording a point, and the recovered
  machines' disks on the recovery site, readable and writable);
- protects the machine with ``provider.native.protect_native`` in the
  NativeSide's group, and yields ``Protected(lab, source, fabric_id,
  item_id, fabric_kind)`` after one ``protected.cycle()``.

Then add it to :data:`SCENARIOS` (the whole suite) and to
:data:`NATIVE_SCENARIOS` (the native family's own tests,
``test_native_family.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

import plugins.hyperv.plugin as hyperv_plugin
import plugins.vmware.plugin as vmware_plugin
from fakes.clock import VirtualClock
from fakes.hyperv import HyperVHost, HyperVLab, VirtualMachine, start_winrm_lab
from fakes.vcenter import EsxHost, MasterTarget, VCenter, serve_master_target, serve_vcenter
from fakes.vcenter import VirtualMachine as VCenterVm
from fakes.winrm.server import WinRMServer
from fakes.workload import write_pattern
from plugins.vmware.discovery import srp_power_state
from tests.failover.failover_testkit import (
    DISK_SIZES,
    KIB,
    SOURCE_IP,
    DeclaredFailover,
    FailoverLab,
    Protected,
    simulated_scenario,
)
from tests.failover.native_scenario import simulated_native_scenario

#: The source network id the suite's assertions name (the simulated fabric's own).
SOURCE_NETWORK = "net-prod"


@dataclass(frozen=True)
class AddedVm:
    """A VM added to the host during a test, as the suite refers to it."""

    machine_id: str


@dataclass
class HyperVHostAsFabric:
    """The host as the suite's ``source.fabric``: where another machine can be added."""

    host: HyperVHost

    def add_machine(self, name: str, disks: list[int]) -> AddedVm:
        vm = self.host.create_vm(name, disks=disks, switch="LAN", running=True)
        return AddedVm(vm.vm_id)


@dataclass
class HyperVSource:
    """A VM of the simulated Hyper-V host as the suite sees it.

    Cutting the source off is a site outage: the host loses power (its VMs
    are off and change tracking must resynchronize) and stops answering
    WinRM until it is brought back.
    """

    vm: VirtualMachine
    server: WinRMServer
    fabric: HyperVHostAsFabric
    machine_id: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        self.machine_id, self.name = self.vm.vm_id, self.vm.name

    @property
    def nic_id(self) -> str:
        return f"{self.vm.vm_id}-nic0"  # the id's last part (see hyperv_vm)

    @property
    def ip_address(self) -> str:
        return SOURCE_IP

    def content(self) -> dict[str, bytes]:
        return {disk.disk_id.lower(): disk.read(0, disk.capacity) for disk in self.vm.disks}

    def write(self, disk_id: str, offset: int, data: bytes) -> None:
        disk = next(d for d in self.vm.disks if d.disk_id.lower() == disk_id)
        disk.write(offset, data)

    def set_reachable(self, reachable: bool) -> None:
        if reachable:
            self.server.faults.reset()
            return
        self.vm.host.crash()
        self.server.faults.drop_next(1_000_000)

    @property
    def power_state(self) -> str:
        return self.vm.state.name.lower()


def hyperv_vm(host: HyperVHost) -> VirtualMachine:
    """web01 with the suite's two disks and patterns, one NIC on the mapped network."""
    vm = host.create_vm("web01", disks=DISK_SIZES, switch="LAN", running=True)
    for index, disk in enumerate(vm.disks):
        write_pattern(disk, 0, 64 * KIB, seed=index)
        write_pattern(disk, disk.capacity - 8 * KIB, 8 * KIB, seed=100 + index)
    # Adapter ids are opaque ``Microsoft:<vm>\<nic>`` strings and IPs what the guest
    # reports: the suite's assertions name the NIC ``<machine id>-nic0`` at SOURCE_IP.
    adapter = vm.adapters[0]
    adapter.adapter_id = f"Microsoft:{vm.vm_id.upper()}\\{vm.vm_id}-nic0"
    adapter.ip_addresses = (SOURCE_IP,)
    return vm


@contextmanager
def hyperv_scenario(root: Path, clock: VirtualClock) -> Iterator[Protected]:
    """Scenario S1: web01 on host hv01 over loopback WinRM, mapped, protected, replicated once."""
    lab = HyperVLab(seed=17, clock=clock)
    host = lab.add_site("Primary").add_host("hv01")
    # The suite maps and unmaps the source network by the id ``net-prod``; srp treats a
    # switch id as an opaque string, so the lab's switch takes that one instead of a GUID.
    host.add_switch("LAN").id = SOURCE_NETWORK  # type: ignore[assignment]
    vm = hyperv_vm(host)
    with start_winrm_lab(lab) as served, FailoverLab(root, {"hyperv": hyperv_plugin}, clock) as fl:
        user, password = served.credentials
        options = {"transport": "basic", "retry_wait": "0"}
        fabric_id = fl.register_fabric("hyperv", served.endpoint("hv01"), user, password, options)
        fl.map_network(fabric_id)
        item = fl.protect(fabric_id, vm.vm_id)
        source = HyperVSource(vm, served.winrm["hv01"], HyperVHostAsFabric(host))
        protected = Protected(fl, source, fabric_id, item.item_id, "hyperv")
        protected.cycle()
        yield protected


@dataclass
class VCenterAsFabric:
    """The vCenter as the suite's ``source.fabric``: where another VM can be added."""

    vcenter: VCenter
    host: EsxHost

    def add_machine(self, name: str, disks: list[int]) -> AddedVm:
        vm = self.vcenter.create_vm(name, self.host, disks=disks, networks=(VMWARE_NETWORK,))
        return AddedVm(vm.moid)


@dataclass
class VCenterSource:
    """A VM of the simulated vCenter as the suite sees it.

    Cutting the source off is a site outage seen from srp: every vCenter
    call answers 503 until the site is brought back. VMware Tools reports
    the guest's address (``guest.net``), so a failover keeps it.
    """

    vm: VCenterVm
    fabric: VCenterAsFabric
    master_target: MasterTarget | None = None
    machine_id: str = ""
    name: str = ""
    ip_address: str = SOURCE_IP

    def __post_init__(self) -> None:
        self.machine_id, self.name = self.vm.moid, self.vm.name

    @property
    def nic_id(self) -> str:
        return str(self.vm.nics[0].key)

    def content(self) -> dict[str, bytes]:
        return {str(d.key): d.disk.read(0, d.capacity) for d in self.vm.disks}

    def write(self, disk_id: str, offset: int, data: bytes) -> None:
        self.vm.disk(int(disk_id)).disk.write(offset, data)

    def set_reachable(self, reachable: bool) -> None:
        self.fabric.vcenter.faults.unavailable_calls = 0 if reachable else 1 << 30

    @property
    def power_state(self) -> str:
        return srp_power_state(self.vm.power_state)


#: The port group of the vmware scenario's VM.
VMWARE_NETWORK = "VM Network"


def vcenter_vm(clock: VirtualClock) -> tuple[VCenter, VCenterVm]:
    """web01 on esx01 with the suite's two disks and patterns, one NIC on ``net-prod``."""
    vcenter = VCenter(seed=23, clock=clock)
    datacenter = vcenter.add_datacenter("DC1")
    # As in S1, the suite names the source network ``net-prod``: a port group's
    # id is an opaque string to srp, so the lab's takes that one.
    datacenter.add_network(VMWARE_NETWORK).moid = SOURCE_NETWORK
    host = datacenter.add_host("esx01.lab", datacenter.add_cluster("Prod"))
    vm = vcenter.create_vm("web01", host, disks=DISK_SIZES, networks=(VMWARE_NETWORK,))
    vm.nics[0].ip_addresses = (SOURCE_IP,)
    for index, disk in enumerate(vm.virtual_disks):
        write_pattern(disk, 0, 64 * KIB, seed=index)
        write_pattern(disk, disk.capacity - 8 * KIB, 8 * KIB, seed=100 + index)
    return vcenter, vm


@contextmanager
def vmware_scenario(root: Path, clock: VirtualClock) -> Iterator[Protected]:
    """Scenario S3: web01 on a vCenter over loopback HTTP, mapped, protected, replicated once.

    A master target on premises and a process server named on the cloud side
    make reverse replication and failback possible.
    """
    vcenter, vm = vcenter_vm(clock)
    server, _ = serve_vcenter(vcenter)
    master_target, master_target_api = serve_master_target(vcenter)
    with server, master_target, FailoverLab(root, {"vmware": vmware_plugin}, clock) as fl:
        user, password = vcenter.credentials
        options = {
            "transport": "http",
            "retry_wait": "0",
            "task_poll_interval": "0",
            "master_target": master_target.address,
            "failback_process_server": "ps-cloud",
        }
        fabric_id = fl.register_fabric("vmware", server.address, user, password, options)
        fl.map_network(fabric_id)
        item = fl.protect(fabric_id, vm.moid)
        source = VCenterSource(vm, VCenterAsFabric(vcenter, vm.host), master_target_api.target)
        protected = Protected(fl, source, fabric_id, item.item_id, "vmware")
        protected.cycle()
        yield protected


#: Each fabric joins the suite with its scenario builder.
SCENARIOS = {
    "simulated": simulated_scenario,
    "hyperv": hyperv_scenario,
    "vmware": vmware_scenario,
    "simulated-native": simulated_native_scenario,
}
#: The scenarios whose target replicates natively: they also run test_native_family.py.
NATIVE_SCENARIOS = {"simulated-native": simulated_native_scenario}


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture(params=sorted(NATIVE_SCENARIOS))
def native(
    request: pytest.FixtureRequest, tmp_path: Path, clock: VirtualClock
) -> Iterator[Protected]:
    with NATIVE_SCENARIOS[request.param](tmp_path, clock) as machine:
        machine.lab.failover = DeclaredFailover(machine.lab, machine.kind)
        yield machine


@pytest.fixture(params=sorted(SCENARIOS))
def protected(
    request: pytest.FixtureRequest, tmp_path: Path, clock: VirtualClock
) -> Iterator[Protected]:
    with SCENARIOS[request.param](tmp_path, clock) as machine:
        machine.lab.failover = DeclaredFailover(machine.lab, machine.kind)
        yield machine
