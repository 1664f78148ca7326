"""A lab of protected machines for recovery plan tests, and a plugin that records plan events.

Import as ``tests.plans.plan_testkit``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fakes.clock import VirtualClock
from fakes.fabric import SimulatedFabric, SimulatedFabricPlugin, SimulatedMachine
from fakes.workload import write_pattern
from provider.contracts.events import ActionOutcome, PlanActionContext, PlanGroupEvent
from provider.hookspecs import hookimpl
from provider.jobs import JobService
from provider.model.plan import RecoveryPlan
from provider.plans import PlanRunner, parse_plan_text
from tests.failover.failover_testkit import FailoverLab

KIB = 1024
#: One small disk per machine: 128 KiB, two 64 KiB digest blocks.
DISK_SIZE = 128 * KIB
MACHINES = ("db01", "db02", "app01", "app02", "web01", "web02")


@dataclass(eq=False)
class Recorder:
    """Plan group events as (before|after, group, mode, error), and hook actions it answers."""

    events: list[tuple[str, str, str, str]] = field(default_factory=list)
    answers: dict[str, Callable[[PlanActionContext], ActionOutcome]] = field(default_factory=dict)

    @hookimpl
    def srp_before_plan_group(self, event: PlanGroupEvent) -> None:
        self.events.append(("before", event.group.name, event.mode.value, event.error))

    @hookimpl
    def srp_after_plan_group(self, event: PlanGroupEvent) -> None:
        self.events.append(("after", event.group.name, event.mode.value, event.error))

    @hookimpl
    def srp_run_plan_action(self, context: PlanActionContext) -> ActionOutcome | None:
        answer = self.answers.get(context.action.name)
        return None if answer is None else answer(context)


@dataclass
class PlanLab:
    """Six protected machines (one recovery point each), a plan runner and the recorder."""

    lab: FailoverLab
    fabric: SimulatedFabric
    fabric_id: str
    machines: dict[str, SimulatedMachine]
    items: dict[str, str]
    recorder: Recorder
    jobs: JobService
    runner: PlanRunner

    def content(self, name: str) -> dict[str, bytes]:
        machine = self.machines[name]
        return {d: disk.read(0, disk.capacity) for d, disk in machine.disks.items()}

    def store_plan(self, text: str) -> RecoveryPlan:
        plan = parse_plan_text(text, "plan.toml")
        with self.lab.store.unit() as tx:
            tx.plans.add(plan)
        return plan


def three_groups(concurrency: int = 2, extra: str = "") -> str:
    """A plan of the six machines in three groups of two; ``extra`` is appended as is."""
    return f"""
name = "erp"
concurrency = {concurrency}

[[groups]]
name = "databases"
machines = ["db01", "db02"]

[[groups]]
name = "apps"
machines = ["app01", "app02"]

[[groups]]
name = "web"
machines = ["web01", "web02"]
{extra}"""


@contextmanager
def plan_lab(root: Path, names: tuple[str, ...] = MACHINES) -> Iterator[PlanLab]:
    """The machines on a simulated fabric, mapped, protected and replicated once."""
    clock = VirtualClock()
    plugin = SimulatedFabricPlugin("simulated", clock=clock)
    fabric = plugin.add_fabric("sim-01")
    machines = {name: fabric.add_machine(name, disks=[DISK_SIZE]) for name in names}
    for index, machine in enumerate(machines.values()):
        for disk in machine.disks.values():
            write_pattern(disk, 0, DISK_SIZE, seed=index)
    recorder = Recorder()
    with FailoverLab(root, {"simulated": plugin, "recorder": recorder}, clock) as lab:
        fabric_id = lab.register_fabric("simulated", "sim-01", "admin", "secret")
        lab.map_network(fabric_id)
        items = {n: lab.protect(fabric_id, m.machine_id).item_id for n, m in machines.items()}
        lab.cycle(*items.values())
        jobs = JobService(lab.store, clock=clock.now)
        runner = PlanRunner(lab.ctx, jobs)
        yield PlanLab(lab, fabric, fabric_id, machines, items, recorder, jobs, runner)
