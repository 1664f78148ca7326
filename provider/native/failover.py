"""Failover of native items: the target rolls its replica to a point, the core keeps the books.

The operator's point choice is translated into the target's own terms:
``latest`` asks for the newest data the target holds (which may lie after
its last consistent point), ``latest-processed`` and ``latest-app`` name
the newest recorded point (of any consistency, or app-consistent), and
``named`` names a recorded point. A point recorded for another machine of
the same replication group counts when this machine holds the same
multi-machine point, so every machine of a group lands on one common cut.

Seed rule: after an unplanned failover to a secondary site the machine is
no longer replicated (the target forgot it) and stays unprotected, in
FAILED_OVER then COMMITTED, until reverse replication. A planned failover
(the target shuts the source down first, so nothing is lost) leaves the
machine protected, replicating back (reversed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from provider.contracts.declarations import FailoverMode
from provider.contracts.native import NativeFailover, NativeRecovered
from provider.contracts.native import PointChoice as NativeChoice
from provider.engine.context import EngineContext
from provider.failover.itemstate import check_move, move_item
from provider.failover.options import FailoverOptions
from provider.failover.points import PointChoice, PointSpec, select_point
from provider.failover.rules import require_mode
from provider.failover.subject import Reporter, Subject, load_subject
from provider.model.item import Direction, ProtectedItem
from provider.model.recovery import RecoveryPoint
from provider.model.states import ReplicationState
from provider.native.kinds import group_of
from provider.native.networks import mapped_networks, request_options
from provider.native.refresh import machine_key

_R = ReplicationState


@dataclass(frozen=True)
class NativeFailoverPlan:
    """A native failover checked and ready: the request the target will get."""

    subject: Subject
    request: NativeFailover


def check_native_failover(
    ctx: EngineContext, item_id: str, options: FailoverOptions, mode: FailoverMode
) -> NativeFailoverPlan:
    """Refuse, before touching anything, a mode, state, point or unmapped network."""
    subject = load_subject(ctx, item_id)
    require_mode(subject, mode)
    check_move(subject.item, _R.FAILING_OVER)
    return native_plan(ctx, subject, options, mode)


def native_plan(
    ctx: EngineContext,
    subject: Subject,
    options: FailoverOptions,
    mode: FailoverMode,
    test_network: str = "",
) -> NativeFailoverPlan:
    """The request for the item's machine: its point in the target's terms, its networks."""
    choice, name = _target_point(ctx, subject.item, options.point)
    allow = options.allow_unmapped
    request = NativeFailover(
        group_of(subject.item),
        (machine_key(subject.item),),
        choice,
        mode,
        name,
        networks=mapped_networks(ctx, subject, allow_unmapped=allow),
        options=request_options(allow_unmapped=allow, network=test_network),
    )
    return NativeFailoverPlan(subject, request)


def _target_point(
    ctx: EngineContext, item: ProtectedItem, spec: PointSpec
) -> tuple[NativeChoice, str]:
    if spec.choice is PointChoice.LATEST:
        return NativeChoice.LATEST_TIME, ""
    if spec.choice is PointChoice.NAMED:
        return NativeChoice.NAMED, _named_point(ctx, item, spec.point_id).cut_id
    return NativeChoice.NAMED, select_point(ctx, item, spec).cut_id


def _named_point(ctx: EngineContext, item: ProtectedItem, point_id: str) -> RecoveryPoint:
    with ctx.store.read() as tx:
        named = tx.points.find(point_id)
        owner = tx.items.find(named.item_id) if named is not None else None
        own = tx.points.for_item(item.item_id)
    if named is not None and named.item_id == item.item_id:
        return named
    same_group = owner is not None and group_of(owner) == group_of(item)
    if named is not None and same_group and named.group_cut:
        for point in own:
            if point.group_cut == named.group_cut:
                return point
    return select_point(ctx, item, PointSpec.named(point_id))  # raises, naming the machine


def run_native_unplanned(
    ctx: EngineContext, item_id: str, options: FailoverOptions, reporter: Reporter
) -> NativeRecovered:
    """Roll the machine's replica to the chosen point; the source is not asked anything."""
    plan = check_native_failover(ctx, item_id, options, FailoverMode.UNPLANNED)
    subject = plan.subject
    came_from = subject.item.state
    move_item(ctx, item_id, _R.FAILING_OVER, failover_mode=FailoverMode.UNPLANNED.value)
    reporter.progress(0.3)
    try:
        result = ctx.plugins.native_failover(subject.target, plan.request)
        recovered = result.machine(machine_key(subject.item))
    except BaseException:
        move_item(ctx, item_id, came_from, failover_mode="")
        raise
    move_item(
        ctx,
        item_id,
        _R.FAILED_OVER,
        replica_id=recovered.replica_id,
        failover_point_id=_recorded_id(ctx, item_id, recovered.point_name),
    )
    reporter.log(
        f"{subject.name} recovered as {recovered.replica_id} at point {recovered.point_name}"
    )
    return recovered


def _recorded_id(ctx: EngineContext, item_id: str, point_name: str) -> str:
    # "LatestTime" and the like are no recorded point: the failover point stays unnamed.
    point = recorded_point(ctx, item_id, point_name)
    return point.point_id if point is not None else ""


def recorded_point(ctx: EngineContext, item_id: str, point_name: str) -> RecoveryPoint | None:
    """The item's vault point recorded under the target's point name, if any."""
    with ctx.store.read() as tx:
        points = tx.points.for_item(item_id)
    return next((p for p in reversed(points) if p.cut_id == point_name), None)


def run_native_commit(ctx: EngineContext, item_id: str, reporter: Reporter) -> ProtectedItem:
    """Make the failover final: the vault keeps only the point the replica runs at."""
    with ctx.store.unit() as tx:
        item = tx.items.get(item_id)
        check_move(item, _R.COMMITTED)
        others = [p.point_id for p in tx.points.for_item(item_id)]
        dropped = tx.points.remove(p for p in others if p != item.failover_point_id)
        item = item.moved_to(_R.COMMITTED)
        tx.items.update(item)
    reporter.log(f"{item.machine_name}: failover committed, {dropped} other points discarded")
    return item


#: A planned failover's way back to protected: the target has already replicated back.
_REVERSED_PATH = (_R.FAILED_OVER, _R.COMMITTED, _R.REVERSE_REPLICATION, _R.PROTECTED)


def run_native_planned(
    ctx: EngineContext, item_id: str, options: FailoverOptions, reporter: Reporter
) -> NativeRecovered:
    """The target shuts the source down, fails over without loss and replicates back."""
    plan = check_native_failover(ctx, item_id, options, FailoverMode.PLANNED)
    move_item(ctx, item_id, _R.FAILOVER_PREPARED, failover_mode=FailoverMode.PLANNED.value)
    move_item(ctx, item_id, _R.FAILING_OVER)
    reporter.progress(0.3)
    try:
        result = ctx.plugins.native_failover(plan.subject.target, plan.request)
        recovered = result.machine(machine_key(plan.subject.item))
    except BaseException:
        move_item(ctx, item_id, _R.PROTECTED, failover_mode="")
        raise
    with ctx.store.unit() as tx:
        item = tx.items.get(item_id)
        # The target keeps no point from before the reversal: neither does the vault.
        tx.points.remove([p.point_id for p in tx.points.for_item(item_id)])
        for state in _REVERSED_PATH:
            item = item.moved_to(state)
        tx.items.update(replace(item, replica_id=recovered.replica_id, direction=Direction.REVERSE))
    reporter.log(f"{plan.subject.name} failed over as planned to {recovered.replica_id}, reversed")
    return recovered
