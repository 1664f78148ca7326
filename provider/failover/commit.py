"""Commit: the failover becomes final; every other recovery point is discarded."""

from __future__ import annotations

from provider.engine.context import EngineContext
from provider.failover.itemstate import check_move, move_item
from provider.failover.subject import Reporter, load_subject
from provider.model.states import ReplicationState

_R = ReplicationState


def check_commit(ctx: EngineContext, item_id: str) -> None:
    """Only a failed-over item can be committed."""
    check_move(load_subject(ctx, item_id).item, _R.COMMITTED)


def run_commit(ctx: EngineContext, item_id: str, reporter: Reporter) -> list[str]:
    """Commit on the target, forget the other points in the vault; returns their ids."""
    subject = load_subject(ctx, item_id)
    check_move(subject.item, _R.COMMITTED)
    item = subject.item
    ctx.plugins.commit_failover(subject.target, item_id, item.replica_id)
    with ctx.store.unit() as tx:
        others = [
            p.point_id for p in tx.points.for_item(item_id) if p.point_id != item.failover_point_id
        ]
        tx.points.remove(others)
    move_item(ctx, item_id, _R.COMMITTED)
    reporter.log(
        f"committed {subject.name} at point {item.failover_point_id}; "
        f"discarded {len(others)} other points"
    )
    return others
