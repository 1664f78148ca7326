"""Job handlers of the service: initial replication, with progress into the task.

``protect`` submits one ``initial-replication`` job with a task per machine
(the task id is the protected item's id). The task runs the item's first
cycle, a full copy, and reports its progress in bytes. It is resumable: the
engine's markers make a repeated first cycle continue, never duplicate.

Toward a native target (InMage, Hyper-V Replica) srp copies nothing: the
target makes the initial copy by itself. The task then refreshes the item's
group from the target (``provider.native.refresh_group``) until the target
reports the item protected, its progress being the share of the largest
backlog the target reported that it has since taken in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from provider.engine.context import EngineContext
from provider.engine.cycle import run_cycle
from provider.errors import JobError, ReplicationError
from provider.jobs.context import TaskContext
from provider.jobs.handlers import Handler
from provider.jobs.service import JobService
from provider.jobs.signals import WaitForOperator
from provider.model.item import ProtectedItem
from provider.model.job import Job, Task
from provider.model.states import ReplicationState
from provider.native.kinds import group_of, is_native_item
from provider.native.refresh import GroupRefresh, group_items, machine_key, refresh_group
from provider.service.gate import ItemGate

INITIAL_REPLICATION = "initial-replication"
_R = ReplicationState


@dataclass(frozen=True)
class NativePolling:
    """How often a native item's initial copy is asked about, and for how long.

    The interval doubles from ``first`` to ``longest`` (seconds): a small
    copy is seen done at once, a long one does not load the target with
    questions. Past ``give_up_after`` seconds the task fails; resuming the
    job continues waiting (the target kept copying meanwhile).
    """

    first: float = 0.05
    longest: float = 5.0
    give_up_after: float = 6 * 3600.0


def register_handlers(
    jobs: JobService,
    engine: EngineContext,
    gate: ItemGate,
    *,
    polling: NativePolling = NativePolling(),
) -> None:
    """Give the job service the handlers of the service's job kinds."""
    jobs.register(INITIAL_REPLICATION, initial_replication(engine, gate, polling), resumable=True)


def initial_replication(
    engine: EngineContext, gate: ItemGate, polling: NativePolling = NativePolling()
) -> Handler:
    """The handler: one item's first copy, done once the item is protected."""

    def handle(job: Job, task: Task, context: TaskContext) -> WaitForOperator | None:
        if is_native_item(engine, task.task_id):
            NativeCopyWatch(engine, gate, polling).wait(_item(engine, task.task_id), context)
            return None
        with gate.holding([task.task_id]):
            item = _item(engine, task.task_id)
            if item.last_point_at is not None:
                context.log(f"{item.machine_name} already has a recovery point")
                return None
            _first_cycle(engine, item, context)
        return None

    return handle


def _first_cycle(engine: EngineContext, item: ProtectedItem, context: TaskContext) -> None:
    def progress(fraction: float, label: str) -> None:
        context.progress(min(1.0, max(0.0, fraction)))

    report = run_cycle(engine, [item.item_id], progress=progress)
    if _item(engine, item.item_id).last_point_at is None:
        reason = report.note or "the target has not applied every disk yet"
        raise ReplicationError(
            f"the first copy of {item.machine_name} was shipped but no recovery point is "
            f"recorded: {reason}",
            hint=f"resume the job with `srp job resume {context.job_id} --retry`",
        )
    points = ", ".join(point.point_id for point in report.recorded)
    context.log(f"{item.machine_name}: {report.bytes_shipped} bytes shipped; points: {points}")


class NativeCopyWatch:
    """Waits for a native target to finish an item's initial copy, refreshing its group."""

    def __init__(
        self,
        engine: EngineContext,
        gate: ItemGate,
        polling: NativePolling,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._gate = gate
        self._polling = polling
        self._sleep = sleep
        self._monotonic = monotonic

    def wait(self, item: ProtectedItem, context: TaskContext) -> None:
        """Return once the item is protected; raise when it cannot become so."""
        deadline = self._monotonic() + self._polling.give_up_after
        interval, largest = self._polling.first, 0
        while (refreshed := self._refresh(item)) is not None:
            largest = max(largest, self._pending(refreshed, item))
            context.progress(_copied(self._pending(refreshed, item), largest))
            self._check_waiting(item, context, deadline)
            self._sleep(interval)
            interval = min(interval * 2, self._polling.longest)
        context.progress(1.0)
        context.log(f"{item.machine_name}: the target reports the initial copy done")

    def _refresh(self, item: ProtectedItem) -> GroupRefresh | None:
        """Refresh the group; None once the item is protected."""
        group = group_of(item)
        members = [i.item_id for i in group_items(self._engine, item.target, group)]
        # The scheduler refreshes native groups too: one refresh of a group at a time.
        with self._gate.holding(members):
            refreshed = refresh_group(self._engine, item.target, group)
        now = _item(self._engine, item.item_id)
        if now.state is _R.PROTECTED:
            return None
        if now.state is not _R.INITIAL_REPLICATION:
            raise ReplicationError(
                f"the initial copy of {item.machine_name} stopped: the item is "
                f"{now.state.value} ({_reported(refreshed, item)})",
                hint="see `srp status` for the target's reason",
            )
        return refreshed

    def _pending(self, refreshed: GroupRefresh, item: ProtectedItem) -> int:
        reported = [m for m in refreshed.state.machines if m.machine_id == machine_key(item)]
        return reported[0].pending_bytes if reported else 0

    def _check_waiting(self, item: ProtectedItem, context: TaskContext, deadline: float) -> None:
        if context.cancel_requested:
            raise JobError(f"initial replication of {item.machine_name} cancelled while waiting")
        if self._monotonic() >= deadline:
            raise ReplicationError(
                f"the target has not finished the initial copy of {item.machine_name} "
                f"after {self._polling.give_up_after:g} s",
                hint=f"resume the job with `srp job resume {context.job_id} --retry`",
            )


def _copied(pending: int, largest: int) -> float:
    # The backlog only shrinks once the copy runs: the share taken in of the largest seen.
    return 0.0 if largest == 0 else min(1.0, max(0.0, 1.0 - pending / largest))


def _reported(refreshed: GroupRefresh, item: ProtectedItem) -> str:
    for machine in refreshed.state.machines:
        if machine.machine_id == machine_key(item):
            said = machine.detail or machine.state.value
            return f"target says {said}: {machine.reason or 'no reason given'}"
    return "the target does not report it"


def _item(engine: EngineContext, item_id: str) -> ProtectedItem:
    with engine.store.read() as tx:
        return tx.items.get(item_id)
