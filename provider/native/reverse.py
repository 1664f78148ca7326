"""Reverse replication of native items, after a committed unplanned failover.

An unplanned failover leaves the machine unprotected (the target forgot
it). Reverse asks the target to replicate the running replica back toward
the original site, differences only: the item goes COMMITTED ->
REVERSE_REPLICATION, is known by its replica's id from then on
(``Direction.REVERSE``), and follows what the target reports: PROTECTED
(reversed) once the target says the reverse copy is in place. A refused
request leaves the item COMMITTED, forward, as it was.
"""

from __future__ import annotations

from dataclasses import replace

from provider.engine.context import EngineContext
from provider.failover.itemstate import check_move, move_item
from provider.failover.rules import require_reverse
from provider.failover.subject import Reporter, Subject, load_subject
from provider.model.item import Direction, ProtectedItem
from provider.model.states import ReplicationState
from provider.native.kinds import group_of, require_hook
from provider.native.refresh import apply_group_state, refresh_group

_R = ReplicationState


def check_native_reverse(ctx: EngineContext, item_id: str) -> Subject:
    """Only a committed failover of a kind that replicates back can be re-protected."""
    subject = load_subject(ctx, item_id)
    require_reverse(subject)
    require_hook(ctx, subject.target.kind, "srp_native_reverse", "native reverse replication")
    check_move(subject.item, _R.REVERSE_REPLICATION)
    return subject


def run_native_reverse(ctx: EngineContext, item_id: str, reporter: Reporter) -> ProtectedItem:
    """Have the target replicate the replica back; the item follows its report."""
    subject = check_native_reverse(ctx, item_id)
    item = subject.item
    move_item(ctx, item_id, _R.REVERSE_REPLICATION, direction=Direction.REVERSE)
    reporter.progress(0.3)
    try:
        state = ctx.plugins.native_reverse(subject.target, group_of(item), (item.machine_id,))
    except BaseException:
        move_item(ctx, item_id, _R.COMMITTED, direction=Direction.FORWARD)
        raise
    _forget_forward_points(ctx, item_id)
    apply_group_state(ctx, state, {item.replica_id: item_id})
    refresh_group(ctx, item.target, group_of(item))
    with ctx.store.read() as tx:
        reversed_item = tx.items.get(item_id)
    reporter.log(
        f"{subject.name} replicates back from {item.replica_id}: {reversed_item.state.value}"
    )
    return reversed_item


def _forget_forward_points(ctx: EngineContext, item_id: str) -> None:
    # The committed point belonged to the forward direction, which the target dropped.
    with ctx.store.unit() as tx:
        tx.points.remove([p.point_id for p in tx.points.for_item(item_id)])
        item = tx.items.get(item_id)
        tx.items.update(replace(item, failover_point_id=""))
