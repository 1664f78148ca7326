"""One machine's part of a plan: the failover function of the plan's mode, run once.

A machine whose item is already where the mode leads (a drill running,
failed over, failed back) was done by an earlier run of this job, one cut
short by a failure, a cancel or a restart: its step succeeds without
touching it again, so a resumed plan never fails a machine over twice.
"""

from __future__ import annotations

from collections.abc import Callable

from provider.contracts.declarations import FailoverMode
from provider.engine.context import EngineContext
from provider.errors import SrpError
from provider.failover.failback import check_failback, run_failback
from provider.failover.options import FailoverOptions
from provider.failover.planned import check_planned, run_planned
from provider.failover.subject import Reporter
from provider.failover.testfailover import check_test_failover, run_test_failover
from provider.failover.unplanned import check_unplanned, run_unplanned
from provider.model.item import Direction, ProtectedItem
from provider.model.states import ReplicationState

_R = ReplicationState
Operation = Callable[[EngineContext, str, FailoverOptions, Reporter], object]
Check = Callable[[EngineContext, str, FailoverOptions], object]

_OPERATIONS: dict[FailoverMode, Operation] = {
    FailoverMode.TEST: run_test_failover,
    FailoverMode.PLANNED: run_planned,
    FailoverMode.UNPLANNED: run_unplanned,
    FailoverMode.FAILBACK: lambda ctx, item, _options, out: run_failback(ctx, item, out),
}
_CHECKS: dict[FailoverMode, Check] = {
    FailoverMode.TEST: check_test_failover,
    FailoverMode.PLANNED: check_planned,
    FailoverMode.UNPLANNED: check_unplanned,
    FailoverMode.FAILBACK: lambda ctx, item, _options: check_failback(ctx, item),
}


def already_done(item: ProtectedItem, mode: FailoverMode) -> bool:
    """True when the item is already where a failover in ``mode`` leaves it."""
    if mode is FailoverMode.TEST:
        return item.state is _R.TEST_FAILOVER and bool(item.test_replica_id)
    if mode is FailoverMode.FAILBACK:
        return item.state is _R.PROTECTED and item.direction is Direction.FORWARD
    return item.state is _R.FAILED_OVER and item.failover_mode == mode.value


def machine_problem(
    ctx: EngineContext, item_id: str, mode: FailoverMode, options: FailoverOptions
) -> str:
    """Why the machine cannot fail over in ``mode`` now ("" when it can)."""
    try:
        _CHECKS[mode](ctx, item_id, options)
    except SrpError as exc:
        return str(exc)
    return ""


def fail_over_machine(
    ctx: EngineContext,
    item_id: str,
    mode: FailoverMode,
    options: FailoverOptions,
    reporter: Reporter,
) -> None:
    """Run the mode's failover of one machine, unless an earlier run already did."""
    with ctx.store.read() as tx:
        item = tx.items.get(item_id)
    if already_done(item, mode):
        reporter.log(f"{item.machine_name} is already {item.state.value}: nothing to do")
    else:
        _OPERATIONS[mode](ctx, item_id, options, reporter)
    reporter.progress(1.0)
