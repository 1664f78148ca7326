"""Recovery plans: plan files, their validation against the vault, and the plan runner.

A plan is a TOML file (:mod:`provider.plans.planfile`, schema in its
docstring and in ``docs/recovery-plans.md``), stored in the vault, checked
against it (:func:`resolve_plan`) and run as a durable job by
:class:`PlanRunner` in test, planned, unplanned failover or failback.
"""

from provider.plans.planfile import (
    load_plan_file,
    parse_plan_text,
    plan_from_document,
    plan_to_document,
)
from provider.plans.runner import JOB_KINDS, PlanRunner
from provider.plans.steps import Layout, Step, StepKind, lay_out
from provider.plans.validate import Resolution, resolve_plan

__all__ = [
    "JOB_KINDS",
    "Layout",
    "PlanRunner",
    "Resolution",
    "Step",
    "StepKind",
    "lay_out",
    "load_plan_file",
    "parse_plan_text",
    "plan_from_document",
    "plan_to_document",
    "resolve_plan",
]
