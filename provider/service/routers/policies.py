"""/policies: replication policies (checked against a fabric kind when used to protect)."""

from __future__ import annotations

from fastapi import APIRouter

from provider.errors import ValidationError
from provider.model.policy import InitialReplicationMethod, PolicyFamily, ReplicationPolicy
from provider.service.routers.deps import Srp
from provider.service.schemas import CreatePolicy
from provider.service.views import Json, policy_view

router = APIRouter(prefix="/policies", tags=["policies"])


@router.post("", status_code=201)
def create(body: CreatePolicy, svc: Srp) -> Json:
    fields = body.model_dump()
    policy = ReplicationPolicy(
        **{
            **fields,
            "family": PolicyFamily(body.family),
            "initial_replication_method": InitialReplicationMethod(body.initial_replication_method),
        }
    )
    with svc.store.unit() as tx:
        tx.policies.add(policy)
    return policy_view(policy)


@router.get("")
def list_policies(svc: Srp) -> list[Json]:
    with svc.store.read() as tx:
        return [policy_view(policy) for policy in tx.policies.list()]


@router.get("/{name}")
def show(name: str, svc: Srp) -> Json:
    with svc.store.read() as tx:
        return policy_view(tx.policies.get(name))


@router.delete("/{name}")
def delete(name: str, svc: Srp) -> Json:
    """Delete a policy no protected item uses."""
    with svc.store.unit() as tx:
        policy = tx.policies.get(name)
        users = [item.machine_name for item in tx.items.list() if item.policy == name]
        if users:
            raise ValidationError(
                f"policy {name!r} is used by {len(users)} protected item(s): {', '.join(users)}",
                hint="disable their protection first",
            )
        tx.policies.remove(name)
    return policy_view(policy)
