"""Values handed to the event hooks that every plugin receives."""

from __future__ import annotations

from dataclasses import dataclass

from provider.contracts.declarations import FailoverMode
from provider.model.job import Job, JobState, Task
from provider.model.plan import PlanAction, PlanGroup, RecoveryPlan


@dataclass(frozen=True)
class JobProgress:
    """A job moved: a task's progress or state changed."""

    job: Job
    task: Task | None = None


@dataclass(frozen=True)
class JobStateChange:
    """A job changed state."""

    job: Job
    previous: JobState


@dataclass(frozen=True)
class FailoverEvent:
    """Before or after one machine's failover (error is set when it failed)."""

    item_id: str
    machine_name: str
    mode: FailoverMode
    point_id: str
    error: str = ""


@dataclass(frozen=True)
class PlanGroupEvent:
    """Before or after one recovery-plan group (error is set when the group failed)."""

    plan: RecoveryPlan
    group: PlanGroup
    mode: FailoverMode
    error: str = ""


@dataclass(frozen=True)
class PlanActionContext:
    """The plan, group and mode a plugin-hook action runs in."""

    plan: RecoveryPlan
    group: PlanGroup
    mode: FailoverMode
    action: PlanAction


@dataclass(frozen=True)
class ActionOutcome:
    """What a plugin-hook plan action did."""

    succeeded: bool
    output: str = ""
