"""Request bodies of /plans: plan files as TOML text, runs, resumes.

A plan travels as its TOML text, so the service parses it with the same
reader as ``srp plan validate`` does locally and names the same lines.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from provider.service.schemas import Body, Name

#: A plan of 100 machines with actions fits easily; larger is not a plan.
PlanText = Annotated[str, Field(min_length=1, max_length=256 * 1024)]


class PlanFile(Body):
    """A plan file's text and the name to show in problems (its path on the client)."""

    text: PlanText
    source: Name = "plan.toml"


class CreatePlan(PlanFile):
    replace: bool = False


class RunPlan(Body):
    mode: Literal["test", "planned", "unplanned", "failback"]
    point: Literal["latest", "latest-processed", "latest-app"] = "latest"


class ResumePlan(Body):
    retry: bool = False
    skip: bool = False
