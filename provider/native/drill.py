"""Test failover (a drill) of native items and its cleanup.

The target starts a test copy of the machine at the chosen point in an
isolated network while its replication goes on: the item stays replicating
in TEST_FAILOVER (refreshes keep recording its points), exactly as on the
HRL path. Cleanup asks the target to remove the copies; a second cleanup is
a no-op, and one that leaves something says what and keeps the item in
TEST_FAILOVER so it can be retried.

The drill report names the point, the copy and the disks the target
materialised. srp holds no source digest for a native point (the target
replicated by itself), so each disk's ``source_digest`` is empty and the
report does not claim ``verified``: the copy's digests are the target's word.
"""

from __future__ import annotations

from dataclasses import dataclass

from provider.contracts.declarations import FailoverMode
from provider.contracts.failover import CleanupResult
from provider.contracts.native import NativeRecovered
from provider.engine.context import EngineContext
from provider.failover.drill import DiskCheck, DrillReport
from provider.failover.itemstate import check_move, move_item, update_item
from provider.failover.options import FailoverOptions
from provider.failover.rules import require_mode
from provider.failover.subject import Reporter, load_subject
from provider.failover.testfailover import conclude_cleanup
from provider.model.states import ReplicationState
from provider.native.failover import NativeFailoverPlan, native_plan, recorded_point
from provider.native.kinds import group_of, require_hook
from provider.native.networks import drill_network
from provider.native.refresh import machine_key

_R = ReplicationState


@dataclass(frozen=True)
class NativeDrillPlan:
    """A native drill checked and ready: the request and the isolated network."""

    plan: NativeFailoverPlan
    network: str


def check_native_test_failover(
    ctx: EngineContext, item_id: str, options: FailoverOptions
) -> NativeDrillPlan:
    """Everything a native drill needs, refused before anything is touched."""
    subject = load_subject(ctx, item_id)
    require_mode(subject, FailoverMode.TEST)
    require_hook(ctx, subject.target.kind, "srp_native_test_failover", "native test failover")
    check_move(subject.item, _R.TEST_FAILOVER)
    network = drill_network(ctx, subject, options.test_network)
    return NativeDrillPlan(native_plan(ctx, subject, options, FailoverMode.TEST, network), network)


def run_native_test_failover(
    ctx: EngineContext, item_id: str, options: FailoverOptions, reporter: Reporter
) -> DrillReport:
    """Ask the target for a test copy at the point in the isolated network; report it."""
    drill = check_native_test_failover(ctx, item_id, options)
    subject = drill.plan.subject
    move_item(ctx, item_id, _R.TEST_FAILOVER)
    reporter.progress(0.3)
    try:
        result = ctx.plugins.native_test_failover(subject.target, drill.plan.request)
        copy = result.machine(machine_key(subject.item))
    except BaseException:
        move_item(ctx, item_id, _R.PROTECTED)
        raise
    update_item(ctx, item_id, test_replica_id=copy.replica_id)
    report = _report(ctx, item_id, subject.item.machine_name, copy, drill.network)
    reporter.log(f"test copy of {subject.name} is {copy.replica_id} at point {copy.point_name}")
    reporter.log(report.to_line())
    return report


def _report(
    ctx: EngineContext, item_id: str, name: str, copy: NativeRecovered, network: str
) -> DrillReport:
    point = recorded_point(ctx, item_id, copy.point_name)
    disks = tuple(DiskCheck(disk.disk_id, "", disk.digest) for disk in copy.disks)
    point_id = point.point_id if point is not None else ""
    return DrillReport(
        item_id, name, point_id, copy.point_time, copy.replica_id, "", "running", (network,), disks
    )


def run_native_cleanup(ctx: EngineContext, item_id: str, reporter: Reporter) -> CleanupResult:
    """Remove the machine's test copy on the target; a no-op when there is no drill."""
    subject = load_subject(ctx, item_id)
    item = subject.item
    if item.state is not _R.TEST_FAILOVER and not item.test_replica_id:
        reporter.log(f"{subject.name} has no test failover to clean up")
        return CleanupResult(())
    result = ctx.plugins.native_cleanup_test(subject.target, group_of(item), (machine_key(item),))
    return conclude_cleanup(ctx, subject, result, reporter)
