"""Which targets replicate natively, and the replication group an item belongs to."""

from __future__ import annotations

from provider.contracts.declarations import DataPath
from provider.engine.context import EngineContext
from provider.model.item import ProtectedItem


def is_native_target(ctx: EngineContext, target_id: str) -> bool:
    """True when the target's kind declares the native data path."""
    with ctx.store.read() as tx:
        kind = tx.targets.get(target_id).kind
    return ctx.plugins.target_kind(kind).data_path is DataPath.NATIVE


def is_native_item(ctx: EngineContext, item_id: str) -> bool:
    """True when the item is protected toward a native target."""
    with ctx.store.read() as tx:
        target = tx.items.get(item_id).target
    return is_native_target(ctx, target)


def group_of(item: ProtectedItem) -> str:
    """The native group of an item: its replication group, else a group of its own."""
    return item.replication_group or item.item_id
