"""Unplanned failover: the source is gone; start the replica at a chosen point.

Nothing is asked of the source. ``latest`` first forwards what the process
server still caches; the other choices use what is recorded. If creating
the replica fails, the item returns to the state it came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from provider.contracts.declarations import FailoverMode
from provider.contracts.failover import FailoverResult
from provider.engine.context import EngineContext
from provider.failover.itemstate import check_move, move_item
from provider.failover.mapping import Placement, resolve_placement
from provider.failover.options import FailoverOptions
from provider.failover.points import PointChoice, forward_cached, select_point
from provider.failover.replica import create_replica
from provider.failover.rules import require_mode
from provider.failover.subject import Reporter, Subject, load_subject
from provider.model.states import ReplicationState

_R = ReplicationState


@dataclass(frozen=True)
class UnplannedPlan:
    """An unplanned failover checked and ready."""

    subject: Subject
    placement: Placement


def check_unplanned(ctx: EngineContext, item_id: str, options: FailoverOptions) -> UnplannedPlan:
    """Refuse, before touching anything, a forbidden mode or state, a missing point or mapping."""
    subject = load_subject(ctx, item_id)
    require_mode(subject, FailoverMode.UNPLANNED)
    check_move(subject.item, _R.FAILING_OVER)
    select_point(ctx, subject.item, options.point)
    placement = resolve_placement(ctx, subject, allow_unmapped=options.allow_unmapped)
    return UnplannedPlan(subject, placement)


def run_unplanned(
    ctx: EngineContext, item_id: str, options: FailoverOptions, reporter: Reporter
) -> FailoverResult:
    """Start the replica at the chosen point, without the source."""
    plan = check_unplanned(ctx, item_id, options)
    if options.point.choice is PointChoice.LATEST:
        _forward(ctx, item_id, reporter)
    point = select_point(ctx, plan.subject.item, options.point)
    reporter.log(f"unplanned failover of {plan.subject.name} to point {point.point_id}")
    reporter.progress(0.3)
    came_from = plan.subject.item.state
    move_item(ctx, item_id, _R.FAILING_OVER, failover_mode=FailoverMode.UNPLANNED.value)
    try:
        result = create_replica(ctx, plan.subject, point, FailoverMode.UNPLANNED, plan.placement)
    except BaseException:
        move_item(ctx, item_id, came_from, failover_mode="")
        raise
    move_item(
        ctx, item_id, _R.FAILED_OVER, replica_id=result.replica_id, failover_point_id=point.point_id
    )
    reporter.log(f"replica {result.replica_name} ({result.replica_id}) is {result.power_state}")
    return result


def _forward(ctx: EngineContext, item_id: str, reporter: Reporter) -> None:
    # A failure here stops the failover: "latest" must not quietly mean an older point.
    result = forward_cached(ctx, item_id)
    for point in result.recorded:
        reporter.log(f"forwarded cached changes: point {point.point_id} recorded")
