"""Recovery plans, by name; groups and actions are one JSON document."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from provider.errors import AlreadyExists, NotFound
from provider.model.plan import ActionKind, PlanAction, PlanGroup, RecoveryPlan
from provider.store.codec import strings
from provider.store.schema import plans


class PlanRepository:
    """Recovery plans by name."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, plan: RecoveryPlan) -> None:
        if self.find(plan.name) is not None:
            raise AlreadyExists(f"a recovery plan named {plan.name!r} already exists")
        self._db.execute(insert(plans).values(**_plan_row(plan)))

    def update(self, plan: RecoveryPlan) -> None:
        self.get(plan.name)
        self._db.execute(update(plans).where(plans.c.name == plan.name).values(**_plan_row(plan)))

    def get(self, name: str) -> RecoveryPlan:
        plan = self.find(name)
        if plan is None:
            raise NotFound(f"no recovery plan named {name!r}")
        return plan

    def find(self, name: str) -> RecoveryPlan | None:
        row = self._db.execute(select(plans).where(plans.c.name == name)).mappings().first()
        return None if row is None else _plan(row)

    def list(self) -> list[RecoveryPlan]:
        rows = self._db.execute(select(plans).order_by(plans.c.name)).mappings()
        return [_plan(row) for row in rows]

    def remove(self, name: str) -> None:
        self.get(name)
        self._db.execute(delete(plans).where(plans.c.name == name))


def _plan_row(plan: RecoveryPlan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "description": plan.description,
        "concurrency": plan.concurrency,
        "groups": [asdict(group) for group in plan.groups],
    }


def _plan(row: RowMapping) -> RecoveryPlan:
    return RecoveryPlan(
        name=row["name"],
        description=row["description"],
        concurrency=row["concurrency"],
        groups=tuple(_group(group) for group in row["groups"]),
    )


def _group(document: dict[str, Any]) -> PlanGroup:
    return PlanGroup(
        name=document["name"],
        machines=strings(document["machines"]),
        pre=tuple(_action(action) for action in document["pre"]),
        post=tuple(_action(action) for action in document["post"]),
    )


def _action(document: dict[str, Any]) -> PlanAction:
    return PlanAction(
        **{
            **document,
            "kind": ActionKind(document["kind"]),
            "command": strings(document["command"]),
        }
    )
