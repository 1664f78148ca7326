"""Benchmark of a recovery plan: 100 machines in 3 groups, test failover, concurrency 1 vs 10.

Usage::

    python benchmarks/bench_plan.py [--smoke] [--machines N] [--concurrency 1,10]

The machines (one 64 KiB disk each) are protected on a simulated fabric
towards the embedded cloud target and replicated once; the plan then runs
as a test failover for each concurrency, with a cleanup of every drill in
between. Each machine's failover is timed where the plan runner calls it.
Reported per run: the total plan time, the sum of the per-machine failover
times and the span of each group (first start to last end of its machines).
``total / sum`` says how much the plan gains from parallel machines (1.0
means none); ``total / slowest group`` compares the plan with its slowest group
(about the number of groups when the plan adds no overhead, since groups
run one after the other). ``--smoke`` runs 12 machines.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import provider.plans.runner as plan_runner
from fakes.clock import VirtualClock
from fakes.fabric import SimulatedFabricPlugin
from fakes.workload import write_pattern
from provider.contracts.declarations import FailoverMode
from provider.jobs import JobService
from provider.model.job import JobState
from provider.model.plan import PlanGroup, RecoveryPlan
from provider.plans import PlanRunner
from tests.failover.failover_testkit import FailoverLab

DISK = 64 * 1024
GROUPS = 3


@dataclass
class Timings:
    """Start and end of each machine's failover, by item id (monotonic seconds)."""

    spans: dict[str, tuple[float, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item_id: str, start: float, end: float) -> None:
        with self.lock:
            self.spans[item_id] = (start, end)


@dataclass(frozen=True)
class Figures:
    concurrency: int
    total: float
    machine_sum: float
    group_spans: tuple[float, ...]

    @property
    def slowest_group(self) -> float:
        return max(self.group_spans)


@contextmanager
def timed_failovers(timings: Timings) -> Iterator[None]:
    real: Callable[..., None] = plan_runner.fail_over_machine

    def timed(ctx: object, item_id: str, *args: object) -> None:
        start = time.monotonic()
        real(ctx, item_id, *args)
        timings.add(item_id, start, time.monotonic())

    plan_runner.fail_over_machine = timed  # type: ignore[assignment]
    try:
        yield
    finally:
        plan_runner.fail_over_machine = real  # type: ignore[assignment]


def build(root: Path, machines: int) -> tuple[FailoverLab, dict[str, str]]:
    clock = VirtualClock()
    plugin = SimulatedFabricPlugin("simulated", clock=clock)
    fabric = plugin.add_fabric("sim-01")
    vms = {f"vm{n:03}": fabric.add_machine(f"vm{n:03}", disks=[DISK]) for n in range(machines)}
    for n, vm in enumerate(vms.values()):
        write_pattern(next(iter(vm.disks.values())), 0, DISK, seed=n)
    lab = FailoverLab(root, {"simulated": plugin}, clock)
    fabric_id = lab.register_fabric("simulated", "sim-01", "admin", "secret")
    lab.map_network(fabric_id)
    items = {name: lab.protect(fabric_id, vm.machine_id).item_id for name, vm in vms.items()}
    lab.cycle(*items.values())
    return lab, items


def plan_of(names: list[str], concurrency: int) -> RecoveryPlan:
    size = -(-len(names) // GROUPS)
    groups = tuple(
        PlanGroup(f"group{g + 1}", tuple(names[g * size : (g + 1) * size])) for g in range(GROUPS)
    )
    return RecoveryPlan(f"bench-c{concurrency}", groups, concurrency)


def run_once(lab: FailoverLab, items: dict[str, str], concurrency: int) -> Figures:
    plan = plan_of(sorted(items), concurrency)
    with lab.store.unit() as tx:
        tx.plans.add(plan)
    runner = PlanRunner(lab.ctx, JobService(lab.store, clock=lab.virtual_clock.now))
    timings = Timings()
    with timed_failovers(timings):
        start = time.monotonic()
        job = runner.run(plan.name, FailoverMode.TEST)
        total = time.monotonic() - start
    if job.state is not JobState.SUCCEEDED:
        raise SystemExit(f"plan failed: {job.error}")
    lab.failover.cleanup_test_failover(list(items.values()))
    return Figures(concurrency, total, *_sums(plan, items, timings))


def _sums(
    plan: RecoveryPlan, items: dict[str, str], timings: Timings
) -> tuple[float, tuple[float, ...]]:
    machine_sum = sum(end - start for start, end in timings.spans.values())
    spans = []
    for group in plan.groups:
        own = [timings.spans[items[name]] for name in group.machines]
        spans.append(max(end for _, end in own) - min(start for start, _ in own))
    return machine_sum, tuple(spans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="12 machines")
    parser.add_argument("--machines", type=int, default=100)
    parser.add_argument("--concurrency", default="1,10")
    args = parser.parse_args()
    machines = 12 if args.smoke else args.machines
    with tempfile.TemporaryDirectory(prefix="srp-bench-plan-") as tmp:
        started = time.monotonic()
        lab, items = build(Path(tmp), machines)
        print(f"{machines} machines protected in {time.monotonic() - started:.1f} s")
        with lab:
            for width in (int(c) for c in args.concurrency.split(",")):
                report(run_once(lab, items, width))


def report(f: Figures) -> None:
    groups = ", ".join(f"{s:.2f}" for s in f.group_spans)
    print(
        f"concurrency {f.concurrency:>3}: plan {f.total:7.2f} s | sum of machines "
        f"{f.machine_sum:7.2f} s (plan/sum {f.total / f.machine_sum:.2f}) | groups [{groups}] s "
        f"(plan/slowest group {f.total / f.slowest_group:.2f})"
    )


if __name__ == "__main__":
    main()
