"""A protected machine on some fabric, failing over to the cloud target.

Import as ``tests.failover.failover_testkit``.

The suite is written against :class:`SourceHandle`, not against one fabric's
fake: a fabric joins the suite by adding a :class:`Scenario` that builds a
protected machine on its own simulation (the Hyper-V plugin will). A
scenario whose target replicates natively also sets ``FailoverLab.native``
(a :class:`NativeSide`): ``Protected.cycle`` then runs a round of the target
and refreshes the group, and ``FailoverLab.replica_content`` reads the
target's recovered machines (see the conftest's docstring).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from fakes.clock import VirtualClock
from fakes.compute import SimulatedCompute
from fakes.fabric import SimulatedFabric, SimulatedFabricPlugin, SimulatedMachine
from fakes.harness import EngineHarness
from fakes.workload import write_pattern
from provider.contracts.declarations import Capabilities, FailoverMode
from provider.engine.cycle import CycleReport
from provider.failover import FailoverOptions, FailoverService
from provider.model.item import ProtectedItem
from provider.model.job import Job
from provider.model.mapping import IpPolicy, NetworkMapping
from provider.model.recovery import Consistency, RecoveryPoint
from provider.native import refresh_group

KIB = 1024
#: Two disks: 256 KiB and 512 KiB (4 and 8 digest blocks of 64 KiB).
DISK_SIZES = (256 * KIB, 512 * KIB)
SOURCE_IP = "10.1.0.10"


class SourceHandle(Protocol):
    """What the suite needs from the source machine's simulation."""

    @property
    def machine_id(self) -> str:
        """The machine's id, as discovery reports it."""

    @property
    def name(self) -> str:
        """The machine's name."""

    @property
    def nic_id(self) -> str:
        """The source NIC's id, as discovery reports it."""

    @property
    def ip_address(self) -> str:
        """The guest's address as discovery reports it ("" when the fabric reports none)."""

    def content(self) -> dict[str, bytes]:
        """Every disk's bytes, by disk id."""

    def write(self, disk_id: str, offset: int, data: bytes) -> None:
        """A guest write on the source."""

    def set_reachable(self, reachable: bool) -> None:
        """Cut the source off (a site down), or bring it back."""

    @property
    def power_state(self) -> str:
        """Running or off."""


@dataclass
class SimulatedSource:
    """A machine of :class:`fakes.fabric.SimulatedFabric` as the suite sees it."""

    fabric: SimulatedFabric
    machine: SimulatedMachine

    @property
    def machine_id(self) -> str:
        return self.machine.machine_id

    @property
    def name(self) -> str:
        return self.machine.name

    @property
    def nic_id(self) -> str:
        return f"{self.machine.machine_id}-nic0"

    @property
    def ip_address(self) -> str:
        return SOURCE_IP

    def content(self) -> dict[str, bytes]:
        return {d: disk.read(0, disk.capacity) for d, disk in self.machine.disks.items()}

    def write(self, disk_id: str, offset: int, data: bytes) -> None:
        self.machine.disks[disk_id].write(offset, data)

    def set_reachable(self, reachable: bool) -> None:
        self.fabric.unreachable = not reachable

    @property
    def power_state(self) -> str:
        return self.machine.power_state


class NativeSide(Protocol):
    """What a native scenario adds: a target that replicates by itself, and its machines.

    A native scenario protects its machine toward a target whose kind
    declares ``DataPath.NATIVE`` (``provider.native.protect_native``) in the
    replication group ``group_id``; the suite's cycle then moves the clock
    on, asks for one replication round, and refreshes the group from the
    target (``provider.native.refresh_group``).
    """

    @property
    def group_id(self) -> str:
        """The replication group the scenario protected its machine in."""

    def replicate(self) -> None:
        """One replication round of the target that records a recovery point."""

    def replica_content(self, replica_id: str) -> dict[str, bytes]:
        """Every disk of a machine the target recovered (replica or test copy), by disk id."""

    def write_replica(self, replica_id: str, disk_id: str, offset: int, data: bytes) -> None:
        """A guest write on a recovered machine."""

    def holds(self, replica_id: str) -> bool:
        """True while the recovery site still has the machine (a replica, a test copy)."""


class FailoverLab(EngineHarness):
    """The harness with a ticking virtual clock, the failover service and the target's compute."""

    def __init__(self, root: Path, plugins: dict[str, object], clock: VirtualClock) -> None:
        super().__init__(root, plugins=plugins, clock=clock.now)
        self.virtual_clock = clock
        self.failover = FailoverService(self.ctx)
        self.compute = SimulatedCompute.at(root / "storage-account" / "compute")
        self.compute.add_network("vnet-prod", subnet="10.1.0.0/24")
        #: Set by a native scenario: its recovered machines are the target's, not the compute's.
        self.native: NativeSide | None = None
        #: The source NIC's network id as discovery reports it (a scenario whose fabric
        #: names networks its own way, as Scout does VMware port groups, sets its own).
        self.source_network = "net-prod"

    def cycle(
        self, *item_ids: str, consistency: Consistency = Consistency.CRASH, resync_now: bool = False
    ) -> CycleReport:
        self.virtual_clock.advance(30)
        return super().cycle(*item_ids, consistency=consistency, resync_now=resync_now)

    def map_network(
        self,
        fabric_id: str,
        source: str = "",
        target_network: str = "vnet-prod",
        policy: IpPolicy = IpPolicy.KEEP,
        subnet: str = "",
    ) -> None:
        mapping = NetworkMapping(
            fabric_id, source or self.source_network, self.target_id, target_network, policy, subnet
        )
        with self.store.unit() as tx:
            tx.mappings.put_network(mapping)

    def replica_content(self, replica_id: str) -> dict[str, bytes]:
        if self.native is not None:
            return self.native.replica_content(replica_id)
        machine = self.compute.find(replica_id)
        assert machine is not None
        return {
            d.disk_id: self.compute.read_disk(replica_id, d.disk_id, 0, d.capacity)
            for d in machine.disks
        }


class DeclaredFailover(FailoverService):
    """The failover service that skips the test when it asks what the kind does not declare.

    The suite runs on every scenario; a fabric that declares no planned
    failover or no reverse replication (VMware to the cloud) skips the tests
    that need them, saying why, instead of failing them. The refusals
    themselves are tested on purpose-built kinds, without this wrapper.
    """

    def __init__(self, lab: FailoverLab, kind: str) -> None:
        super().__init__(lab.ctx)
        self.kind = kind
        self.capabilities = lab.plugins.fabric_kind(kind).capabilities

    def planned_failover(
        self, item_ids: Sequence[str], options: FailoverOptions | None = None
    ) -> Job:
        self._require(self.capabilities.allows(FailoverMode.PLANNED), "planned failover")
        return super().planned_failover(item_ids, options)

    def reverse_replication(self, item_ids: Sequence[str]) -> Job:
        self._require(self.capabilities.reverse_replication, "reverse replication")
        return super().reverse_replication(item_ids)

    def failback(self, item_ids: Sequence[str], options: FailoverOptions | None = None) -> Job:
        self._require(self.capabilities.reverse_replication, "reverse replication")
        self._require(self.capabilities.allows(FailoverMode.FAILBACK), "failback")
        return super().failback(item_ids, options)

    def _require(self, declared: bool, what: str) -> None:
        if not declared:
            pytest.skip(f"kind {self.kind!r} does not declare {what}")


@dataclass
class Protected:
    """A machine protected to the cloud target, with one recorded point."""

    lab: FailoverLab
    source: SourceHandle
    fabric_id: str
    item_id: str
    kind: str

    @property
    def item(self) -> ProtectedItem:
        return self.lab.item(self.item_id)

    def cycle(self) -> RecoveryPoint:
        """One replication cycle that records a point; the point recorded."""
        native = self.lab.native
        if native is None:
            (point,) = self.lab.cycle(self.item_id).recorded
            return point
        self.lab.virtual_clock.advance(30)
        native.replicate()
        refresh_group(self.lab.ctx, self.item.target, native.group_id)
        return self.lab.points(self.item_id)[-1]

    def require_hrl(self, why: str) -> None:
        """Skip on a native scenario: the test checks what only the HRL path has."""
        if self.lab.native is not None:
            pytest.skip(f"the scenario's target replicates natively: {why}")

    def first_disk(self) -> str:
        return sorted(self.source.content())[0]


#: Builds a protected machine from (lab root, clock, fabric kind, capabilities).
Scenario = Callable[..., AbstractContextManager[Protected]]


@contextmanager
def simulated_scenario(
    root: Path,
    clock: VirtualClock,
    kind: str = "simulated",
    capabilities: Capabilities | None = None,
) -> Iterator[Protected]:
    """A simulated fabric's machine, mapped to ``vnet-prod``, protected and replicated once."""
    options = {"capabilities": capabilities} if capabilities is not None else {}
    plugin = SimulatedFabricPlugin(kind, clock=clock, **options)
    fabric = plugin.add_fabric("sim-01")
    machine = fabric.add_machine("web01", disks=list(DISK_SIZES))
    machine.addresses = (SOURCE_IP,)
    for index, disk in enumerate(machine.disks.values()):
        write_pattern(disk, 0, 64 * KIB, seed=index)
        write_pattern(disk, disk.capacity - 8 * KIB, 8 * KIB, seed=100 + index)
    with FailoverLab(root, {kind: plugin}, clock) as lab:
        fabric_id = lab.register_fabric(kind, "sim-01", "admin", "secret")
        lab.map_network(fabric_id)
        item = lab.protect(fabric_id, machine.machine_id)
        protected = Protected(lab, SimulatedSource(fabric, machine), fabric_id, item.item_id, kind)
        protected.cycle()
        yield protected
