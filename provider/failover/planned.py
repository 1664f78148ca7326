"""Planned failover: shut the source down, replicate the last changes, fail over with no loss.

The source is stopped first (``srp_prepare_failover``), so nothing written
afterwards can be lost; a final cycle through the engine ships what changed
since the last point, and the replica starts at that final point. If any
step fails the source is started again and the item is back in PROTECTED.
"""

from __future__ import annotations

from dataclasses import dataclass

from provider.contracts.declarations import FailoverMode
from provider.contracts.failover import FailoverResult
from provider.engine.context import EngineContext
from provider.engine.cycle import run_cycle
from provider.errors import FailoverError, SrpError
from provider.failover.itemstate import check_move, move_item
from provider.failover.mapping import Placement, resolve_placement
from provider.failover.options import FailoverOptions
from provider.failover.replica import create_replica
from provider.failover.rules import require_mode
from provider.failover.subject import Reporter, Subject, load_subject
from provider.model.recovery import RecoveryPoint
from provider.model.states import ReplicationState

_R = ReplicationState


@dataclass(frozen=True)
class PlannedPlan:
    """A planned failover checked and ready."""

    subject: Subject
    placement: Placement


def check_planned(ctx: EngineContext, item_id: str, options: FailoverOptions) -> PlannedPlan:
    """Refuse, before touching anything, what the scenario, the state or the mappings forbid."""
    subject = load_subject(ctx, item_id)
    require_mode(subject, FailoverMode.PLANNED)
    check_move(subject.item, _R.FAILOVER_PREPARED)
    placement = resolve_placement(ctx, subject, allow_unmapped=options.allow_unmapped)
    return PlannedPlan(subject, placement)


def run_planned(
    ctx: EngineContext, item_id: str, options: FailoverOptions, reporter: Reporter
) -> FailoverResult:
    """Stop the source, take the final cut, and start the replica at it."""
    plan = check_planned(ctx, item_id, options)
    subject = plan.subject
    move_item(ctx, item_id, _R.FAILOVER_PREPARED, failover_mode=FailoverMode.PLANNED.value)
    try:
        stopped = ctx.plugins.prepare_failover(subject.source, subject.machine)
        reporter.log(f"source {subject.machine.name} is {stopped.power_state}")
        reporter.progress(0.3)
        point = _final_point(ctx, subject)
        reporter.log(f"final cycle recorded point {point.point_id}")
        reporter.progress(0.6)
        move_item(ctx, item_id, _R.FAILING_OVER)
        result = create_replica(ctx, subject, point, FailoverMode.PLANNED, plan.placement)
    except BaseException:
        _roll_back(ctx, subject, reporter)
        raise
    move_item(
        ctx, item_id, _R.FAILED_OVER, replica_id=result.replica_id, failover_point_id=point.point_id
    )
    reporter.log(f"replica {result.replica_name} ({result.replica_id}) is {result.power_state}")
    return result


def _final_point(ctx: EngineContext, subject: Subject) -> RecoveryPoint:
    report = run_cycle(ctx, [subject.item.item_id])
    for point in report.recorded:
        if point.item_id == subject.item.item_id and point.cut_id == report.cut_id:
            return point
    raise FailoverError(
        f"planned failover of {subject.name}: the final cycle's point was not recorded "
        f"({report.note or 'its HRLs are not applied yet'}); the source is started again",
        hint="retry once the target is reachable; nothing was lost",
    )


def _roll_back(ctx: EngineContext, subject: Subject, reporter: Reporter) -> None:
    # The item goes back to PROTECTED even when the source does not answer:
    # it can always be failed over again, and the cause is in the job's output.
    try:
        ctx.plugins.resume_source(subject.source, subject.machine)
        reporter.log(f"source {subject.machine.name} started again")
    except SrpError as exc:
        reporter.log(f"source {subject.machine.name} could not be started again: {exc}")
    finally:
        move_item(ctx, subject.item.item_id, _R.PROTECTED, failover_mode="")
