"""Recovery plans: ordered groups of machines with actions between them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from provider.errors import ValidationError
from provider.model.checks import require_id, require_positive, require_text, require_unique


class ActionKind(enum.StrEnum):
    """A script run with a timeout, a plugin hook, or a pause for an operator."""

    SCRIPT = "script"
    HOOK = "hook"
    MANUAL = "manual"


@dataclass(frozen=True)
class PlanAction:
    """A pre or post action of a plan group."""

    name: str
    kind: ActionKind
    command: tuple[str, ...] = ()
    timeout_sec: int = 300
    message: str = ""

    def __post_init__(self) -> None:
        require_text("PlanAction", "name", self.name)
        require_positive(f"PlanAction {self.name!r}", "timeout_sec", self.timeout_sec)
        if self.kind is ActionKind.SCRIPT and not self.command:
            raise ValidationError(f"PlanAction {self.name!r}: a script action needs a command")
        if self.kind is ActionKind.MANUAL and not self.message:
            raise ValidationError(
                f"PlanAction {self.name!r}: a manual action needs a message for the operator"
            )


@dataclass(frozen=True)
class PlanGroup:
    """Machines that fail over together, in parallel, between pre and post actions."""

    name: str
    machines: tuple[str, ...]
    pre: tuple[PlanAction, ...] = ()
    post: tuple[PlanAction, ...] = ()

    def __post_init__(self) -> None:
        require_text("PlanGroup", "name", self.name)
        if not self.machines:
            raise ValidationError(f"plan group {self.name!r} is empty: name at least one machine")
        require_unique(f"plan group {self.name!r}", "machines", self.machines)


#: A recovery plan holds up to 100 machines, as ASR's does.
MAX_PLAN_MACHINES = 100


@dataclass(frozen=True)
class RecoveryPlan:
    """An ordered list of groups; a machine appears in at most one group."""

    name: str
    groups: tuple[PlanGroup, ...]
    concurrency: int = 10
    description: str = ""

    def __post_init__(self) -> None:
        require_id("RecoveryPlan", "name", self.name)
        require_positive(f"RecoveryPlan {self.name!r}", "concurrency", self.concurrency)
        if not self.groups:
            raise ValidationError(f"recovery plan {self.name!r} has no groups")
        require_unique(f"recovery plan {self.name!r}", "groups", (g.name for g in self.groups))
        require_unique(f"recovery plan {self.name!r}", "machines", self.machines)
        if len(self.machines) > MAX_PLAN_MACHINES:
            raise ValidationError(
                f"recovery plan {self.name!r} holds {len(self.machines)} machines; "
                f"the limit is {MAX_PLAN_MACHINES}",
                hint="split it into several plans",
            )

    @property
    def machines(self) -> tuple[str, ...]:
        """Every machine of the plan, in group order."""
        return tuple(m for group in self.groups for m in group.machines)
