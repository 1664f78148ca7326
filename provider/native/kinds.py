"""Which targets replicate natively, and the replication group an item belongs to."""

from __future__ import annotations

from provider.contracts.declarations import DataPath
from provider.engine.context import EngineContext
from provider.errors import NotSupported
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


def implements(ctx: EngineContext, target_kind: str, hook: str) -> bool:
    """True when the plugin serving the target kind implements the hook.

    The native family grew (test failover, reverse): a plugin written before
    may serve a native kind without them, and the core refuses up front.
    """
    return any(
        target_kind in info.target_kinds and hook in info.hooks for info in ctx.plugins.plugins()
    )


def require_hook(ctx: EngineContext, target_kind: str, hook: str, what: str) -> None:
    """Refuse an operation the target kind's plugin does not implement, naming both."""
    if not implements(ctx, target_kind, hook):
        raise NotSupported(
            f"{what} is not supported: the plugin serving target kind {target_kind!r} "
            f"does not implement {hook}"
        )
