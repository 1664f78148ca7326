"""Choosing the recovery point a failover goes to.

``latest`` first forwards whatever the process server still caches, so the
newest cut reaches the target and becomes a point; ``latest-processed``
takes the newest point already recorded, without any processing;
``latest-app`` the newest app-consistent one; ``named`` one given by id.
A point outside retention is no longer in the vault, so it is unavailable
like one that never existed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from provider.engine.context import EngineContext
from provider.engine.group import load_group
from provider.engine.promote import PromoteResult, promote
from provider.errors import RecoveryPointUnavailable, ValidationError
from provider.model.item import ProtectedItem
from provider.model.recovery import Consistency, RecoveryPoint


class PointChoice(enum.StrEnum):
    """Which recovery point to fail over to."""

    LATEST = "latest"
    LATEST_PROCESSED = "latest-processed"
    LATEST_APP = "latest-app"
    NAMED = "named"


@dataclass(frozen=True)
class PointSpec:
    """A choice of point; ``point_id`` is given exactly when the choice is NAMED."""

    choice: PointChoice = PointChoice.LATEST
    point_id: str = ""

    def __post_init__(self) -> None:
        if (self.choice is PointChoice.NAMED) != bool(self.point_id):
            raise ValidationError("a named recovery point needs its id, and only it takes one")

    @classmethod
    def named(cls, point_id: str) -> PointSpec:
        return cls(PointChoice.NAMED, point_id)

    def describe(self) -> str:
        return self.point_id if self.choice is PointChoice.NAMED else self.choice.value


def forward_cached(ctx: EngineContext, item_id: str) -> PromoteResult:
    """Forward the item's cached HRLs and record the points they complete."""
    return promote(ctx, load_group(ctx, [item_id]))


def select_point(ctx: EngineContext, item: ProtectedItem, spec: PointSpec) -> RecoveryPoint:
    """The recorded point the spec names; RecoveryPointUnavailable when there is none."""
    with ctx.store.read() as tx:
        if spec.choice is PointChoice.NAMED:
            point = tx.points.find(spec.point_id)
            found = point if point is not None and point.item_id == item.item_id else None
        elif spec.choice is PointChoice.LATEST_APP:
            found = tx.points.latest(item.item_id, Consistency.APP)
        else:
            found = tx.points.latest(item.item_id)
    if found is None:
        raise _unavailable(item, spec)
    return found


def _unavailable(item: ProtectedItem, spec: PointSpec) -> RecoveryPointUnavailable:
    name = f"{item.machine_name} ({item.item_id})"
    if spec.choice is PointChoice.NAMED:
        return RecoveryPointUnavailable(
            f"{name} has no recovery point {spec.point_id!r}: it is outside retention "
            "or never existed",
            hint="list the item's points and choose a retained one",
        )
    if spec.choice is PointChoice.LATEST_APP:
        return RecoveryPointUnavailable(
            f"{name} has no app-consistent recovery point",
            hint="choose latest or a named crash-consistent point",
        )
    return RecoveryPointUnavailable(
        f"{name} has no recovery point yet: initial replication has not completed",
        hint="wait for the first replication cycle to record a point",
    )
