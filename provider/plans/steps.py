"""A plan run laid out as the tasks of its job: pre actions, machines, post actions, per group.

Task ids say where a step is (``g1-pre-1``, ``g1-item-<item id>``,
``g1-post-2``) and names say what it does, so a job listing reads like the
plan. The layout is computed again from the job's parameters whenever a
task runs, so a restarted service lays the job out exactly as it was.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from provider.contracts.declarations import FailoverMode
from provider.model.plan import PlanAction, PlanGroup, RecoveryPlan


class StepKind(enum.StrEnum):
    """Where a step sits in its group."""

    PRE = "pre"
    MACHINE = "item"
    POST = "post"


_VERBS = {
    FailoverMode.TEST: "test failover of",
    FailoverMode.PLANNED: "planned failover of",
    FailoverMode.UNPLANNED: "unplanned failover of",
    FailoverMode.FAILBACK: "failback of",
}


@dataclass(frozen=True)
class Step:
    """One task of a plan job: an action, or one machine's failover."""

    task_id: str
    name: str
    group_index: int
    kind: StepKind
    action: PlanAction | None = None
    item_id: str = ""
    machine: str = ""


@dataclass(frozen=True)
class Layout:
    """Every step of a plan run, in order."""

    plan: RecoveryPlan
    steps: tuple[Step, ...]

    def step(self, task_id: str) -> Step:
        for step in self.steps:
            if step.task_id == task_id:
                return step
        raise KeyError(f"the plan has no step {task_id!r}")

    def group(self, step: Step) -> PlanGroup:
        return self.plan.groups[step.group_index]

    def in_group(self, group_index: int, kind: StepKind | None = None) -> tuple[Step, ...]:
        return tuple(
            s
            for s in self.steps
            if s.group_index == group_index and (kind is None or s.kind is kind)
        )

    def is_first(self, step: Step) -> bool:
        return self.in_group(step.group_index)[0] == step

    def is_last(self, step: Step) -> bool:
        return self.in_group(step.group_index)[-1] == step


def lay_out(plan: RecoveryPlan, items: dict[str, str], mode: FailoverMode) -> Layout:
    """The steps of ``plan`` run in ``mode``; ``items`` maps each machine name to its item id."""
    steps: list[Step] = []
    for index, group in enumerate(plan.groups):
        label = f"group {index + 1} {group.name}"
        steps.extend(_actions(index, label, StepKind.PRE, group.pre))
        steps.extend(
            Step(
                f"g{index + 1}-item-{items[machine]}",
                f"{label}: {_VERBS[mode]} {machine}",
                index,
                StepKind.MACHINE,
                item_id=items[machine],
                machine=machine,
            )
            for machine in group.machines
        )
        steps.extend(_actions(index, label, StepKind.POST, group.post))
    return Layout(plan, tuple(steps))


def _actions(index: int, label: str, kind: StepKind, actions: tuple[PlanAction, ...]) -> list[Step]:
    return [
        Step(
            f"g{index + 1}-{kind.value}-{n + 1}",
            f"{label}: {kind.value} action {action.name} ({action.kind.value})",
            index,
            kind,
            action=action,
        )
        for n, action in enumerate(actions)
    ]
