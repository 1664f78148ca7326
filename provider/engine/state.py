"""Item state and health bookkeeping the cycle does in the vault."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from provider.engine.context import EngineContext
from provider.engine.group import Group
from provider.engine.health import CycleOutcome, assess
from provider.engine.outcomes import add_outcome
from provider.model.item import ProtectedItem
from provider.model.states import Health, HealthReport, ReplicationState
from provider.store.unit import Unit

_R = ReplicationState

#: Where an item goes when a cycle starts resynchronizing it.
_RESYNC_PATH = {
    _R.PROTECTED: (_R.RESYNC_REQUIRED, _R.RESYNCHRONIZING),
    _R.INITIAL_REPLICATION: (_R.RESYNC_REQUIRED, _R.RESYNCHRONIZING),
    _R.RESYNC_REQUIRED: (_R.RESYNCHRONIZING,),
}


def set_states(tx: Unit, group: Group, resyncing: Iterable[str]) -> None:
    """Move items whose disks are being resynchronized into RESYNCHRONIZING."""
    wanted = set(resyncing)
    for member in group.members:
        item = tx.items.get(member.item.item_id)
        if item.item_id in wanted:
            tx.items.update(walk(item, _RESYNC_PATH.get(item.state, ())))


def walk(item: ProtectedItem, path: Iterable[ReplicationState]) -> ProtectedItem:
    """Apply a sequence of transitions, each checked against the table."""
    for state in path:
        item = item.moved_to(state)
    return item


def mark_resync_required(tx: Unit, item_id: str, reason: str) -> None:
    """Flag an item for resynchronization with the reason in its health."""
    item = tx.items.get(item_id)
    if item.state in (_R.PROTECTED, _R.INITIAL_REPLICATION, _R.RESYNCHRONIZING):
        item = item.moved_to(_R.RESYNC_REQUIRED)
    health = item.health.raised("resync", Health.CRITICAL, f"resynchronization required: {reason}")
    tx.items.update(replace(item, health=health))


def record_outcome(ctx: EngineContext, group: Group, outcome: CycleOutcome) -> None:
    """Remember the cycle's outcome and reassess every member's health."""
    with ctx.store.unit() as tx:
        for member in group.members:
            window = add_outcome(ctx, member.item.item_id, outcome)
            item = tx.items.get(member.item.item_id)
            health = assess(item.health, group.policy, outcome.at, item.last_point_at, window)
            health = _cache_rule(ctx, item.item_id, health)
            health = _capacity_rule(ctx, item.item_id, outcome.at, health)
            tx.items.update(replace(item, health=health))


def _cache_rule(ctx: EngineContext, item_id: str, health: HealthReport) -> HealthReport:
    cache = ctx.cache_for(item_id)
    usage = cache.usage()
    if usage.fraction < cache.warn_fraction:
        return health.cleared("cache")
    server = ctx.pool.server_for(item_id).name
    return health.raised(
        "cache",
        Health.WARNING,
        f"process server {server} cache is {usage.fraction:.0%} full ({usage.used_bytes} "
        "bytes): the target is not keeping up",
    )


def _capacity_rule(
    ctx: EngineContext, item_id: str, now: float, health: HealthReport
) -> HealthReport:
    load = ctx.pool.load_of(item_id, now)
    if load.fraction <= 1.0:
        return health.cleared("process-server")
    return health.raised(
        "process-server",
        Health.WARNING,
        f"process server {load.server.name} is over its capacity: {load.bytes_last_day} bytes "
        f"of churn in the last day for {load.server.capacity_per_day} a day "
        f"({load.items} items); add a process server",
    )


def raise_quiesce(ctx: EngineContext, group: Group, note: str) -> None:
    """An app-consistent cut fell back to crash-consistent: say so on every member."""
    with ctx.store.unit() as tx:
        for member in group.members:
            item = tx.items.get(member.item.item_id)
            health = item.health.raised(
                "quiesce", Health.WARNING, f"no app-consistent point: {note}"
            )
            tx.items.update(replace(item, health=health))
