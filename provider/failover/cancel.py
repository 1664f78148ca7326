"""Cancel: undo a failover that was not committed; the item replicates again.

The replica machine and its views are removed (the replicated disks were
never touched), and a source stopped by a planned failover is started again.
"""

from __future__ import annotations

from provider.contracts.declarations import FailoverMode
from provider.contracts.failover import CleanupResult
from provider.engine.context import EngineContext
from provider.errors import FailoverError
from provider.failover.itemstate import move_item
from provider.failover.subject import Reporter, load_subject
from provider.model.states import ReplicationState

_R = ReplicationState


def check_cancel(ctx: EngineContext, item_id: str) -> None:
    """Only a failed-over, uncommitted item can be cancelled."""
    subject = load_subject(ctx, item_id)
    _require_failed_over(subject.item.state, subject.name)


def run_cancel(ctx: EngineContext, item_id: str, reporter: Reporter) -> CleanupResult:
    """Remove the replica, restart a planned failover's source, and go back to PROTECTED."""
    subject = load_subject(ctx, item_id)
    item = subject.item
    _require_failed_over(item.state, subject.name)
    result = ctx.plugins.cancel_failover(subject.target, item_id, item.replica_id)
    for removed in result.removed:
        reporter.log(f"removed {removed}")
    if result.left:
        raise FailoverError(
            f"cancel of the failover of {subject.name} is incomplete; left: "
            + "; ".join(result.left),
            hint="fix the cause and cancel again",
        )
    if item.failover_mode == FailoverMode.PLANNED.value:
        ctx.plugins.resume_source(subject.source, subject.machine)
        reporter.log(f"source {subject.machine.name} started again")
    move_item(ctx, item_id, _R.PROTECTED, replica_id="", failover_point_id="", failover_mode="")
    return result


def _require_failed_over(state: ReplicationState, name: str) -> None:
    if state is not _R.FAILED_OVER:
        raise FailoverError(
            f"cannot cancel the failover of {name}: it is {state.value}; only a failed-over "
            "item that is not committed can be cancelled"
        )
