"""The failover family's durable jobs: one kind per operation, one task per machine.

Each task's id is the protected item's id; its handler runs the operation
for that machine, reporting progress and output into the job.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from provider.engine.context import EngineContext
from provider.failover.cancel import run_cancel
from provider.failover.commit import run_commit
from provider.failover.failback import run_failback
from provider.failover.options import FailoverOptions
from provider.failover.planned import run_planned
from provider.failover.reverse import run_reverse
from provider.failover.subject import Reporter
from provider.failover.testfailover import run_cleanup, run_test_failover
from provider.failover.unplanned import run_unplanned
from provider.jobs import JobService, TaskContext, WaitForOperator
from provider.model.job import Job, Task


class JobKind(enum.StrEnum):
    """The job kinds of the failover family."""

    TEST = "failover.test"
    CLEANUP = "failover.cleanup"
    PLANNED = "failover.planned"
    UNPLANNED = "failover.unplanned"
    COMMIT = "failover.commit"
    CANCEL = "failover.cancel"
    REVERSE = "failover.reverse"
    FAILBACK = "failover.failback"


#: One machine's part of an operation: (engine, item id, options, reporter).
Operation = Callable[[EngineContext, str, FailoverOptions, Reporter], object]

OPERATIONS: dict[JobKind, Operation] = {
    JobKind.TEST: run_test_failover,
    JobKind.CLEANUP: lambda ctx, item, _options, out: run_cleanup(ctx, item, out),
    JobKind.PLANNED: run_planned,
    JobKind.UNPLANNED: run_unplanned,
    JobKind.COMMIT: lambda ctx, item, _options, out: run_commit(ctx, item, out),
    JobKind.CANCEL: lambda ctx, item, _options, out: run_cancel(ctx, item, out),
    JobKind.REVERSE: lambda ctx, item, _options, out: run_reverse(ctx, item, out),
    JobKind.FAILBACK: lambda ctx, item, _options, out: run_failback(ctx, item, out),
}


def register_handlers(jobs: JobService, ctx: EngineContext) -> None:
    """Give the job service a handler for every failover job kind."""
    for kind, operation in OPERATIONS.items():
        jobs.register(kind.value, _handler(ctx, operation))


def _handler(
    ctx: EngineContext, operation: Operation
) -> Callable[[Job, Task, TaskContext], WaitForOperator | None]:
    def handle(job: Job, task: Task, context: TaskContext) -> WaitForOperator | None:
        operation(ctx, task.task_id, FailoverOptions.from_params(dict(job.params)), context)
        context.progress(1.0)
        return None

    return handle
