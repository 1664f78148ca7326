"""Native replication toward a secondary Hyper-V site (target kind ``hyperv-replica``).

The target is the *replica server*: its address, the target's secret and
its ``username`` option reach it over WinRM. The native hooks receive only
the target and a group id, so two things live with the target side:

* the primary host: named once, in the protection request's options
  (``primary_address``, optionally ``primary_username``; same secret and
  transport options as the replica server), and remembered per group;
* the group's membership (machine id -> VM name), kept in a
  :class:`GroupBook`, a JSON file when the target names one
  (``group_book``), else in memory for the life of the process.

Everything else is asked of the replica server: state and health
(``Get-VMReplication`` on the replica VM), recovery points (its replica
snapshots, plus the *latest recovery point*: the replica's current data at
its last replication), and failover. The script catalog fails a replica
over to its latest data only (no ``-VMRecoverySnapshot``), so a named point
is honoured only when it is that data; and Hyper-V Replica keeps no point
common to several VMs. An unplanned failover is completed at once (the VM
is replicated no more); a planned one shuts the source down, fails over
without loss and reverses replication, after which the group's roles are
swapped in the book (the primary host then holds the replicas and points).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from plugins.hyperv import scripts, sync
from plugins.hyperv.client import ClientPool, HyperVClient
from plugins.hyperv.records import Row, one_row, rows
from plugins.hyperv.replica import HyperVReplica, ReplicationStatus, Side
from plugins.hyperv.scripts import ReplicationSettings
from provider.blockdigest import DIGEST_BLOCK_SIZE, disk_digest
from provider.contracts.connection import FabricConnection, TargetConnection
from provider.contracts.declarations import FailoverMode
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
from provider.contracts.replica import CutRequest
from provider.errors import (
    FailoverError,
    MappingMissing,
    NotFound,
    RecoveryPointUnavailable,
    ValidationError,
)
from provider.model.inventory import Machine, Network
from provider.model.recovery import Consistency
from provider.model.states import Health, ReplicationState

_R = ReplicationState
#: Get-VMReplication's state on the replica VM -> the item's state.
_STATES = {
    "WaitingForInitialReplication": _R.INITIAL_REPLICATION,
    "Replicating": _R.PROTECTED,
    "Resynchronizing": _R.RESYNCHRONIZING,
    "ResynchronizeSuspended": _R.RESYNC_REQUIRED,
    "WaitingForStartResynchronize": _R.RESYNC_REQUIRED,
}
_HEALTH = {"Normal": Health.NORMAL, "Warning": Health.WARNING, "Critical": Health.CRITICAL}
#: Hyper-V Replica keeps at most this many hourly recovery points.
_MAX_HISTORY = 24
_MAX_VSS_HOURS = 12
LATEST_LABEL = "Latest Recovery Point"
#: The group book's file in the core's state directory for the target.
GROUP_BOOK_FILE = "hyperv-replica-groups.json"
DEFAULT_REVERSE_STORAGE = "D:\\Hyper-V Replica"


@dataclass(frozen=True)
class GroupRecord:
    """What the target side remembers of a group: its primary host and its VMs."""

    primary_address: str
    primary_username: str
    machines: tuple[tuple[str, str], ...]  # (machine id, VM name)
    #: After a planned failover (or reverse) the roles swap: the primary host holds the replicas.
    reversed: bool = False
    #: (machine id, source network id) per NIC, in the VM's adapter order ('' not connected).
    nics: tuple[tuple[str, str], ...] = ()
    #: (machine id, source disk id) per disk, in the VM's drive order.
    disks: tuple[tuple[str, str], ...] = ()

    def networks_of(self, machine_id: str) -> list[str]:
        return [network for known, network in self.nics if known == machine_id]

    def disks_of(self, machine_id: str) -> list[str]:
        return [disk for known, disk in self.disks if known == machine_id]

    def vm_name(self, group_id: str, machine_id: str) -> str:
        for known, name in self.machines:
            if known == machine_id:
                return name
        raise NotFound(f"group {group_id!r} has no machine {machine_id!r}")


class GroupBook:
    """Groups by (target id, group id); written through to the target's ``group_book`` file."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, str], GroupRecord] = {}
        self._lock = threading.Lock()

    def put(self, target: TargetConnection, group_id: str, record: GroupRecord) -> None:
        with self._lock:
            self._load(target)
            self._groups[(target.target_id, group_id)] = record
            self._save(target)

    def get(self, target: TargetConnection, group_id: str) -> GroupRecord:
        with self._lock:
            self._load(target)
            found = self._groups.get((target.target_id, group_id))
        if found is None:
            raise NotFound(f"target {target.target_id!r} replicates no group {group_id!r}")
        return found

    def drop(self, target: TargetConnection, group_id: str) -> None:
        with self._lock:
            self._load(target)
            self._groups.pop((target.target_id, group_id), None)
            self._save(target)

    def _load(self, target: TargetConnection) -> None:
        path = _book_path(target)
        if path is None or not path.exists():
            return
        stored = json.loads(path.read_text(encoding="utf-8"))
        for group_id, raw in stored.items():
            record = GroupRecord(
                raw["primary_address"],
                raw["primary_username"],
                _pairs(raw["machines"]),
                raw["reversed"],
                _pairs(raw.get("nics", [])),
                _pairs(raw.get("disks", [])),
            )
            self._groups[(target.target_id, group_id)] = record

    def _save(self, target: TargetConnection) -> None:
        path = _book_path(target)
        if path is None:
            return
        mine = {g: r for (t, g), r in self._groups.items() if t == target.target_id}
        data = {
            group: {
                "primary_address": r.primary_address,
                "primary_username": r.primary_username,
                "machines": [list(m) for m in r.machines],
                "reversed": r.reversed,
                "nics": [list(n) for n in r.nics],
                "disks": [list(d) for d in r.disks],
            }
            for group, r in mine.items()
        }
        path.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")


def _pairs(raw: list[list[str]]) -> tuple[tuple[str, str], ...]:
    return tuple((str(first), str(second)) for first, second in raw)


def _book_path(target: TargetConnection) -> Path | None:
    # Without a file the groups would live only as long as the process: a restarted
    # service could no longer fail its machines over. The core's state directory is home.
    named = target.option("group_book")
    if named:
        return Path(named)
    return Path(target.state_dir) / GROUP_BOOK_FILE if target.state_dir else None


@dataclass(frozen=True)
class NativeSides:
    """The clients of a target: the replica server's, and the primary host's when known."""

    pool: ClientPool
    book: GroupBook

    def server(self, target: TargetConnection) -> HyperVClient:
        """The replica server the target names."""
        return self.pool.get(_connection(target, target.location, target.option("username")))

    def pair(self, target: TargetConnection, record: GroupRecord) -> HyperVReplica:
        """The group's pair, primary first (reversed after a planned failover)."""
        primary = _connection(target, record.primary_address, record.primary_username)
        pair = HyperVReplica(self.pool.get(primary), self.server(target))
        return pair.reversed() if record.reversed else pair


def _connection(target: TargetConnection, address: str, username: str) -> FabricConnection:
    # Both hosts of a target share its transport options; the pool keys them by address.
    return FabricConnection(
        target.target_id, "hyperv", address, username, target.secret, target.options
    )


# -- protect -------------------------------------------------------------------------


def protect(
    sides: NativeSides, target: TargetConnection, request: NativeProtection
) -> NativeGroupState:
    """Enable replication of every VM toward the replica server and start the initial copies."""
    record = _record(target, request)
    pair = sides.pair(target, record)
    settings = _settings(pair, target, request)
    for machine in request.machines:
        pair.enable(machine.name, settings)
    sides.book.put(target, request.group_id, record)
    for machine in request.machines:
        pair.start_initial_replication(machine.name)
    return state(sides, target, request.group_id)


def _record(target: TargetConnection, request: NativeProtection) -> GroupRecord:
    # A replica server usually pairs with one primary host: the target may name it once,
    # so a protection that does not (the core's plain protect, the conformance suite) works.
    address = request.option("primary_address") or target.option("primary_address")
    if not address:
        raise ValidationError(
            f"target {target.target_id!r}: protecting with Hyper-V Replica needs the option "
            "'primary_address' (the primary host's WinRM address)"
        )
    username = request.option("primary_username") or target.option("username")
    machines = tuple((m.machine_id, m.name) for m in request.machines)
    nics = tuple((m.machine_id, nic.network_id) for m in request.machines for nic in m.nics)
    disks = tuple((m.machine_id, disk.disk_id) for m in request.machines for disk in m.disks)
    return GroupRecord(address, username, machines, nics=nics, disks=disks)


def _settings(
    pair: HyperVReplica, target: TargetConnection, request: NativeProtection
) -> ReplicationSettings:
    frequency = request.option("frequency_sec") or target.option("frequency_sec", "300")
    try:
        frequency_sec = int(frequency)
    except ValueError as exc:
        raise ValidationError(
            f"frequency_sec must be a number of seconds, got {frequency!r}"
        ) from exc
    vss_hours = min(request.app_frequency_minutes // 60, _MAX_VSS_HOURS)
    return ReplicationSettings(
        pair.server_name(Side.REPLICA),
        frequency_sec=frequency_sec,
        recovery_history=min(request.retention_hours, _MAX_HISTORY),
        vss_frequency_hours=vss_hours if request.app_frequency_minutes else 0,
    )


# -- state and points ------------------------------------------------------------------


def state(sides: NativeSides, target: TargetConnection, group_id: str) -> NativeGroupState:
    """Each VM's replication as the replica server sees it."""
    record = known_group(sides, target, group_id)
    pair = sides.pair(target, record)
    reported = tuple(
        _machine_state(machine_id, pair.status(name, Side.REPLICA))
        for machine_id, name in record.machines
    )
    return NativeGroupState(group_id, reported)


def known_group(sides: NativeSides, target: TargetConnection, group_id: str) -> GroupRecord:
    """The group's record; for a group the book lacks, the replica server is asked first.

    The book is local: without the call, a wrong passphrase or a server that
    is down would answer "no such group" instead of what is wrong.
    """
    try:
        return sides.book.get(target, group_id)
    except NotFound:
        server = sides.server(target)
        script = scripts.get_replication_server()
        one_row(server.query(script), f"{server.host}: {script.command}")
        raise


def _machine_state(machine_id: str, status: ReplicationStatus) -> NativeMachineState:
    health = _HEALTH.get(status.health, Health.CRITICAL)
    return NativeMachineState(
        machine_id=machine_id,
        state=_STATES.get(status.state, _R.RESYNC_REQUIRED),
        health=health,
        detail=status.state,
        reason="" if health is Health.NORMAL else f"replication health {status.health}",
    )


def points(sides: NativeSides, target: TargetConnection, group_id: str) -> tuple[NativePoint, ...]:
    """The replica snapshots of every VM and each VM's latest recovery point, oldest first."""
    record = known_group(sides, target, group_id)
    pair = sides.pair(target, record)
    found: list[NativePoint] = []
    for machine_id, name in record.machines:
        found.extend(_snapshots(pair.replica, machine_id, name))
        latest = _latest_point(machine_id, pair.status(name, Side.REPLICA))
        if latest is not None:
            found.append(latest)
    return tuple(sorted(found, key=lambda p: p.created_at))


def _snapshots(replica: HyperVClient, machine_id: str, vm_name: str) -> list[NativePoint]:
    script = scripts.replica_snapshots(vm_name)
    return [
        _snapshot_point(row, machine_id)
        for row in rows(replica.query(script), f"{replica.host}: {script.command}")
        if row.date("CreationTime") is not None
    ]


def _snapshot_point(row: Row, machine_id: str) -> NativePoint:
    app = row.optional_text("SnapshotType") == "AppConsistentReplica"
    return NativePoint(
        row.text("Name"),
        row.date("CreationTime") or 0.0,
        Consistency.APP if app else Consistency.CRASH,
        Accuracy.EXACT,
        (machine_id,),
    )


def latest_point_name(vm_name: str, at: float) -> str:
    """The name of a VM's latest recovery point: the replica's data replicated at ``at``."""
    moment = datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{vm_name} - {LATEST_LABEL} ({moment})"


def _latest_point(machine_id: str, status: ReplicationStatus) -> NativePoint | None:
    if status.last_replication is None:
        return None  # nothing replicated yet: no point to recover to
    name = latest_point_name(status.vm_name, status.last_replication)
    return NativePoint(
        name, status.last_replication, Consistency.CRASH, Accuracy.EXACT, (machine_id,)
    )


# -- networks --------------------------------------------------------------------------

#: Hyper-V's switch type whose traffic never leaves the host (``VMSwitchType.Private``).
PRIVATE_SWITCH = "Private"


def target_networks(sides: NativeSides, target: TargetConnection) -> tuple[Network, ...]:
    """The replica server's switches (where recovered NICs land), private ones isolated.

    A private switch carries no traffic off the host, so a test VM on it
    cannot reach production: it is the isolated network of a drill.
    """
    server = sides.server(target)
    script = scripts.get_switches()
    found = rows(server.query(script), f"{server.host}: {script.command}")
    return tuple(
        Network(
            network_id=row.text("Id"),
            name=row.text("Name"),
            kind="switch",
            isolated=row.optional_text("SwitchType") == PRIVATE_SWITCH,
        )
        for row in found
    )


# -- NIC placement --------------------------------------------------------------------


@dataclass(frozen=True)
class Landing:
    """Where each recovered VM's NICs go: per VM name, one switch name per adapter ('' none)."""

    switches: dict[str, list[str]]


def plan_nics(landing: HyperVClient, record: GroupRecord, request: NativeFailover) -> Landing:
    """Resolve every NIC's network through ``request.networks`` on the landing host, first.

    Every connected NIC's source network must be mapped (else
    ``MappingMissing``, unless the option ``allow_unmapped`` is ``yes``:
    those NICs stay disconnected) to a switch the landing host has (else
    ``FailoverError`` naming it). Nothing is changed before this returns.
    """
    switches = switch_names(landing)
    allow = request.option("allow_unmapped") in ("yes", "true")
    chosen: dict[str, list[str]] = {}
    for machine_id in request.machine_ids:
        name = record.vm_name(request.group_id, machine_id)
        networks = record.networks_of(machine_id)
        chosen[name] = [_switch(landing, switches, request, name, n, allow) for n in networks]
    return Landing(chosen)


def switch_names(client: HyperVClient) -> dict[str, str]:
    """The host's switches by id (lower case) -> name."""
    script = scripts.get_switches()
    found = rows(client.query(script), f"{client.host}: {script.command}")
    return {row.text("Id").lower(): row.text("Name") for row in found}


def _switch(
    landing: HyperVClient,
    switches: dict[str, str],
    request: NativeFailover,
    vm_name: str,
    network: str,
    allow_unmapped: bool,
) -> str:
    if not network:
        return ""
    mapped = request.network_for(network)
    if not mapped:
        if allow_unmapped:
            return ""
        raise MappingMissing(
            f"{vm_name}: NIC network {network!r} has no mapping on the recovery site; "
            "nothing was changed",
            hint="map the network, or override to leave that NIC disconnected",
        )
    if mapped.lower() not in switches:
        raise FailoverError(
            f"{vm_name}: network {network!r} is mapped to {mapped!r}, which {landing.host} "
            f"does not have; nothing was changed"
        )
    return switches[mapped.lower()]


def place_nics(client: HyperVClient, vm_name: str, switches: Sequence[str]) -> None:
    """Connect the VM's adapters, in order, to the planned switches (Connect-VMNetworkAdapter)."""
    script = scripts.get_adapters(vm_name)
    adapters = rows(client.query(script), f"{client.host}: {script.command}")
    placements = [
        (adapter.text("Id"), switch)
        for adapter, switch in zip(adapters, switches, strict=False)
        if switch
    ]
    if placements:
        client.act(scripts.connect_adapters(vm_name, placements))


# -- failover -------------------------------------------------------------------------------


def failover(
    sides: NativeSides, target: TargetConnection, request: NativeFailover
) -> NativeFailoverResult:
    """Fail each VM over: unplanned on the replica server, planned or failback without loss."""
    record = sides.book.get(target, request.group_id)
    pair = sides.pair(target, record)
    names = [record.vm_name(request.group_id, m) for m in request.machine_ids]
    if request.mode is FailoverMode.FAILBACK and not record.reversed:
        raise FailoverError(
            f"group {request.group_id!r} does not replicate in reverse: fail back after a "
            "planned failover or a reverse"
        )
    landing = plan_nics(pair.replica, record, request)
    if request.mode in (FailoverMode.PLANNED, FailoverMode.FAILBACK):
        complete = request.mode is FailoverMode.FAILBACK
        chosen = [_planned(pair, target, name, landing, complete) for name in names]
        sides.book.put(target, request.group_id, replace(record, reversed=not record.reversed))
    else:
        checked = [_checked_point(pair, request, name) for name in names]
        chosen = [
            _unplanned(pair, name, point, landing)
            for name, point in zip(names, checked, strict=True)
        ]
    recovered = tuple(
        NativeRecovered(machine_id, machine_id, point_name, at, ())
        for machine_id, (point_name, at) in zip(request.machine_ids, chosen, strict=True)
    )
    return NativeFailoverResult(request.group_id, recovered)


def _unplanned(
    pair: HyperVReplica, vm_name: str, point: tuple[str, float], landing: Landing
) -> tuple[str, float]:
    # Completing at once is the native failover's commit: Hyper-V discards the other
    # points and replicates the VM no more (the seed's rule for an unplanned failover).
    pair.unplanned_failover(vm_name)
    pair.complete(vm_name)
    place_nics(pair.replica, vm_name, landing.switches.get(vm_name, []))
    pair.start_vm(vm_name, Side.REPLICA)
    return point


def _planned(
    pair: HyperVReplica,
    target: TargetConnection,
    vm_name: str,
    landing: Landing,
    complete: bool,
) -> tuple[str, float]:
    """Shut the source down, send its last changes, fail over, replicate back, start.

    No data is lost: the point is the source's last state. Replicating back
    needs the old primary to accept replicas, into the target's
    ``reverse_storage_path`` when it does not already. Failback (the same
    with the roles swapped) also completes the failover on the original
    host before reversing, so the recovery site's points are discarded.
    """
    status = pair.planned_failover(vm_name)
    if status.last_replication is None:
        raise RecoveryPointUnavailable(f"{vm_name}: the replica holds no recovery point yet")
    if complete:
        pair.complete(vm_name)
    accept_replicas(pair.primary, target.option("reverse_storage_path", DEFAULT_REVERSE_STORAGE))
    pair.reverse(vm_name)
    place_nics(pair.replica, vm_name, landing.switches.get(vm_name, []))
    pair.start_vm(vm_name, Side.REPLICA)
    return latest_point_name(vm_name, status.last_replication), status.last_replication


def accept_replicas(client: HyperVClient, storage: str) -> None:
    """Make the host a Replica server unless it already is (its own storage then stays)."""
    script = scripts.get_replication_server()
    current = one_row(client.query(script), f"{client.host}: {script.command}")
    if current.data.get("ReplicationEnabled") is not True:
        HyperVReplica(client, client).configure_replica_server(storage)


def _checked_point(pair: HyperVReplica, request: NativeFailover, vm_name: str) -> tuple[str, float]:
    status = pair.status(vm_name, Side.REPLICA)
    if status.last_replication is None:
        raise RecoveryPointUnavailable(f"{vm_name}: the replica holds no recovery point yet")
    latest = latest_point_name(vm_name, status.last_replication)
    if request.choice is PointChoice.LATEST_COMMON and len(request.machine_ids) > 1:
        raise RecoveryPointUnavailable(
            f"group {request.group_id!r}: Hyper-V Replica keeps no point common to several VMs"
        )
    if request.choice is PointChoice.NAMED and request.point_name != latest:
        raise RecoveryPointUnavailable(
            f"{vm_name}: Hyper-V Replica fails over to its latest recovery point only "
            f"({latest!r}), not to {request.point_name!r}"
        )
    return latest, status.last_replication


# -- test failover and cleanup ---------------------------------------------------------------


def test_failover(
    sides: NativeSides, target: TargetConnection, request: NativeFailover
) -> NativeFailoverResult:
    """Start-VMFailover -AsTest on the replica server; the test VMs join the isolated network."""
    record = sides.book.get(target, request.group_id)
    pair = sides.pair(target, record)
    names = [record.vm_name(request.group_id, m) for m in request.machine_ids]
    points = [_checked_point(pair, request, name) for name in names]
    isolated = _isolated_switch(pair.replica, request.option("network"))
    recovered = tuple(
        _test_copy(pair, record, machine_id, name, point, isolated)
        for machine_id, name, point in zip(request.machine_ids, names, points, strict=True)
    )
    return NativeFailoverResult(request.group_id, recovered)


def _isolated_switch(client: HyperVClient, network: str) -> str:
    """The switch name of the isolated network (an id or a name); '' leaves NICs disconnected."""
    if not network:
        return ""
    switches = switch_names(client)
    by_name = {name.lower(): name for name in switches.values()}
    found = switches.get(network.lower()) or by_name.get(network.lower())
    if found is None:
        raise FailoverError(
            f"{client.host} has no switch {network!r} for the test failover's isolated network; "
            "nothing was changed"
        )
    return found


def _test_copy(
    pair: HyperVReplica,
    record: GroupRecord,
    machine_id: str,
    vm_name: str,
    point: tuple[str, float],
    isolated: str,
) -> NativeRecovered:
    status = pair.test_failover(vm_name)
    test_name = status.test_vm_name
    if isolated:
        pair.replica.act(scripts.connect_all_adapters(test_name, isolated))
    vm = one_row(pair.replica.query(scripts.get_vm(test_name)), f"{pair.replica.host}: Get-VM")
    test_id = vm.text("Id").lower()
    disks = vm_digests(pair.replica, test_id, test_name, record.disks_of(machine_id))
    return NativeRecovered(machine_id, test_id, point[0], point[1], disks)


def vm_digests(
    client: HyperVClient, vm_id: str, vm_name: str, source_disks: Sequence[str]
) -> tuple[ReplicaDisk, ...]:
    """The disk digest of every disk of a VM that is off, read through the SrpAgent.

    Each disk is reported under the source disk id at the same position
    (``location`` is the VM's own disk id), so the core compares it with the
    source's digest.
    """
    machine = Machine(vm_id, vm_name, "native-test", ())
    sync.enable_tracking(client, machine)
    cut = sync.capture_cut(client, CutRequest(f"digest-{vm_id}", (machine,), ()))
    try:
        return tuple(
            ReplicaDisk(
                source_disks[index] if index < len(source_disks) else changes.disk_id,
                disk_digest(
                    b.digest
                    for b in sync.block_digests(
                        client, cut, vm_id, changes.disk_id, DIGEST_BLOCK_SIZE
                    )
                ),
                changes.disk_id,
            )
            for index, changes in enumerate(cut.disks)
        )
    finally:
        sync.release_cut(client, cut, confirmed=False)
        sync.disable_tracking(client, machine)


def cleanup_test(
    sides: NativeSides, target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> CleanupResult:
    """Stop-VMFailover on each replica VM that has a test VM; a second call removes nothing."""
    record = sides.book.get(target, group_id)
    pair = sides.pair(target, record)
    wanted = machine_ids or [m for m, _ in record.machines]
    removed: list[str] = []
    for machine_id in wanted:
        name = record.vm_name(group_id, machine_id)
        test_name = pair.status(name, Side.REPLICA).test_vm_name
        if test_name:
            pair.cleanup_test_failover(name)
            removed.append(test_name)
    return CleanupResult(removed=tuple(removed))


# -- reverse ----------------------------------------------------------------------------------


def reverse(
    sides: NativeSides, target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> NativeGroupState:
    """After an unplanned failover: replicate the recovered VMs back to the original host.

    The original VMs (stale, possibly started again when their host came
    back) are turned off, the original host accepts replicas, ``Set-VM
    Replication -Reverse`` runs on the recovery side and the initial
    replication that follows compares both sides and sends only the blocks
    that differ. The group's record goes reversed.
    """
    record = sides.book.get(target, group_id)
    if record.reversed:
        raise FailoverError(f"group {group_id!r} already replicates in reverse")
    pair = sides.pair(target, record)
    wanted = list(machine_ids) or [m for m, _ in record.machines]
    names = [record.vm_name(group_id, m) for m in wanted]
    for name in names:
        _require_failed_over(pair, group_id, name)
    accept_replicas(pair.primary, target.option("reverse_storage_path", DEFAULT_REVERSE_STORAGE))
    back = pair.reversed()
    for name in names:
        pair.turn_off(name, Side.PRIMARY)
        pair.reverse(name)
        back.start_initial_replication(name)
    sides.book.put(target, group_id, replace(record, reversed=True))
    return state(sides, target, group_id)


def _require_failed_over(pair: HyperVReplica, group_id: str, vm_name: str) -> None:
    status = pair.status(vm_name, Side.REPLICA)
    if status.state not in ("FailedOver", "FailedOverWaitingCompletion"):
        raise FailoverError(
            f"group {group_id!r}: {vm_name} is {status.state} on the replica server; reverse "
            "replication follows a failover"
        )


def resync(
    sides: NativeSides, target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> NativeGroupState:
    """Resume-VMReplication -Resynchronize on the primary host of each VM (all when none named)."""
    record = sides.book.get(target, group_id)
    pair = sides.pair(target, record)
    wanted = machine_ids or [m for m, _ in record.machines]
    for machine_id in wanted:
        name = record.vm_name(group_id, machine_id)
        pair.primary.act(scripts.resume_replication(name, resynchronize=True))
    return state(sides, target, group_id)


def stop(sides: NativeSides, target: TargetConnection, group_id: str) -> None:
    """Remove the replication of every VM on both hosts; an unknown group does nothing."""
    try:
        record = sides.book.get(target, group_id)
    except NotFound:
        return
    pair = sides.pair(target, record)
    for _, name in record.machines:
        pair.replica.act(scripts.remove_replication(name))
        pair.primary.act(scripts.remove_replication(name))
    sides.book.drop(target, group_id)
