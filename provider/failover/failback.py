"""Failback: a planned failover back to the original machine, differences only.

The replica is shut down first (nothing written afterwards can be lost),
the blocks that still differ are sent back, the original machine starts,
and the replica machine and its views are removed. The item is then
PROTECTED in the FORWARD direction: change tracking saw every block written
back, so the next cycle ships them to the target and replication goes on.
If a step fails before the original starts, the replica is started again
and the item stays protected in reverse.

With an alternate host in the options, the failback goes to a new machine
instead (:mod:`provider.failover.alternate`): the original is left as it is.
"""

from __future__ import annotations

from provider.engine.context import EngineContext
from provider.errors import FailoverError, SrpError
from provider.failover.itemstate import check_move, move_item
from provider.failover.reverse import original_endpoint, replica_endpoint, stop_original
from provider.failover.rules import require_failback_to
from provider.failover.subject import Reporter, Subject, load_subject
from provider.failover.sync import Endpoint, SyncReport, sync_differences
from provider.model.item import Direction
from provider.model.states import ReplicationState

_R = ReplicationState


def check_failback(ctx: EngineContext, item_id: str) -> Subject:
    """Only a reverse-protected item fails back, and only onto a kind its kind allows."""
    subject = load_subject(ctx, item_id)
    if subject.item.direction is not Direction.REVERSE:
        raise FailoverError(
            f"failback of {subject.name} needs a re-protected replica: it is "
            f"{subject.item.state.value} in the forward direction",
            hint="fail over, commit and run reverse replication first",
        )
    require_failback_to(subject, subject.fabric_kind.kind)
    check_move(subject.item, _R.FAILBACK)
    return subject


def run_failback(ctx: EngineContext, item_id: str, reporter: Reporter) -> SyncReport:
    """Stop the replica, send the differences home, start the original, remove the replica."""
    subject = check_failback(ctx, item_id)
    move_item(ctx, item_id, _R.FAILBACK)
    replica = replica_endpoint(ctx, subject)
    try:
        report = _sync_home(ctx, subject, replica, reporter)
    except BaseException:
        restart_replica(ctx, subject, replica, reporter)
        raise
    remove_replica(ctx, subject, reporter)
    move_item(
        ctx,
        item_id,
        _R.PROTECTED,
        direction=Direction.FORWARD,
        replica_id="",
        failover_point_id="",
        failover_mode="",
    )
    return report


def _sync_home(
    ctx: EngineContext, subject: Subject, replica: Endpoint, reporter: Reporter
) -> SyncReport:
    stopped = ctx.plugins.prepare_failover(replica.connection, replica.machine)
    reporter.log(f"replica {replica.machine.name} is {stopped.power_state}")
    stop_original(ctx, subject, reporter)  # it may have been started since re-protect
    report = sync_differences(ctx, replica, original_endpoint(ctx, subject), reporter)
    ctx.plugins.resume_source(subject.source, subject.machine)
    reporter.log(f"{subject.machine.name} started on its original fabric")
    return report


def restart_replica(
    ctx: EngineContext, subject: Subject, replica: Endpoint, reporter: Reporter
) -> None:
    """Start the replica again after a failed failback; the item stays protected in reverse."""
    # The replica keeps serving until a failback succeeds: it is the live copy.
    try:
        ctx.plugins.resume_source(replica.connection, replica.machine)
    except SrpError as exc:
        reporter.log(f"replica {replica.machine.name} could not be started again: {exc}")
    finally:
        move_item(ctx, subject.item.item_id, _R.PROTECTED)


def remove_replica(ctx: EngineContext, subject: Subject, reporter: Reporter) -> None:
    """Remove the replica machine and its views from the target, saying what is left."""
    result = ctx.plugins.cancel_failover(
        subject.target, subject.item.item_id, subject.item.replica_id
    )
    for removed in result.removed:
        reporter.log(f"removed {removed}")
    for left in result.left:
        reporter.log(f"left on the target (remove it by hand): {left}")
