"""Fixtures of the failover suite: "a protected machine on some fabric".

Scenarios: ``simulated`` (the simulated fabric plugin, in process),
``hyperv`` (scenario S1: a VM on a simulated Hyper-V host, reached by the
real hyperv plugin over loopback WinRM) and ``vmware`` (scenario S3: a VM on
a simulated vCenter, reached by the real vmware plugin over loopback HTTP),
each replicating to the cloud target; and the native scenarios:
``simulated-native`` (the simulated fabric's machine protected toward
:mod:`fakes.native`'s natively replicating target), ``hyperv-replica`` and
``vmm-replica`` (S4: Hyper-V Replica between two hosts, or between two VMM
clouds, over loopback WinRM; :mod:`tests.failover.s4_scenario`) and
``inmage`` (S5: a VMware VM protected through a simulated InMage Scout CX
over loopback HTTP; :mod:`tests.failover.s5_scenario`). A test that needs
what its scenario's kind does not declare (VMware: planned failover) is
skipped, saying why (:class:`DeclaredFailover`); a test of what only the
HRL path has skips on a native scenario (``Protected.require_hrl``); where
a native target behaves its own way, its :class:`NativeTraits` say so.

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

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

import plugins.hyperv.plugin as hyperv_plugin
import plugins.vmware.plugin as vmware_plugin
from fakes.clock import VirtualClock
from fakes.hyperv import HyperVLab, start_winrm_lab
from fakes.vcenter import EsxHost, MasterTarget, VCenter, serve_master_target, serve_vcenter
from fakes.vcenter import VirtualMachine as VCenterVm
from fakes.workload import write_pattern
from plugins.vmware.discovery import srp_power_state
from provider.blockdigest import digest_of_bytes
from provider.failover import FailoverOptions
from provider.model.job import Job
from tests.failover.failover_testkit import (
    DISK_SIZES,
    KIB,
    SOURCE_IP,
    DeclaredFailover,
    FailoverLab,
    Protected,
    simulated_scenario,
)
from tests.failover.native_scenario import SimulatedNativeSide, simulated_native_scenario
from tests.failover.s4_scenario import (
    SOURCE_NETWORK,
    AddedVm,
    HyperVHostAsFabric,
    HyperVReplicaSide,
    HyperVSource,
    VmmReplicaSide,
    hyperv_replica_scenario,
    hyperv_vm,
    vmm_replica_scenario,
)
from tests.failover.s5_scenario import ScoutSide, inmage_scenario


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
    "hyperv-replica": hyperv_replica_scenario,
    "vmm-replica": vmm_replica_scenario,
    "inmage": inmage_scenario,
}
#: The scenarios whose target replicates natively: they also run test_native_family.py.
NATIVE_SCENARIOS = {
    "simulated-native": simulated_native_scenario,
    "hyperv-replica": hyperv_replica_scenario,
    "vmm-replica": vmm_replica_scenario,
    "inmage": inmage_scenario,
}


@dataclass(frozen=True)
class NativeTraits:
    """Where a native target's own behaviour differs, as the family's tests must know it.

    Every field is what the product does on that target, not a tolerance:
    the tests assert it exactly.
    """

    #: The isolated network a drill names ("": the target lists its networks, srp picks one).
    test_network: str
    #: The isolated network the drill report names.
    drill_network: str
    #: A drill or failover to "latest" lands on a point the vault recorded (else on newer data).
    latest_is_recorded: bool
    #: A disk's digest as the target reports it in a drill (srp holds none of its own).
    digest: Callable[[bytes], str]
    #: The cleanup's line for the removed test copy, ``{copy_id}`` filled in.
    removed_copy: str
    #: Why the target refuses a failover to an older named point ("": it honours one).
    no_older_points: str = ""
    #: The recovered NICs' networks when the override left the NIC unmapped (None: disconnected).
    unmapped_landing: tuple[str | None, ...] = ()
    #: After failback the recovered machine stays on the recovery site as the new replica.
    failback_keeps_replica: bool = False
    #: Why the suite's plain ``lab.protect`` cannot protect on this target ("": it can).
    plain_protect: str = ""
    #: Why a mapping to a network the target lacks is not the core's refusal ("": it is).
    unlisted_networks: str = ""
    #: Why a point past retention outlives the next round on this target ("": it does not).
    retention_lag: str = ""
    #: Reverse replication writes the original machine's disks (else only the failback does).
    reverse_writes_source: bool = True


HYPERV_REPLICA_TRAITS = NativeTraits(
    test_network="vnet-test",
    drill_network="vnet-test",
    latest_is_recorded=True,
    digest=digest_of_bytes,
    removed_copy="web01 - Test",
    no_older_points="Hyper-V Replica fails over to its latest recovery point only",
    unmapped_landing=(None,),
    failback_keeps_replica=True,
    plain_protect="protecting needs the primary host's address (request option "
    "primary_address), which the suite's plain protect does not pass",
    unlisted_networks="the target lists no networks: its plugin refuses a mapping to a "
    "switch the replica server lacks in the failover job (tests/scenarios/"
    "test_s4_hyperv_replica.py)",
)
#: Hyper-V Replica between VMM clouds: the target lists the cloud's VM networks, so the
#: core checks mappings and picks a drill's isolated network itself.
VMM_REPLICA_TRAITS = replace(
    HYPERV_REPLICA_TRAITS, test_network="", plain_protect="", unlisted_networks=""
)
#: InMage Scout: points are the plan's consistency tags; the site lists no networks.
INMAGE_TRAITS = NativeTraits(
    test_network="vnet-test",
    drill_network="vnet-test",
    latest_is_recorded=False,
    digest=lambda data: hashlib.sha256(data).hexdigest(),
    removed_copy="{copy_id}",
    unmapped_landing=(None,),
    plain_protect="a VM added to the vCenter has no unified agent until the process server "
    "pushes one, so the CX does not list it",
    unlisted_networks="the site lists no networks: Scout places NICs on the network named "
    "in the rollback (tests/scenarios/test_s5_inmage.py)",
    retention_lag="Scout's master target keeps a pair's newest journal entry (and its tags) "
    "however old until the next batch lands, so a point leaves retention one pass later",
    reverse_writes_source=False,
)
#: Each native scenario's traits (see :class:`NativeTraits`).
NATIVE_TRAITS = {
    "simulated-native": NativeTraits(
        test_network="",
        drill_network="vnet-test",
        latest_is_recorded=False,
        digest=lambda data: hashlib.sha256(data).hexdigest(),
        removed_copy="machine web01-test ({copy_id})",
    ),
    "hyperv-replica": HYPERV_REPLICA_TRAITS,
    "vmm-replica": VMM_REPLICA_TRAITS,
    "inmage": INMAGE_TRAITS,
}


#: The traits by the scenario's NativeSide class, for the suite's tests that take ``protected``.
_TRAITS_BY_SIDE: dict[type, NativeTraits] = {
    SimulatedNativeSide: NATIVE_TRAITS["simulated-native"],
    HyperVReplicaSide: HYPERV_REPLICA_TRAITS,
    VmmReplicaSide: VMM_REPLICA_TRAITS,
    ScoutSide: INMAGE_TRAITS,
}


def native_traits(protected: Protected) -> NativeTraits | None:
    """The traits of the scenario's native target (None on an HRL scenario)."""
    side = protected.lab.native
    return None if side is None else _TRAITS_BY_SIDE[type(side)]


def skip_unless(protected: Protected, why: Callable[[NativeTraits], str]) -> None:
    """Skip on a native scenario whose target does that its own way, saying how."""
    traits = native_traits(protected)
    reason = why(traits) if traits is not None else ""
    if reason:
        pytest.skip(f"scenario {protected.kind!r}: {reason}")


class ScenarioFailover(DeclaredFailover):
    """:class:`DeclaredFailover` naming the recovery site's isolated network when a drill does not.

    A target that lists no networks needs the isolated network named, as
    its operator does (``srp failover test --network``); the suite's drills
    name none, so the scenario's own stands in.
    """

    def __init__(self, lab: FailoverLab, kind: str, test_network: str) -> None:
        super().__init__(lab, kind)
        self.test_network = test_network

    def test_failover(self, item_ids: Sequence[str], options: FailoverOptions | None = None) -> Job:
        wanted = options or FailoverOptions()
        if not wanted.test_network and self.test_network:
            wanted = replace(wanted, test_network=self.test_network)
        return super().test_failover(item_ids, wanted)


def scenario_failover(machine: Protected) -> DeclaredFailover:
    traits = native_traits(machine)
    network = traits.test_network if traits is not None else ""
    return ScenarioFailover(machine.lab, machine.kind, network)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture(params=sorted(NATIVE_SCENARIOS))
def native_scenario(request: pytest.FixtureRequest) -> str:
    """The name of the native scenario a test runs on."""
    return str(request.param)


@pytest.fixture
def traits(native_scenario: str) -> NativeTraits:
    return NATIVE_TRAITS[native_scenario]


@pytest.fixture
def native(native_scenario: str, tmp_path: Path, clock: VirtualClock) -> Iterator[Protected]:
    with NATIVE_SCENARIOS[native_scenario](tmp_path, clock) as machine:
        machine.lab.failover = scenario_failover(machine)
        yield machine


@pytest.fixture(params=sorted(SCENARIOS))
def protected(
    request: pytest.FixtureRequest, tmp_path: Path, clock: VirtualClock
) -> Iterator[Protected]:
    with SCENARIOS[request.param](tmp_path, clock) as machine:
        machine.lab.failover = scenario_failover(machine)
        yield machine
