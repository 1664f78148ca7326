"""Replication targets (a cloud storage account + compute, or a secondary site)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, RowMapping

from provider.errors import AlreadyExists, NotFound
from provider.model.checks import require_id, require_text
from provider.store.codec import pairs_from_json, pairs_to_json
from provider.store.schema import targets


@dataclass(frozen=True)
class Target:
    """A registered target, without its secret (kept sealed in the store)."""

    target_id: str
    kind: str
    location: str
    options: tuple[tuple[str, str], ...] = ()
    registered_at: float = 0.0

    def __post_init__(self) -> None:
        require_id("Target", "target_id", self.target_id)
        require_text("Target", "kind", self.kind)
        require_text("Target", "location", self.location)


class TargetRepository:
    """Targets by id."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, target: Target, sealed_secret: bytes = b"") -> None:
        if self._row(target.target_id) is not None:
            raise AlreadyExists(f"target {target.target_id!r} is already registered")
        self._db.execute(insert(targets).values(**_target_row(target), secret=sealed_secret))

    def get(self, target_id: str) -> Target:
        return _target(self._required(target_id))

    def list(self) -> list[Target]:
        rows = self._db.execute(select(targets).order_by(targets.c.target_id)).mappings()
        return [_target(row) for row in rows]

    def remove(self, target_id: str) -> None:
        self._required(target_id)
        self._db.execute(delete(targets).where(targets.c.target_id == target_id))

    def sealed_secret(self, target_id: str) -> bytes:
        return bytes(self._required(target_id)["secret"])

    def _required(self, target_id: str) -> RowMapping:
        row = self._row(target_id)
        if row is None:
            raise NotFound(f"no target {target_id!r} is registered")
        return row

    def _row(self, target_id: str) -> RowMapping | None:
        query = select(targets).where(targets.c.target_id == target_id)
        return self._db.execute(query).mappings().first()


def _target_row(target: Target) -> dict[str, Any]:
    return {
        "target_id": target.target_id,
        "kind": target.kind,
        "location": target.location,
        "options": pairs_to_json(target.options),
        "registered_at": target.registered_at,
    }


def _target(row: RowMapping) -> Target:
    return Target(
        target_id=row["target_id"],
        kind=row["kind"],
        location=row["location"],
        options=pairs_from_json(row["options"]),
        registered_at=row["registered_at"],
    )
