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

from plugins.hyperv import scripts
from plugins.hyperv.client import ClientPool, HyperVClient
from plugins.hyperv.records import Row, rows
from plugins.hyperv.replica import HyperVReplica, ReplicationStatus, Side
from plugins.hyperv.scripts import ReplicationSettings
from provider.contracts.connection import FabricConnection, TargetConnection
from provider.contracts.declarations import FailoverMode
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
from provider.errors import NotFound, RecoveryPointUnavailable, ValidationError
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
DEFAULT_REVERSE_STORAGE = "D:\\Hyper-V Replica"


@dataclass(frozen=True)
class GroupRecord:
    """What the target side remembers of a group: its primary host and its VMs."""

    primary_address: str
    primary_username: str
    machines: tuple[tuple[str, str], ...]  # (machine id, VM name)
    #: After a planned failover the roles swap: the primary host holds the replicas.
    reversed: bool = False

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
            machines = tuple((str(m), str(n)) for m, n in raw["machines"])
            record = GroupRecord(
                raw["primary_address"], raw["primary_username"], machines, raw["reversed"]
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
            }
            for group, r in mine.items()
        }
        path.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")


def _book_path(target: TargetConnection) -> Path | None:
    named = target.option("group_book")
    return Path(named) if named else None


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
    address = request.option("primary_address")
    if not address:
        raise ValidationError(
            f"target {target.target_id!r}: protecting with Hyper-V Replica needs the option "
            "'primary_address' (the primary host's WinRM address)"
        )
    username = request.option("primary_username") or target.option("username")
    machines = tuple((m.machine_id, m.name) for m in request.machines)
    return GroupRecord(address, username, machines)


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
    record = sides.book.get(target, group_id)
    pair = sides.pair(target, record)
    reported = tuple(
        _machine_state(machine_id, pair.status(name, Side.REPLICA))
        for machine_id, name in record.machines
    )
    return NativeGroupState(group_id, reported)


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
    record = sides.book.get(target, group_id)
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


# -- failover and the rest ----------------------------------------------------------------


def failover(
    sides: NativeSides, target: TargetConnection, request: NativeFailover
) -> NativeFailoverResult:
    """Fail each VM over on the replica server (planned: source first, then reversed)."""
    record = sides.book.get(target, request.group_id)
    pair = sides.pair(target, record)
    names = [record.vm_name(request.group_id, m) for m in request.machine_ids]
    if request.mode is FailoverMode.PLANNED:
        chosen = [_planned(pair, target, name) for name in names]
        sides.book.put(target, request.group_id, replace(record, reversed=not record.reversed))
    else:
        checked = [_checked_point(pair, request, name) for name in names]
        chosen = [_unplanned(pair, name, point) for name, point in zip(names, checked, strict=True)]
    recovered = tuple(
        NativeRecovered(machine_id, machine_id, point_name, at, ())
        for machine_id, (point_name, at) in zip(request.machine_ids, chosen, strict=True)
    )
    return NativeFailoverResult(request.group_id, recovered)


def _unplanned(pair: HyperVReplica, vm_name: str, point: tuple[str, float]) -> tuple[str, float]:
    # Completing at once is the native failover's commit: Hyper-V discards the other
    # points and replicates the VM no more (the seed's rule for an unplanned failover).
    pair.unplanned_failover(vm_name)
    pair.complete(vm_name)
    pair.start_vm(vm_name, Side.REPLICA)
    return point


def _planned(pair: HyperVReplica, target: TargetConnection, vm_name: str) -> tuple[str, float]:
    """Shut the source down, send its last changes, fail over, replicate back, start.

    No data is lost: the point is the source's last state. Replicating back
    needs the old primary to accept replicas, into the target's
    ``reverse_storage_path``.
    """
    status = pair.planned_failover(vm_name)
    if status.last_replication is None:
        raise RecoveryPointUnavailable(f"{vm_name}: the replica holds no recovery point yet")
    storage = target.option("reverse_storage_path", DEFAULT_REVERSE_STORAGE)
    pair.reversed().configure_replica_server(storage)
    pair.reverse(vm_name)
    pair.start_vm(vm_name, Side.REPLICA)
    return latest_point_name(vm_name, status.last_replication), status.last_replication


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
