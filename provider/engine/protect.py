"""Enabling and disabling protection of a machine.

Protection is refused before anything changes when the policy asks for what
the fabric kind does not declare (a copy frequency, app-consistent points,
retention) or when any plugin's ``srp_validate_policy`` objects.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from provider.contracts.declarations import Capabilities
from provider.engine.context import EngineContext
from provider.engine.state import walk
from provider.errors import AlreadyExists, PolicyError
from provider.model.item import ProtectedItem
from provider.model.policy import ReplicationPolicy
from provider.model.states import ReplicationState


@dataclass(frozen=True)
class ProtectRequest:
    """Which machine to protect, with which policy, towards which target."""

    fabric_id: str
    machine_id: str
    policy: str
    target: str
    replication_group: str = ""


def policy_problems(caps: Capabilities, policy: ReplicationPolicy, kind: str) -> list[str]:
    """What the fabric kind's declared capabilities cannot honour in the policy."""
    problems = []
    if caps.copy_frequencies and policy.cycle_seconds not in caps.copy_frequencies:
        allowed = ", ".join(str(f) for f in caps.copy_frequencies)
        problems.append(f"{kind} copies every {allowed} s, not every {policy.cycle_seconds} s")
    if policy.app_consistent_frequency_hours and not caps.app_consistent:
        problems.append(f"{kind} does not take app-consistent points")
    if policy.retention_hours > caps.max_retention_hours:
        problems.append(f"{kind} keeps at most {caps.max_retention_hours} h of points")
    return problems


def check_policy(ctx: EngineContext, policy: ReplicationPolicy, kind: str) -> None:
    """Refuse a policy the fabric kind or any plugin objects to, naming every problem."""
    problems = policy_problems(ctx.plugins.fabric_kind(kind).capabilities, policy, kind)
    problems += ctx.plugins.validate_policy(policy, kind)
    if problems:
        raise PolicyError(
            f"policy {policy.name!r} cannot protect {kind} machines: " + "; ".join(problems)
        )


def protect(ctx: EngineContext, request: ProtectRequest) -> ProtectedItem:
    """Create the protected item and enable change tracking; the first cycle copies it all.

    Toward a natively replicating target there is no change tracking nor
    cycle of srp's: the target is asked to replicate the machine instead.
    """
    # Imported here: provider.native builds on this module (its policy checks).
    from provider.native import NativeProtectRequest, is_native_target, protect_native

    if is_native_target(ctx, request.target):
        native = NativeProtectRequest(
            request.fabric_id,
            (request.machine_id,),
            request.policy,
            request.target,
            request.replication_group,
        )
        (item,) = protect_native(ctx, native)
        return item
    with ctx.store.read() as tx:
        fabric = tx.fabrics.get(request.fabric_id)
        machine = tx.fabrics.inventory(fabric.fabric_id).machine(request.machine_id)
        policy = tx.policies.get(request.policy)
        tx.targets.get(request.target)
        existing = tx.items.for_machine(fabric.fabric_id, machine.machine_id)
    if existing is not None and existing.state is not ReplicationState.DISABLED:
        raise AlreadyExists(f"{machine.name} is already protected (item {existing.item_id})")
    check_policy(ctx, policy, fabric.kind)
    item = ProtectedItem(
        item_id=f"item-{uuid.uuid4().hex[:12]}",
        fabric_id=fabric.fabric_id,
        machine_id=machine.machine_id,
        machine_name=machine.name,
        policy=policy.name,
        target=request.target,
        replication_group=request.replication_group,
        created_at=ctx.clock(),
    )
    ctx.plugins.enable_tracking(ctx.fabric_connection(fabric.fabric_id), machine)
    item = walk(item, (ReplicationState.INITIAL_REPLICATION,))
    with ctx.store.unit() as tx:
        tx.items.add(item)
    ctx.pool.server_for(item.item_id)  # assigned now, to the least loaded process server
    return item
