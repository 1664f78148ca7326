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

A failback the fabric's setup cannot carry (VMware without a master target)
is refused when it is checked, before the replica or anything else is
stopped: the check asks the fabric's plugin (``srp_check_failback``).
"""

from __future__ import annotations

from provider.engine.context import EngineContext
from provider.errors import FailoverError, SrpError, ValidationError
from provider.failover.itemstate import check_move, move_item
from provider.failover.options import FailoverOptions
from provider.failover.reverse import original_endpoint, replica_endpoint, stop_original
from provider.failover.rules import require_failback_to
from provider.failover.subject import Reporter, Subject, load_subject
from provider.failover.sync import Endpoint, SyncReport, sync_differences
from provider.model.item import Direction
from provider.model.states import ReplicationState

_R = ReplicationState


def check_failback(
    ctx: EngineContext, item_id: str, options: FailoverOptions | None = None
) -> Subject:
    """Only a reverse-protected item fails back, only onto a kind its kind allows, and
    only where the fabric's setup can take the data back; nothing is changed.

    With an alternate host in ``options``, the alternate location's terms apply.
    """
    if options is not None and options.alternate_fabric and not options.alternate_host:
        raise ValidationError(
            f"a failback to fabric {options.alternate_fabric!r} creates a new machine there: "
            "name its host (alternate_host)"
        )
    if options is not None and options.alternate_host:
        # The alternate path builds on this module's steps, so it is imported here.
        from provider.failover.alternate import check_alternate_failback

        return check_alternate_failback(ctx, item_id, options).subject
    subject = load_subject(ctx, item_id)
    if subject.item.direction is not Direction.REVERSE:
        raise FailoverError(
            f"failback of {subject.name} needs a re-protected replica: it is "
            f"{subject.item.state.value} in the forward direction",
            hint="fail over, commit and run reverse replication first",
        )
    require_failback_to(subject, subject.fabric_kind.kind)
    check_move(subject.item, _R.FAILBACK)
    ctx.plugins.check_failback(subject.source, subject.machine)
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
    ctx: EngineContext,
    subject: Subject,
    replica: Endpoint,
    reporter: Reporter,
    state: ReplicationState = _R.PROTECTED,
) -> None:
    """Start the replica again after a failed failback; the item returns to ``state``
    (protected in reverse, or committed when it was never re-protected)."""
    # The replica keeps serving until a failback succeeds: it is the live copy.
    try:
        ctx.plugins.resume_source(replica.connection, replica.machine)
    except SrpError as exc:
        reporter.log(f"replica {replica.machine.name} could not be started again: {exc}")
    finally:
        move_item(ctx, subject.item.item_id, state)


def remove_replica(ctx: EngineContext, subject: Subject, reporter: Reporter) -> None:
    """Remove the replica machine and its views from the target, saying what is left."""
    result = ctx.plugins.cancel_failover(
        subject.target, subject.item.item_id, subject.item.replica_id
    )
    for removed in result.removed:
        reporter.log(f"removed {removed}")
    for left in result.left:
        reporter.log(f"left on the target (remove it by hand): {left}")
