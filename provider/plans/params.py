"""What a plan job carries in its parameters: the plan as submitted, its items, mode and point.

The plan is copied into the job, so editing or deleting the stored plan
never changes a run under way, and a restarted service finds everything
it needs in the job itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from provider.contracts.declarations import FailoverMode
from provider.failover.options import FailoverOptions
from provider.model.job import Job
from provider.model.plan import RecoveryPlan
from provider.plans.planfile import plan_from_document, plan_to_document
from provider.plans.steps import Layout, lay_out


@dataclass(frozen=True)
class PlanRun:
    """A plan job's plan laid out, its mode and its failover options."""

    layout: Layout
    mode: FailoverMode
    options: FailoverOptions

    @property
    def plan(self) -> RecoveryPlan:
        return self.layout.plan


def run_params(
    plan: RecoveryPlan, items: dict[str, str], mode: FailoverMode, options: FailoverOptions
) -> dict[str, str]:
    """The job parameters of a plan run."""
    return {
        **options.to_params(),
        "plan": json.dumps(plan_to_document(plan), sort_keys=True),
        "items": json.dumps(items, sort_keys=True),
        "mode": mode.value,
    }


def run_of(job: Job) -> PlanRun:
    """The plan run a job was submitted with."""
    params = dict(job.params)
    plan = plan_from_document(json.loads(params["plan"]), f"job {job.job_id}")
    mode = FailoverMode(params["mode"])
    layout = lay_out(plan, json.loads(params["items"]), mode)
    return PlanRun(layout, mode, FailoverOptions.from_params(params))
