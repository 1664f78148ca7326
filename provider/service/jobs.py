"""Job handlers of the service: initial replication, with progress into the task.

``protect`` submits one ``initial-replication`` job with a task per machine
(the task id is the protected item's id). The task runs the item's first
cycle, a full copy, and reports its progress in bytes. It is resumable: the
engine's markers make a repeated first cycle continue, never duplicate.
"""

from __future__ import annotations

from provider.engine.context import EngineContext
from provider.engine.cycle import run_cycle
from provider.errors import ReplicationError
from provider.jobs.context import TaskContext
from provider.jobs.handlers import Handler
from provider.jobs.service import JobService
from provider.jobs.signals import WaitForOperator
from provider.model.item import ProtectedItem
from provider.model.job import Job, Task
from provider.service.gate import ItemGate

INITIAL_REPLICATION = "initial-replication"


def register_handlers(jobs: JobService, engine: EngineContext, gate: ItemGate) -> None:
    """Give the job service the handlers of the service's job kinds."""
    jobs.register(INITIAL_REPLICATION, initial_replication(engine, gate), resumable=True)


def initial_replication(engine: EngineContext, gate: ItemGate) -> Handler:
    """The handler: one item's first cycle, done once it has a recovery point."""

    def handle(job: Job, task: Task, context: TaskContext) -> WaitForOperator | None:
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


def _item(engine: EngineContext, item_id: str) -> ProtectedItem:
    with engine.store.read() as tx:
        return tx.items.get(item_id)
