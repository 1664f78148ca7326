"""Test failover (a drill) and its cleanup.

The replica runs on a writable copy-on-write view of the chosen point in an
isolated network, while replication goes on: the item stays replicating in
TEST_FAILOVER, and the view keeps returning the point's bytes whatever the
cycles apply. Cleanup removes every artefact; a second cleanup is a no-op,
and a cleanup that leaves something says what and keeps the item in
TEST_FAILOVER so it can be retried.
"""

from __future__ import annotations

from dataclasses import dataclass

from provider.contracts.declarations import FailoverMode
from provider.contracts.failover import CleanupResult
from provider.engine.context import EngineContext
from provider.errors import FailoverError
from provider.failover.drill import DrillReport, drill_report
from provider.failover.itemstate import check_move, move_item, update_item
from provider.failover.mapping import Placement, choose_test_network, resolve_placement
from provider.failover.options import FailoverOptions
from provider.failover.points import PointChoice, forward_cached, select_point
from provider.failover.replica import create_replica
from provider.failover.rules import require_mode
from provider.failover.subject import Reporter, Subject, load_subject
from provider.model.states import ReplicationState

_R = ReplicationState


@dataclass(frozen=True)
class DrillPlan:
    """A drill checked and ready: the machine and where its replica goes."""

    subject: Subject
    placement: Placement


def check_test_failover(ctx: EngineContext, item_id: str, options: FailoverOptions) -> DrillPlan:
    """Everything a drill needs, refused before anything is touched."""
    subject = load_subject(ctx, item_id)
    require_mode(subject, FailoverMode.TEST)
    check_move(subject.item, _R.TEST_FAILOVER)
    select_point(ctx, subject.item, options.point)
    network = choose_test_network(ctx, subject, options.test_network)
    placement = resolve_placement(
        ctx, subject, allow_unmapped=options.allow_unmapped, test_network=network
    )
    return DrillPlan(subject, placement)


def run_test_failover(
    ctx: EngineContext, item_id: str, options: FailoverOptions, reporter: Reporter
) -> DrillReport:
    """Start the replica at the point in the isolated network and report what it holds."""
    plan = check_test_failover(ctx, item_id, options)
    if options.point.choice is PointChoice.LATEST:
        forward_cached(ctx, item_id)
    point = select_point(ctx, plan.subject.item, options.point)
    reporter.log(f"test failover of {plan.subject.name} to point {point.point_id}")
    reporter.progress(0.2)
    move_item(ctx, item_id, _R.TEST_FAILOVER)
    try:
        result = create_replica(ctx, plan.subject, point, FailoverMode.TEST, plan.placement)
    except BaseException:
        move_item(ctx, item_id, _R.PROTECTED)
        raise
    update_item(ctx, item_id, test_replica_id=result.replica_id)
    report = drill_report(item_id, plan.subject.item.machine_name, point, result)
    reporter.log(report.to_line())
    return report


def run_cleanup(ctx: EngineContext, item_id: str, reporter: Reporter) -> CleanupResult:
    """Remove the drill's machine, views and NICs; a no-op when there is no drill."""
    subject = load_subject(ctx, item_id)
    item = subject.item
    if item.state is not _R.TEST_FAILOVER and not item.test_replica_id:
        reporter.log(f"{subject.name} has no test failover to clean up")
        return CleanupResult(())
    result = CleanupResult(())
    if item.test_replica_id:
        result = ctx.plugins.cleanup_test_failover(subject.target, item_id, item.test_replica_id)
    return conclude_cleanup(ctx, subject, result, reporter)


def conclude_cleanup(
    ctx: EngineContext, subject: Subject, result: CleanupResult, reporter: Reporter
) -> CleanupResult:
    """Log what went; leave TEST_FAILOVER only when nothing is left (else say what is)."""
    for removed in result.removed:
        reporter.log(f"removed {removed}")
    if result.left:
        raise FailoverError(
            f"cleanup of the test failover of {subject.name} is incomplete; left: "
            + "; ".join(result.left),
            hint="fix the cause and run the cleanup again",
        )
    item_id = subject.item.item_id
    if subject.item.state is _R.TEST_FAILOVER:
        move_item(ctx, item_id, _R.PROTECTED, test_replica_id="")
    else:
        update_item(ctx, item_id, test_replica_id="")
    return result
