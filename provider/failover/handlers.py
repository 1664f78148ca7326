"""The failover family's durable jobs: one kind per operation, one task per machine.

Each task's id is the protected item's id; its handler runs the operation
for that machine, reporting progress and output into the job.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from provider.engine.context import EngineContext
from provider.errors import NotSupported
from provider.failover.alternate import run_alternate_failback
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
from provider.native import drill as native_drill
from provider.native import failback as native_failback
from provider.native import failover as native_failover
from provider.native import reverse as native_reverse
from provider.native.kinds import is_native_item


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
    JobKind.FAILBACK: lambda ctx, item, options, out: (
        run_alternate_failback(ctx, item, options, out)
        if options.alternate_host
        else run_failback(ctx, item, out)
    ),
}


#: The operations a native item runs instead: its target replicates by itself, so the
#: core asks it to roll its replica to a point rather than materialising HRLs. (The
#: lambdas look the functions up when called: provider.native imports this package.)
NATIVE_OPERATIONS: dict[JobKind, Operation] = {
    JobKind.UNPLANNED: lambda ctx, item, options, out: native_failover.run_native_unplanned(
        ctx, item, options, out
    ),
    JobKind.PLANNED: lambda ctx, item, options, out: native_failover.run_native_planned(
        ctx, item, options, out
    ),
    JobKind.COMMIT: lambda ctx, item, _options, out: native_failover.run_native_commit(
        ctx, item, out
    ),
    JobKind.TEST: lambda ctx, item, options, out: native_drill.run_native_test_failover(
        ctx, item, options, out
    ),
    JobKind.CLEANUP: lambda ctx, item, _options, out: native_drill.run_native_cleanup(
        ctx, item, out
    ),
    JobKind.REVERSE: lambda ctx, item, _options, out: native_reverse.run_native_reverse(
        ctx, item, out
    ),
    JobKind.FAILBACK: lambda ctx, item, options, out: native_failback.run_native_failback(
        ctx, item, options, out
    ),
}


def operation_for(ctx: EngineContext, kind: JobKind, item_id: str) -> Operation:
    """The item's operation of this kind: the native one for a native item."""
    if not is_native_item(ctx, item_id):
        return OPERATIONS[kind]
    native = NATIVE_OPERATIONS.get(kind)
    if native is None:
        raise NotSupported(
            f"{kind.value} of item {item_id} is not supported on a natively replicating target"
        )
    return native


def register_handlers(jobs: JobService, ctx: EngineContext) -> None:
    """Give the job service a handler for every failover job kind."""
    for kind in OPERATIONS:
        jobs.register(kind.value, _handler(ctx, kind))


def _handler(
    ctx: EngineContext, kind: JobKind
) -> Callable[[Job, Task, TaskContext], WaitForOperator | None]:
    def handle(job: Job, task: Task, context: TaskContext) -> WaitForOperator | None:
        operation = operation_for(ctx, kind, task.task_id)
        operation(ctx, task.task_id, FailoverOptions.from_params(dict(job.params)), context)
        context.progress(1.0)
        return None

    return handle
