"""Protecting machines toward a native target, as one replication group.

Everything is checked first (machines known and not yet protected, the
policy honoured by the fabric kind, the target native); then the target is
asked to replicate the whole group in one request, and only when it accepts
are the items stored, with the states it reported. A refused request leaves
nothing behind in the vault.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from provider.contracts.native import NativeProtection
from provider.engine.context import EngineContext
from provider.engine.protect import check_policy
from provider.engine.state import walk
from provider.errors import AlreadyExists, ValidationError
from provider.model.inventory import Machine
from provider.model.item import ProtectedItem
from provider.model.policy import ReplicationPolicy
from provider.model.states import ReplicationState
from provider.native.kinds import group_of, is_native_target
from provider.native.refresh import apply_group_state

_R = ReplicationState
#: States an item may be disabled from once the target forgot its group.
_STOPPABLE = frozenset({_R.INITIAL_REPLICATION, _R.PROTECTED, _R.RESYNC_REQUIRED})


@dataclass(frozen=True)
class NativeProtectRequest:
    """Machines of one fabric to protect together toward a native target.

    ``group_id`` names the replication group (machines of a group share
    recovery points); empty, a single machine forms a group of its own.
    ``options`` go to the target's plugin as they are.
    """

    fabric_id: str
    machine_ids: tuple[str, ...]
    policy: str
    target: str
    group_id: str = ""
    options: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.machine_ids or len(set(self.machine_ids)) != len(self.machine_ids):
            raise ValidationError(
                f"native protection needs distinct machines, got {list(self.machine_ids)}"
            )
        if not self.group_id and len(self.machine_ids) > 1:
            raise ValidationError("protecting several machines together needs a group id")


def protect_native(ctx: EngineContext, request: NativeProtectRequest) -> list[ProtectedItem]:
    """Start the group's native replication and store one item per machine."""
    machines, policy = _checked(ctx, request)
    items = [_new_item(ctx, request, machine, policy) for machine in machines]
    group_id = group_of(items[0])
    target = ctx.target_connection(request.target)
    state = ctx.plugins.native_protect(target, _protection(group_id, machines, policy, request))
    with ctx.store.unit() as tx:
        for item in items:
            tx.items.add(item)
    apply_group_state(ctx, state, {item.machine_id: item.item_id for item in items})
    with ctx.store.read() as tx:
        return [tx.items.get(item.item_id) for item in items]


def _checked(
    ctx: EngineContext, request: NativeProtectRequest
) -> tuple[list[Machine], ReplicationPolicy]:
    with ctx.store.read() as tx:
        fabric = tx.fabrics.get(request.fabric_id)
        inventory = tx.fabrics.inventory(fabric.fabric_id)
        machines = [inventory.machine(m) for m in request.machine_ids]
        policy = tx.policies.get(request.policy)
        taken = [tx.items.for_machine(fabric.fabric_id, m.machine_id) for m in machines]
    for machine, item in zip(machines, taken, strict=True):
        if item is not None and item.state is not _R.DISABLED:
            raise AlreadyExists(f"{machine.name} is already protected (item {item.item_id})")
    if not is_native_target(ctx, request.target):
        raise ValidationError(f"target {request.target!r} does not replicate natively")
    check_policy(ctx, policy, fabric.kind)
    return machines, policy


def _new_item(
    ctx: EngineContext, request: NativeProtectRequest, machine: Machine, policy: ReplicationPolicy
) -> ProtectedItem:
    item = ProtectedItem(
        item_id=f"item-{uuid.uuid4().hex[:12]}",
        fabric_id=request.fabric_id,
        machine_id=machine.machine_id,
        machine_name=machine.name,
        policy=policy.name,
        target=request.target,
        replication_group=request.group_id,
        created_at=ctx.clock(),
    )
    return walk(item, (_R.INITIAL_REPLICATION,))


def _protection(
    group_id: str,
    machines: list[Machine],
    policy: ReplicationPolicy,
    request: NativeProtectRequest,
) -> NativeProtection:
    return NativeProtection(
        group_id,
        tuple(machines),
        retention_hours=policy.retention_hours,
        app_frequency_minutes=policy.app_consistent_frequency_hours * 60,
        options=request.options,
    )


def stop_native(ctx: EngineContext, target_id: str, group_id: str) -> list[ProtectedItem]:
    """Stop the group's replication on the target, then disable its items."""
    ctx.plugins.native_stop(ctx.target_connection(target_id), group_id)
    stopped = []
    with ctx.store.unit() as tx:
        for item in tx.items.list():
            if item.target == target_id and group_of(item) == group_id:
                if item.state in _STOPPABLE:
                    item = walk(item, (_R.DISABLING, _R.DISABLED))
                    tx.items.update(item)
                stopped.append(item)
    return stopped
