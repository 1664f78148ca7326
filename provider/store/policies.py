"""Replication policies, by name."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from provider.errors import AlreadyExists, NotFound
from provider.model.policy import InitialReplicationMethod, PolicyFamily, ReplicationPolicy
from provider.store.schema import policies


class PolicyRepository:
    """Policies are small and read whole: one JSON document each."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, policy: ReplicationPolicy) -> None:
        if self.find(policy.name) is not None:
            raise AlreadyExists(f"a policy named {policy.name!r} already exists")
        self._db.execute(insert(policies).values(name=policy.name, document=asdict(policy)))

    def update(self, policy: ReplicationPolicy) -> None:
        self.get(policy.name)
        self._db.execute(
            update(policies).where(policies.c.name == policy.name).values(document=asdict(policy))
        )

    def get(self, name: str) -> ReplicationPolicy:
        policy = self.find(name)
        if policy is None:
            raise NotFound(f"no replication policy named {name!r}")
        return policy

    def find(self, name: str) -> ReplicationPolicy | None:
        query = select(policies.c.document).where(policies.c.name == name)
        document = self._db.execute(query).scalar_one_or_none()
        return None if document is None else policy_from_json(document)

    def list(self) -> list[ReplicationPolicy]:
        query = select(policies.c.document).order_by(policies.c.name)
        return [policy_from_json(document) for document in self._db.execute(query).scalars()]

    def remove(self, name: str) -> None:
        self.get(name)
        self._db.execute(delete(policies).where(policies.c.name == name))


def policy_from_json(document: dict[str, Any]) -> ReplicationPolicy:
    """A policy from its stored document; the model re-validates it."""
    return ReplicationPolicy(
        **{
            **document,
            "family": PolicyFamily(document["family"]),
            "initial_replication_method": InitialReplicationMethod(
                document["initial_replication_method"]
            ),
        }
    )
