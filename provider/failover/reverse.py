"""Reverse replication (re-protect): the committed replica becomes the source.

The target describes the replica as a source (``srp_reverse_replication``:
a fabric kind, an address, the machine); the blocks where the original
machine differs from it are sent back, and nothing else. The item is then
PROTECTED in the REVERSE direction, ready to fail back.
"""

from __future__ import annotations

from provider.contracts.connection import FabricConnection
from provider.contracts.replica import DiskMarker
from provider.engine.context import EngineContext
from provider.failover.itemstate import check_move, move_item
from provider.failover.rules import require_reverse
from provider.failover.subject import Reporter, Subject, load_subject
from provider.failover.sync import Endpoint, SyncReport, sync_differences
from provider.model.item import Direction
from provider.model.states import ReplicationState

_R = ReplicationState


def check_reverse(ctx: EngineContext, item_id: str) -> None:
    """Only a committed failover of a kind that replicates back can be re-protected, and
    only where the fabric's setup can take the writes back (they go the failback's way)."""
    subject = load_subject(ctx, item_id)
    require_reverse(subject)
    check_move(subject.item, _R.REVERSE_REPLICATION)
    ctx.plugins.check_failback(subject.source, subject.machine)


def run_reverse(ctx: EngineContext, item_id: str, reporter: Reporter) -> SyncReport:
    """Send the replica's differing blocks back to the original machine."""
    check_reverse(ctx, item_id)
    subject = load_subject(ctx, item_id)
    move_item(ctx, item_id, _R.REVERSE_REPLICATION)
    try:
        stop_original(ctx, subject, reporter)
        report = sync_differences(
            ctx, replica_endpoint(ctx, subject), original_endpoint(ctx, subject), reporter
        )
    except BaseException:
        move_item(ctx, item_id, _R.COMMITTED)
        raise
    move_item(ctx, item_id, _R.PROTECTED, direction=Direction.REVERSE)
    return report


def stop_original(ctx: EngineContext, subject: Subject, reporter: Reporter) -> None:
    """Shut the original machine down before its disks are written.

    The replica is the live machine now: the original must not run (two
    copies of one machine on a network), and no fabric writes under a
    running machine's disks.
    """
    stopped = ctx.plugins.prepare_failover(subject.source, subject.machine)
    reporter.log(f"original {subject.machine.name} is {stopped.power_state}")


def replica_endpoint(ctx: EngineContext, subject: Subject) -> Endpoint:
    """The replica machine, reached as a source through the target's plugin."""
    reverse = ctx.plugins.reverse_replication(
        subject.target, subject.item.item_id, subject.item.replica_id
    )
    connection = FabricConnection(
        subject.item.target,
        reverse.connection_kind,
        reverse.address,
        options=subject.target.options,
    )
    return Endpoint(connection, reverse.machine)


def original_endpoint(ctx: EngineContext, subject: Subject) -> Endpoint:
    """The original machine, with the markers its change tracking continues from."""
    with ctx.store.read() as tx:
        markers = tx.items.markers(subject.item.item_id)
    cut_markers = tuple(
        DiskMarker(subject.machine.machine_id, marker.disk_id, marker.last_cut_id)
        for marker in markers
    )
    return Endpoint(subject.source, subject.machine, cut_markers)
