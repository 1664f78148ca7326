"""Failback of native items: a planned failover back home for a group replicating in reverse.

The target shuts the running replica down, ships its last changes to the
original machine (nothing is lost), starts the original and resumes
forward replication (``srp_native_failover`` with mode ``FAILBACK``). The
item goes PROTECTED (reversed) -> FAILBACK -> PROTECTED, forward, known by
its own machine id again; the points of the reverse direction leave the
vault as the target dropped them, and the forward points are whatever the
target reports next. A failed request leaves the item protected in reverse.
"""

from __future__ import annotations

from provider.contracts.declarations import FailoverMode
from provider.contracts.native import NativeFailover, NativeRecovered
from provider.contracts.native import PointChoice as NativeChoice
from provider.engine.context import EngineContext
from provider.errors import FailoverError, NotSupported
from provider.failover.itemstate import check_move, move_item
from provider.failover.options import FailoverOptions
from provider.failover.rules import require_failback_to
from provider.failover.subject import Reporter, Subject, load_subject
from provider.model.item import Direction
from provider.model.states import ReplicationState
from provider.native.kinds import group_of
from provider.native.refresh import machine_key, refresh_group

_R = ReplicationState


def check_native_failback(ctx: EngineContext, item_id: str, options: FailoverOptions) -> Subject:
    """Only a reverse-protected item fails back, home, onto a kind its kind allows."""
    subject = load_subject(ctx, item_id)
    if options.alternate_host:
        raise NotSupported(
            f"failback of {subject.name} to an alternate host is not supported on a natively "
            "replicating target: it fails back to the original machine"
        )
    if subject.item.direction is not Direction.REVERSE:
        raise FailoverError(
            f"failback of {subject.name} needs a re-protected replica: it is "
            f"{subject.item.state.value} in the forward direction",
            hint="fail over, commit and run reverse replication first",
        )
    require_failback_to(subject, subject.fabric_kind.kind)
    check_move(subject.item, _R.FAILBACK)
    return subject


def failback_request(subject: Subject) -> NativeFailover:
    """Every change of the replica goes home; the machine's NICs stay on their own networks."""
    own = tuple(sorted({(nic.network_id, nic.network_id) for nic in subject.machine.nics}))
    return NativeFailover(
        group_of(subject.item),
        (machine_key(subject.item),),
        NativeChoice.LATEST_TIME,
        FailoverMode.FAILBACK,
        networks=own,
    )


def run_native_failback(
    ctx: EngineContext, item_id: str, options: FailoverOptions, reporter: Reporter
) -> NativeRecovered:
    """Bring the machine home with every change; forward replication resumes."""
    subject = check_native_failback(ctx, item_id, options)
    move_item(ctx, item_id, _R.FAILBACK)
    reporter.progress(0.3)
    try:
        result = ctx.plugins.native_failover(subject.target, failback_request(subject))
        home = result.machine(machine_key(subject.item))
    except BaseException:
        move_item(ctx, item_id, _R.PROTECTED)
        raise
    with ctx.store.unit() as tx:
        # The target keeps no point from the reverse direction: neither does the vault.
        tx.points.remove([p.point_id for p in tx.points.for_item(item_id)])
    move_item(
        ctx,
        item_id,
        _R.PROTECTED,
        direction=Direction.FORWARD,
        replica_id="",
        failover_point_id="",
        failover_mode="",
    )
    refresh_group(ctx, subject.item.target, group_of(subject.item))
    reporter.log(f"{subject.name} failed back to {home.replica_id}; forward replication resumes")
    return home
