"""Moving a protected item through the replication state table, naming the machine."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from provider.engine.context import EngineContext
from provider.model.item import ProtectedItem
from provider.model.states import REPLICATION_TABLE, ReplicationState
from provider.model.transitions import check_transition


def check_move(item: ProtectedItem, wanted: ReplicationState) -> None:
    """Raise InvalidTransition, naming the machine, unless the table allows the move."""
    owner = f"{item.machine_name} ({item.item_id})"
    check_transition(owner, REPLICATION_TABLE, item.state, wanted)


def move_item(
    ctx: EngineContext, item_id: str, wanted: ReplicationState, **changes: Any
) -> ProtectedItem:
    """Move the stored item to ``wanted`` (with other field changes), checked, in one unit."""
    with ctx.store.unit() as tx:
        item = tx.items.get(item_id)
        check_move(item, wanted)
        moved = replace(item, state=wanted, **changes)
        tx.items.update(moved)
    return moved


def update_item(ctx: EngineContext, item_id: str, **changes: Any) -> ProtectedItem:
    """Change fields of the stored item without moving its state."""
    with ctx.store.unit() as tx:
        item = replace(tx.items.get(item_id), **changes)
        tx.items.update(item)
    return item
