"""A simulated natively replicating target: public API for testers and plugin authors.

Like ``structlog.testing``, this module is meant to be imported by tests:
:class:`SimulatedNativeTarget` is an in-process plugin serving the target
kind ``simulated-native`` (``DataPath.NATIVE``). It replicates machines of
:class:`fakes.fabric.SimulatedFabric` by itself, in memory, and implements
every ``srp_native_*`` hook, so the core's native path
(:mod:`provider.native`, the failover service) runs against it exactly as
against InMage Scout or Hyper-V Replica:

- protection: a group of machines replicates to a :class:`RecoverySite`
  (the target's location); a machine is in initial replication until its
  first round;
- rounds: :meth:`SimulatedNativeTarget.replicate` ships what changed on the
  sources and records a crash-consistent point ``round-<n>`` for every
  group; :meth:`~SimulatedNativeTarget.ship` ships without a point;
  :meth:`~SimulatedNativeTarget.issue_point` ships one group and records a
  named app-consistent point (a consistency tag). With ``round_seconds`` and
  a :class:`fakes.clock.VirtualClock`, a round runs every that many virtual
  seconds. Points older than the group's retention are dropped;
- failover: the four modes of ``srp_native_failover`` (unplanned: the
  machine is forgotten; planned: the source is shut down first, nothing is
  lost, the group replicates back; failback: the replica is shut down, its
  last changes go home byte for byte, the original starts, forward
  replication resumes), test copies in an isolated network
  (``srp_native_test_failover`` / ``srp_native_cleanup_test``), and
  ``srp_native_reverse`` after an unplanned failover, sending only the
  4 KiB blocks that differ (counted in :attr:`ReplicatedMachine.blocks_sent`).

Recovered machines (:class:`RecoveredMachine`) live on the site, keyed by
their replica id; their disks are :class:`fakes.disk.VirtualDisk` a test can
write to (the running replica's guest). Points are whole-disk copies:
use small disks.

Example::

    sources = SimulatedFabricPlugin(clock=clock)
    fabric = sources.add_fabric("sim-01")
    vm = fabric.add_machine("web01", disks=[256 * 1024])
    target = SimulatedNativeTarget(sources, clock=clock, round_seconds=30)
    site = target.add_site("dr-site")
    # register ``sources`` as "simulated" and ``target`` as "simulated-native",
    # add a target of kind "simulated-native" at address "dr-site" (passphrase
    # ``site.passphrase``), protect with provider.native.protect_native.

Fault switches: ``site.unreachable`` (every call raises FabricUnreachable),
``site.undeletable`` (replica ids a cleanup cannot remove), and the source
fabric's own (an unreachable source ships nothing: changes wait on it).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from fakes.clock import Clock, SystemClock, VirtualClock
from fakes.disk import VirtualDisk
from fakes.fabric import SimulatedFabric, SimulatedFabricPlugin, SimulatedMachine
from provider.contracts.connection import TargetConnection
from provider.contracts.declarations import DataPath, FailoverMode, TargetKind
from provider.contracts.failover import CleanupResult, ReplicaDisk
from provider.contracts.native import (
    Accuracy,
    NativeFailover,
    NativeFailoverResult,
    NativeGroupState,
    NativeMachineState,
    NativePoint,
    NativeProtection,
    NativeRecovered,
    PointChoice,
)
from provider.errors import (
    AuthenticationFailed,
    FabricUnreachable,
    FailoverError,
    MappingMissing,
    NotFound,
    RecoveryPointUnavailable,
)
from provider.hookspecs import hookimpl
from provider.model.inventory import Network
from provider.model.recovery import Consistency
from provider.model.states import Health, ReplicationState

#: The target kind the plugin serves unless told otherwise.
NATIVE_KIND = "simulated-native"
#: The name of "the latest data the target holds" (no recorded point).
LATEST_TIME = "LatestTime"
#: The unit in which reverse replication compares and sends disks.
BLOCK = 4096

Content = dict[str, bytes]
_R = ReplicationState


@dataclass
class RecoveredMachine:
    """A machine running on the recovery site: a failover's replica or a test copy."""

    replica_id: str
    name: str
    source_id: str
    disks: dict[str, VirtualDisk]
    #: (NIC id, network id) of each NIC placed on a network.
    nics: tuple[tuple[str, str], ...]
    point_name: str
    test: bool = False
    power_state: str = "running"

    def content(self) -> Content:
        """Every disk's bytes, by disk id."""
        return {d: disk.read(0, disk.capacity) for d, disk in self.disks.items()}


@dataclass(frozen=True)
class HeldPoint:
    """A recovery point of one machine: the whole content of its disks at that instant."""

    name: str
    created_at: float
    consistency: Consistency
    content: Content


@dataclass
class ReplicatedMachine:
    """One machine of a group as the target replicates it.

    ``held`` is the target's copy (forward: the recovery site's; reversed,
    the original machine's disks are the copy). ``protected`` is False once
    an unplanned failover made the target forget the machine.
    """

    source: SimulatedMachine
    held: Content = field(default_factory=dict)
    points: list[HeldPoint] = field(default_factory=list)
    replica: RecoveredMachine | None = None
    test_copy: RecoveredMachine | None = None
    reversed: bool = False
    protected: bool = True
    shipped: bool = False
    blocks_sent: int = 0

    @property
    def key(self) -> str:
        """The id the group knows the machine by: the running replica's once reversed."""
        return self.replica.replica_id if self.reversed and self.replica else self.source.machine_id

    def running_content(self) -> Content:
        """The live machine's disks: the source, or the replica once reversed."""
        if self.reversed and self.replica is not None:
            return self.replica.content()
        return _content(self.source)


@dataclass
class NativeGroup:
    """A replication group: machines sharing recovery points."""

    group_id: str
    retention_hours: int
    machines: dict[str, ReplicatedMachine] = field(default_factory=dict)

    def by_key(self, key: str) -> ReplicatedMachine:
        """A replicated machine by the id the group knows it by (current or original)."""
        for machine in self.machines.values():
            if key in (machine.key, machine.source.machine_id):
                return machine
        raise NotFound(f"group {self.group_id!r} has no machine {key!r}")


@dataclass
class RecoverySite:
    """The target's recovery site: its networks, groups and recovered machines."""

    address: str
    passphrase: str
    networks: tuple[Network, ...]
    groups: dict[str, NativeGroup] = field(default_factory=dict)
    replicas: dict[str, RecoveredMachine] = field(default_factory=dict)
    unreachable: bool = False
    undeletable: set[str] = field(default_factory=set)

    def group(self, group_id: str) -> NativeGroup:
        """A group by id; NotFound names the site."""
        if group_id not in self.groups:
            raise NotFound(f"{self.address}: no replication group {group_id!r}")
        return self.groups[group_id]

    def network_ids(self, *, isolated: bool) -> set[str]:
        return {n.network_id for n in self.networks if n.isolated is isolated}


class SimulatedNativeTarget:
    """The plugin: recovery sites by address, replicating machines of simulated fabrics."""

    def __init__(
        self,
        sources: SimulatedFabricPlugin,
        *,
        clock: Clock | None = None,
        kind: str = NATIVE_KIND,
        failover_modes: tuple[FailoverMode, ...] = tuple(FailoverMode),
        round_seconds: float = 0.0,
    ) -> None:
        self.sources = sources
        self.clock: Clock = clock or SystemClock()
        self.kind = kind
        self.failover_modes = failover_modes
        self.sites: dict[str, RecoverySite] = {}
        self._ids = itertools.count(1)
        self._rounds = itertools.count(1)
        if round_seconds > 0 and isinstance(self.clock, VirtualClock):
            self._every(self.clock, round_seconds)

    def _every(self, clock: VirtualClock, seconds: float) -> None:
        def tick() -> None:
            self.replicate()
            clock.call_later(seconds, tick)

        clock.call_later(seconds, tick)

    def add_site(
        self,
        address: str,
        *,
        passphrase: str = "secret",
        networks: Sequence[str] = ("vnet-prod",),
        isolated: Sequence[str] = ("vnet-test",),
    ) -> RecoverySite:
        """A recovery site reachable at ``address``, with production and isolated networks."""
        found = [Network(n, n) for n in networks] + [Network(n, n, isolated=True) for n in isolated]
        site = RecoverySite(address, passphrase, tuple(found))
        self.sites[address] = site
        return site

    # ------------------------------------------------------------------
    # Replication rounds

    def replicate(self) -> None:
        """One round everywhere: ship every change, record a crash-consistent point per group."""
        name = f"round-{next(self._rounds)}"
        for group in self._groups():
            self._ship_group(group)
            self._record(group, name, Consistency.CRASH)

    def ship(self) -> None:
        """Ship every change to the target, recording no point."""
        for group in self._groups():
            self._ship_group(group)

    def issue_point(self, group_id: str, name: str) -> None:
        """A consistency tag: ship the group now and record an app-consistent point ``name``."""
        group = next(g for g in self._groups() if g.group_id == group_id)
        self._ship_group(group)
        self._record(group, name, Consistency.APP)

    def _groups(self) -> list[NativeGroup]:
        return [g for site in self.sites.values() for g in site.groups.values()]

    def _ship_group(self, group: NativeGroup) -> None:
        for machine in group.machines.values():
            if machine.protected and self._source_answers(machine):
                _ship(machine)

    def _source_answers(self, machine: ReplicatedMachine) -> bool:
        # Reversed, the live machine is the replica on the site: it always answers.
        return machine.reversed or not self._fabric_of(machine.source).unreachable

    def _record(self, group: NativeGroup, name: str, consistency: Consistency) -> None:
        now = self.clock.now()
        oldest = now - group.retention_hours * 3600
        for machine in group.machines.values():
            if machine.protected and machine.shipped:
                point = HeldPoint(name, now, consistency, dict(machine.held))
                machine.points = [p for p in machine.points if p.created_at >= oldest] + [point]

    def _fabric_of(self, source: SimulatedMachine) -> SimulatedFabric:
        for fabric in self.sources.fabrics.values():
            if source.machine_id in fabric.machines:
                return fabric
        raise NotFound(f"machine {source.machine_id} is on no simulated fabric")

    def _source(self, machine_id: str) -> SimulatedMachine:
        for fabric in self.sources.fabrics.values():
            if machine_id in fabric.machines:
                return fabric.machines[machine_id]
        raise NotFound(f"no simulated fabric has machine {machine_id!r}")

    def _site(self, target: TargetConnection) -> RecoverySite:
        site = self.sites.get(target.location)
        if site is None or site.unreachable:
            raise FabricUnreachable(f"{target.location}: no simulated recovery site answers there")
        if target.secret.reveal() != site.passphrase:
            raise AuthenticationFailed(f"{target.location}: the passphrase was refused")
        return site

    def _new_id(self) -> str:
        return f"replica-{next(self._ids):04d}"

    # ------------------------------------------------------------------
    # Declarations and state

    @hookimpl
    def srp_target_kinds(self) -> Sequence[TargetKind]:
        return [
            TargetKind(
                self.kind,
                "Simulated native recovery site (fakes)",
                data_path=DataPath.NATIVE,
                failover_modes=self.failover_modes,
            )
        ]

    @hookimpl
    def srp_target_networks(self, target: TargetConnection) -> Sequence[Network]:
        return self._site(target).networks

    @hookimpl
    def srp_native_protect(
        self, target: TargetConnection, request: NativeProtection
    ) -> NativeGroupState:
        site = self._site(target)
        sources = [self._source(m.machine_id) for m in request.machines]
        group = site.groups.setdefault(
            request.group_id, NativeGroup(request.group_id, request.retention_hours)
        )
        for source in sources:
            group.machines.setdefault(source.machine_id, ReplicatedMachine(source))
        return _state(group)

    @hookimpl
    def srp_native_state(self, target: TargetConnection, group_id: str) -> NativeGroupState:
        return _state(self._site(target).group(group_id))

    @hookimpl
    def srp_native_points(self, target: TargetConnection, group_id: str) -> Sequence[NativePoint]:
        return _points(self._site(target).group(group_id))

    @hookimpl
    def srp_native_resync(
        self, target: TargetConnection, group_id: str, machine_ids: Sequence[str]
    ) -> NativeGroupState:
        group = self._site(target).group(group_id)
        self._ship_group(group)
        return _state(group)

    @hookimpl
    def srp_native_stop(self, target: TargetConnection, group_id: str) -> None:
        self._site(target).groups.pop(group_id, None)

    # ------------------------------------------------------------------
    # Failover family

    @hookimpl
    def srp_native_failover(
        self, target: TargetConnection, request: NativeFailover
    ) -> NativeFailoverResult:
        site = self._site(target)
        group = site.group(request.group_id)
        machines = [group.by_key(key) for key in request.machine_ids]
        if request.mode is FailoverMode.FAILBACK:
            return self._failback(site, group, machines)
        if request.mode is FailoverMode.PLANNED:
            for machine in machines:
                self._shut_down_source(machine)
                _ship(machine)
        chosen = _chosen_points(group, machines, request)
        placed = [_placement(site, m.source, request) for m in machines]
        recovered = [
            self._recover(site, m, point, nics, request.mode)
            for m, point, nics in zip(machines, chosen, placed, strict=True)
        ]
        return NativeFailoverResult(group.group_id, tuple(recovered))

    def _shut_down_source(self, machine: ReplicatedMachine) -> None:
        if self._fabric_of(machine.source).unreachable:
            raise FabricUnreachable(
                f"planned failover of {machine.source.name}: its source does not answer"
            )
        machine.source.power_state = "off"

    def _recover(
        self,
        site: RecoverySite,
        machine: ReplicatedMachine,
        point: HeldPoint,
        nics: tuple[tuple[str, str], ...],
        mode: FailoverMode,
    ) -> NativeRecovered:
        key = machine.key
        replica = self._materialise(site, machine.source, point, nics, test=False)
        machine.replica = replica
        if mode is FailoverMode.PLANNED:
            # The original is off and equal to the replica: it becomes the reverse copy.
            machine.reversed, machine.points, machine.held = True, [], dict(point.content)
        else:
            machine.protected, machine.points, machine.held, machine.shipped = False, [], {}, False
        return _recovered(key, replica, point)

    def _materialise(
        self,
        site: RecoverySite,
        source: SimulatedMachine,
        point: HeldPoint,
        nics: tuple[tuple[str, str], ...],
        *,
        test: bool,
    ) -> RecoveredMachine:
        replica_id = self._new_id()
        disks = {}
        for disk_id, data in point.content.items():
            disk = VirtualDisk.in_memory(len(data), name=disk_id, disk_id=disk_id)
            disk.write(0, data)
            disks[disk_id] = disk
        name = f"{source.name}-test" if test else source.name
        replica = RecoveredMachine(
            replica_id, name, source.machine_id, disks, nics, point.name, test=test
        )
        site.replicas[replica_id] = replica
        return replica

    def _failback(
        self,
        site: RecoverySite,
        group: NativeGroup,
        machines: list[ReplicatedMachine],
    ) -> NativeFailoverResult:
        not_reversed = [m.source.name for m in machines if not m.reversed or m.replica is None]
        if not_reversed:
            raise FailoverError(
                f"failback of {', '.join(not_reversed)}: not replicating in reverse"
            )
        now = self.clock.now()
        return NativeFailoverResult(
            group.group_id, tuple(_bring_home(site, m, now) for m in machines)
        )

    @hookimpl
    def srp_native_test_failover(
        self, target: TargetConnection, request: NativeFailover
    ) -> NativeFailoverResult:
        site = self._site(target)
        group = site.group(request.group_id)
        machines = [group.by_key(key) for key in request.machine_ids]
        network = request.option("network")
        if network not in site.network_ids(isolated=True):
            raise FailoverError(f"{site.address}: {network!r} is no isolated network of the site")
        chosen = _chosen_points(group, machines, request)
        copies = []
        for machine, point in zip(machines, chosen, strict=True):
            nics = tuple((nic, network) for nic, _ in _source_nics(machine.source))
            copy = self._materialise(site, machine.source, point, nics, test=True)
            machine.test_copy = copy
            copies.append(_recovered(machine.key, copy, point))
        return NativeFailoverResult(group.group_id, tuple(copies))

    @hookimpl
    def srp_native_cleanup_test(
        self, target: TargetConnection, group_id: str, machine_ids: Sequence[str]
    ) -> CleanupResult:
        site = self._site(target)
        group = site.group(group_id)
        removed: list[str] = []
        left: list[str] = []
        for machine in (group.by_key(key) for key in machine_ids):
            copy = machine.test_copy
            if copy is None:
                continue
            described = f"machine {copy.name} ({copy.replica_id})"
            if copy.replica_id in site.undeletable:
                left.append(f"{described}: the site refused to delete it")
                continue
            del site.replicas[copy.replica_id]
            machine.test_copy = None
            removed.append(described)
        return CleanupResult(tuple(removed), tuple(left))

    @hookimpl
    def srp_native_reverse(
        self, target: TargetConnection, group_id: str, machine_ids: Sequence[str]
    ) -> NativeGroupState:
        site = self._site(target)
        group = site.group(group_id)
        machines = [group.by_key(key) for key in machine_ids]
        unrecovered = [m.source.name for m in machines if m.replica is None or m.protected]
        if unrecovered:
            raise FailoverError(
                f"reverse of {', '.join(unrecovered)}: no unprotected failed-over replica"
            )
        for machine in machines:
            # The original must not run while it receives the replica's blocks.
            machine.source.power_state = "off"
            machine.reversed, machine.protected = True, True
            _ship(machine)
        return _state(group)


def _content(source: SimulatedMachine) -> Content:
    return {d: disk.read(0, disk.capacity) for d, disk in source.disks.items()}


def _ship(machine: ReplicatedMachine) -> None:
    """Bring the target's copy up to the live machine; reversed, into the original's disks."""
    live = machine.running_content()
    if machine.reversed:
        machine.blocks_sent += _write_differences(live, machine.source.disks)
    machine.held = live
    machine.shipped = True


def _write_differences(live: Content, disks: dict[str, VirtualDisk]) -> int:
    sent = 0
    for disk_id, data in live.items():
        disk = disks[disk_id]
        for offset in range(0, len(data), BLOCK):
            block = data[offset : offset + BLOCK]
            if disk.read(offset, len(block)) != block:
                disk.write(offset, block)
                sent += 1
    return sent


def _bring_home(site: RecoverySite, machine: ReplicatedMachine, now: float) -> NativeRecovered:
    replica = machine.replica
    assert replica is not None  # checked by the caller
    key = machine.key
    replica.power_state = "off"
    _ship(machine)  # the last changes: nothing is lost
    machine.source.power_state = "running"
    site.replicas.pop(replica.replica_id, None)
    machine.replica, machine.reversed, machine.points = None, False, []
    return NativeRecovered(key, machine.source.machine_id, LATEST_TIME, now, _digests(machine.held))


def _chosen_points(
    group: NativeGroup, machines: Sequence[ReplicatedMachine], request: NativeFailover
) -> list[HeldPoint]:
    """Every machine's point, or RecoveryPointUnavailable before anything changes."""
    if request.choice is PointChoice.LATEST_TIME:
        return [_latest_time(m) for m in machines]
    if request.choice is PointChoice.LATEST_COMMON:
        return _common(group, machines)
    return [_one_point(m, request) for m in machines]


def _latest_time(machine: ReplicatedMachine) -> HeldPoint:
    if not machine.shipped:
        raise RecoveryPointUnavailable(f"{machine.source.name}: nothing replicated yet")
    created = max((p.created_at for p in machine.points), default=0.0)
    return HeldPoint(LATEST_TIME, created, Consistency.CRASH, dict(machine.held))


def _one_point(machine: ReplicatedMachine, request: NativeFailover) -> HeldPoint:
    held = machine.points
    if request.choice is PointChoice.NAMED:
        held = [p for p in held if p.name == request.point_name]
    if not held:
        which = f"point {request.point_name!r}" if request.point_name else "recovery point"
        raise RecoveryPointUnavailable(f"{machine.source.name} holds no {which}")
    return held[-1]


def _common(group: NativeGroup, machines: Sequence[ReplicatedMachine]) -> list[HeldPoint]:
    names = [{p.name for p in m.points} for m in machines]
    shared = set.intersection(*names) if names else set()
    ordered = [p.name for p in machines[0].points if p.name in shared] if machines else []
    if not ordered:
        raise RecoveryPointUnavailable(f"group {group.group_id!r}: no point common to its machines")
    return [next(p for p in m.points if p.name == ordered[-1]) for m in machines]


def _source_nics(source: SimulatedMachine) -> list[tuple[str, str]]:
    return [(f"{source.machine_id}-nic{i}", net) for i, net in enumerate(source.networks)]


def _placement(
    site: RecoverySite, source: SimulatedMachine, request: NativeFailover
) -> tuple[tuple[str, str], ...]:
    """Each NIC on its mapped network: refused before any change when one cannot be placed."""
    placed = []
    production = site.network_ids(isolated=False)
    for nic_id, network in _source_nics(source):
        mapped = request.network_for(network)
        if not mapped and request.option("allow_unmapped") == "yes":
            continue
        if not mapped:
            raise MappingMissing(f"{source.name}: NIC {nic_id} on network {network!r} is unmapped")
        if mapped not in production:
            raise FailoverError(f"{site.address}: mapped network {mapped!r} is gone")
        placed.append((nic_id, mapped))
    return tuple(placed)


def _recovered(key: str, machine: RecoveredMachine, point: HeldPoint) -> NativeRecovered:
    return NativeRecovered(
        key, machine.replica_id, point.name, point.created_at, _digests(point.content)
    )


def _digests(content: Content) -> tuple[ReplicaDisk, ...]:
    return tuple(ReplicaDisk(disk_id, _sha256(data)) for disk_id, data in sorted(content.items()))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _state(group: NativeGroup) -> NativeGroupState:
    return NativeGroupState(
        group.group_id,
        tuple(_machine_state(m) for m in group.machines.values() if m.protected),
    )


def _machine_state(machine: ReplicatedMachine) -> NativeMachineState:
    if not machine.shipped:
        return NativeMachineState(machine.key, _R.INITIAL_REPLICATION, Health.NORMAL, "initial")
    detail = "replicating in reverse" if machine.reversed else "replicating"
    return NativeMachineState(machine.key, _R.PROTECTED, Health.NORMAL, detail)


def _points(group: NativeGroup) -> list[NativePoint]:
    holders: dict[tuple[str, float], tuple[Consistency, list[str]]] = {}
    for machine in group.machines.values():
        for point in machine.points if machine.protected else ():
            _, keys = holders.setdefault((point.name, point.created_at), (point.consistency, []))
            keys.append(machine.key)
    return [
        NativePoint(name, created, consistency, Accuracy.EXACT, tuple(keys))
        for (name, created), (consistency, keys) in sorted(holders.items(), key=_by_time)
    ]


def _by_time(entry: tuple[tuple[str, float], object]) -> tuple[float, str]:
    (name, created), _ = entry
    return created, name


def recovered_in(sites: Iterable[RecoverySite], replica_id: str) -> RecoveredMachine:
    """A recovered machine by id on any of the sites; KeyError names it when absent."""
    for site in sites:
        if replica_id in site.replicas:
            return site.replicas[replica_id]
    raise KeyError(f"no recovery site holds machine {replica_id!r}")
