"""The scheduler: replication cycles at each policy's frequency, and health every tick.

Each tick, for every protected item (or replication group: items sharing
``replication_group`` are cut together) whose policy's cycle is due, it
runs one cycle, app-consistent when the policy's app-consistent frequency
has passed since the last app-consistent point. Items toward a native
target (InMage, Hyper-V Replica) are never cycled: their target replicates
by itself, so each tick refreshes their group's state, health and points
from it instead. Then it reassesses health
and RPO of every item, so RPO keeps growing (and health turns) even when no
cycle runs. One failing group never stops the others.

The clock is injected and :meth:`Scheduler.tick` is public: tests drive the
scheduler without sleeping. In the service a thread calls ``tick`` every
``interval`` seconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

from provider.engine.context import EngineContext
from provider.engine.cycle import run_cycle
from provider.engine.health import CycleOutcome, assess
from provider.engine.outcomes import add_outcome, recent_outcomes
from provider.errors import SrpError
from provider.model.item import Direction, ProtectedItem
from provider.model.policy import ReplicationPolicy
from provider.model.recovery import Consistency
from provider.model.states import ReplicationState
from provider.native.kinds import is_native_target
from provider.native.refresh import group_items, native_groups, refresh_group
from provider.service.gate import ItemGate

log = logging.getLogger("srp.service.scheduler")

_R = ReplicationState
#: States in which the scheduler owns an item's cycles (initial replication is a job's).
#: A drill (TEST_FAILOVER) runs on a view of its point, so replication goes on under it;
#: every other failover state belongs to the failover job that holds the item.
CYCLING_STATES = frozenset({_R.PROTECTED, _R.RESYNC_REQUIRED, _R.RESYNCHRONIZING, _R.TEST_FAILOVER})
#: States in which health and RPO mean nothing.
_UNASSESSED = frozenset({_R.ENABLING, _R.DISABLING, _R.DISABLED})
DEFAULT_INTERVAL = 5.0


@dataclass(frozen=True)
class GroupRun:
    """One cycled group: its items and, when the cycle failed, why."""

    item_ids: tuple[str, ...]
    consistency: Consistency
    error: str = ""


@dataclass(frozen=True)
class TickReport:
    """What one tick did."""

    runs: tuple[GroupRun, ...]
    busy: tuple[str, ...]
    assessed: int
    #: Native groups refreshed from their target, as "target/group".
    refreshed: tuple[str, ...] = ()

    @property
    def cycled(self) -> tuple[str, ...]:
        """Items whose cycle succeeded."""
        return tuple(i for run in self.runs if not run.error for i in run.item_ids)

    @property
    def failed(self) -> tuple[str, ...]:
        """Items whose cycle failed."""
        return tuple(i for run in self.runs if run.error for i in run.item_ids)


@dataclass(frozen=True)
class _Group:
    items: tuple[ProtectedItem, ...]
    policy: ReplicationPolicy

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.item_id for item in self.items)


def replicates_forward(item: ProtectedItem) -> bool:
    """True when the scheduler cycles the item: forward, and in a cycling state.

    A re-protected item (REVERSE) is PROTECTED too, but its live copy is the
    replica on the target: the original machine is a stopped copy that
    reverse replication and failback bring up to date, not a source to cut.
    """
    return item.direction is Direction.FORWARD and item.state in CYCLING_STATES


class Scheduler:
    """Runs due cycles and reassesses health, tick by tick."""

    def __init__(
        self, engine: EngineContext, gate: ItemGate, *, interval: float = DEFAULT_INTERVAL
    ) -> None:
        self._engine = engine
        self._gate = gate
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> TickReport:
        """Run every due cycle, then reassess every item's health."""
        runs: list[GroupRun] = []
        busy: list[str] = []
        for group in self._due_groups():
            if self._stopping.is_set():
                break
            if not self._gate.try_claim(group.item_ids):
                busy.extend(group.item_ids)
                continue
            try:
                runs.append(self._cycle(group))
            finally:
                self._gate.release(group.item_ids)
        refreshed = self._refresh_native(busy)
        return TickReport(tuple(runs), tuple(busy), self.reassess(), refreshed)

    def _refresh_native(self, busy: list[str]) -> tuple[str, ...]:
        # A native target replicates by itself: its groups are refreshed every tick
        # (state, health, points), never cycled. One failing target spares the others.
        refreshed = []
        for target_id, group_id in native_groups(self._engine):
            members = [i.item_id for i in group_items(self._engine, target_id, group_id)]
            if not self._gate.try_claim(members):
                busy.extend(members)
                continue
            try:
                refresh_group(self._engine, target_id, group_id)
                refreshed.append(f"{target_id}/{group_id}")
            except SrpError as exc:
                log.warning("refresh of native group %s failed: %s", group_id, exc)
            finally:
                self._gate.release(members)
        return tuple(refreshed)

    def reassess(self) -> int:
        """Apply the RPO and missed-cycle rules to every item; returns how many."""
        now = self._engine.clock()
        with self._engine.store.unit() as tx:
            items = [i for i in tx.items.list() if i.state not in _UNASSESSED]
            for item in items:
                policy = tx.policies.find(item.policy)
                if policy is None:
                    continue
                outcomes = recent_outcomes(self._engine, item.item_id)
                health = assess(item.health, policy, now, item.last_point_at, outcomes)
                if health != item.health:
                    tx.items.update(replace(item, health=health))
        return len(items)

    def start(self) -> None:
        """Tick every ``interval`` seconds on a thread until :meth:`stop`."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="srp-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Stop after the cycle in progress; True when the thread ended in time."""
        self._stopping.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.tick()
            except Exception:
                # A broken tick (the vault briefly away) must not end scheduling.
                log.exception("scheduler tick failed; the next tick tries again")

    def _due_groups(self) -> list[_Group]:
        now = self._engine.clock()
        return [g for g in self._groups() if self._is_due(g, now)]

    def _groups(self) -> list[_Group]:
        with self._engine.store.read() as tx:
            items = [i for i in tx.items.list() if replicates_forward(i)]
            policies = {p.name: p for p in tx.policies.list()}
        items = [i for i in items if not is_native_target(self._engine, i.target)]
        grouped: dict[str, list[ProtectedItem]] = {}
        for item in items:
            grouped.setdefault(item.replication_group or f"item:{item.item_id}", []).append(item)
        return [
            _Group(tuple(members), policies[members[0].policy])
            for members in grouped.values()
            if members[0].policy in policies
        ]

    def _is_due(self, group: _Group, now: float) -> bool:
        last = self._last_cycle(group.item_ids)
        return last is None or now - last >= group.policy.cycle_seconds

    def _last_cycle(self, item_ids: Sequence[str]) -> float | None:
        times = [o.at for i in item_ids for o in recent_outcomes(self._engine, i)]
        return max(times, default=None)

    def _cycle(self, group: _Group) -> GroupRun:
        consistency = self._consistency(group)
        started = self._engine.clock()
        try:
            run_cycle(self._engine, group.item_ids, consistency=consistency)
        except Exception as exc:
            return self._failed(group, consistency, started, exc)
        return GroupRun(group.item_ids, consistency)

    def _consistency(self, group: _Group) -> Consistency:
        hours = group.policy.app_consistent_frequency_hours
        if not hours:
            return Consistency.CRASH
        with self._engine.store.read() as tx:
            latest = [tx.points.latest(i, Consistency.APP) for i in group.item_ids]
        times = [point.created_at for point in latest if point is not None]
        due = not times or self._engine.clock() - min(times) >= hours * 3600
        return Consistency.APP if due else Consistency.CRASH

    def _failed(
        self, group: _Group, consistency: Consistency, started: float, exc: Exception
    ) -> GroupRun:
        reason = str(exc) if isinstance(exc, SrpError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, SrpError):
            log.exception("cycle of %s failed unexpectedly", ", ".join(group.item_ids))
        else:
            log.warning("cycle of %s failed: %s", ", ".join(group.item_ids), reason)
        # A failure before the engine recorded it still counts as a missed cycle,
        # and moves the next attempt one period later instead of every tick.
        last = self._last_cycle(group.item_ids)
        if last is None or last < started:
            for item_id in group.item_ids:
                add_outcome(self._engine, item_id, CycleOutcome(started, False, reason))
        return GroupRun(group.item_ids, consistency, reason)
