"""Protecting machines (with their initial-replication job) and stopping protection.

Protect checks every machine first, then protects them one by one; if one
fails, those already protected are stopped again, so a request protects all
of its machines or none. Toward a native target the machines are handed to
the target in ONE request (``provider.native.protect_native``): the target
replicates them as one group, and refuses or accepts them all.

Stopping protection walks the item to DISABLED (the transition table
refuses it mid-failover), disables change tracking (a native target stops
replicating the group once its last item is disabled), and forgets the
item, its recovery points and the process server's state.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass

from provider.engine.protect import ProtectRequest, check_policy, protect
from provider.engine.state import walk
from provider.errors import AlreadyExists, FabricError, NotFound, ValidationError
from provider.model.item import ProtectedItem
from provider.model.job import Job
from provider.model.states import ReplicationState
from provider.native import NativeProtectRequest, group_of, is_native_target, protect_native
from provider.service.context import ServiceContext
from provider.service.jobs import INITIAL_REPLICATION
from provider.service.lookups import FoundMachine, find_machine

_R = ReplicationState
#: How an item reaches DISABLED from where it is (ENABLING skips DISABLING).
_TO_DISABLED = {_R.ENABLING: (_R.DISABLED,), _R.DISABLED: ()}
_DEFAULT_PATH = (_R.DISABLING, _R.DISABLED)
#: Process-server state folders kept per item (see provider.engine).
_LOCAL_STATE = ("cache", "digests", "pending")


@dataclass(frozen=True)
class ProtectMachines:
    """What ``srp protect`` asks for."""

    machines: tuple[str, ...]
    policy: str
    target: str
    fabric: str | None = None
    group: str = ""
    #: For a native target's plugin (``NativeProtection.options``); the HRL path takes none.
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Protection:
    """The items created and the job that copies them."""

    job: Job
    items: tuple[ProtectedItem, ...]


@dataclass(frozen=True)
class StoppedItem:
    """An item whose protection was stopped, and a problem met while stopping it."""

    item_id: str
    machine_name: str
    warning: str = ""


def protect_machines(svc: ServiceContext, request: ProtectMachines) -> Protection:
    """Protect every machine and queue their initial replication as one job."""
    found = _checked(svc, request)
    if is_native_target(svc.engine, request.target):
        return _submitted(svc, request, _protect_native(svc, request, found))
    if request.options:
        # Silently ignoring an option the operator believes in would be worse than refusing it.
        raise ValidationError(
            f"target {request.target!r} replicates through srp's own data path and takes no "
            f"protection options, got {sorted(k for k, _ in request.options)}"
        )
    items: list[ProtectedItem] = []
    try:
        for entry in found:
            items.append(protect(svc.engine, _request(entry, request)))
    except BaseException:
        for item in items:
            stop_protection(svc, item)
        raise
    return _submitted(svc, request, items)


def _submitted(
    svc: ServiceContext, request: ProtectMachines, items: list[ProtectedItem]
) -> Protection:
    tasks = [(item.item_id, item.machine_name) for item in items]
    described = items[0].machine_name if len(items) == 1 else f"{len(items)} machines"
    params = {"policy": request.policy, "target": request.target, "group": request.group}
    job = svc.jobs.submit(INITIAL_REPLICATION, described, tasks, params)
    svc.worker.run_later(job.job_id)
    return Protection(job, tuple(items))


def _protect_native(
    svc: ServiceContext, request: ProtectMachines, found: list[FoundMachine]
) -> list[ProtectedItem]:
    # The target makes one replication group of one request: nothing to undo on refusal.
    fabrics = sorted({entry.fabric.fabric_id for entry in found})
    if len(fabrics) > 1:
        raise ValidationError(
            f"machines protected together toward native target {request.target!r} "
            f"come from one fabric, not {fabrics}",
            hint="protect each fabric's machines in a request of their own",
        )
    native = NativeProtectRequest(
        fabrics[0],
        tuple(entry.machine.machine_id for entry in found),
        request.policy,
        request.target,
        request.group,
        request.options,
    )
    return protect_native(svc.engine, native)


def disable_item(svc: ServiceContext, item_id: str) -> StoppedItem:
    """Stop protecting one item."""
    with svc.store.read() as tx:
        item = tx.items.get(item_id)
    check_can_stop(item)
    return stop_protection(svc, item)


def check_can_stop(item: ProtectedItem) -> None:
    """InvalidTransition when the item's state does not allow disabling (mid-failover)."""
    walk(item, _TO_DISABLED.get(item.state, _DEFAULT_PATH))


def stop_protection(svc: ServiceContext, item: ProtectedItem) -> StoppedItem:
    """Disable tracking (best effort), then forget the item and its local state."""
    warning = ""
    with svc.gate.holding([item.item_id]):
        try:
            if is_native_target(svc.engine, item.target):
                warning = _stop_native_group(svc, item)
            else:
                _disable_tracking(svc, item)
        except FabricError as exc:
            warning = f"change tracking could not be disabled on the fabric: {exc.message}"
        with svc.store.unit() as tx:
            tx.items.remove(item.item_id)
        forget_local_state(svc, item.item_id)
    return StoppedItem(item.item_id, item.machine_name, warning)


def forget_local_state(svc: ServiceContext, item_id: str) -> None:
    """Remove the process server's cache, digests, pending points and cycle log of an item."""
    root = svc.engine.state_dir
    for folder in _LOCAL_STATE:
        shutil.rmtree(root / folder / item_id, ignore_errors=True)
    (root / "cycles" / f"{item_id}.json").unlink(missing_ok=True)


def _disable_tracking(svc: ServiceContext, item: ProtectedItem) -> None:
    with svc.store.read() as tx:
        inventory = tx.fabrics.inventory(item.fabric_id)
    machine = next((m for m in inventory.machines if m.machine_id == item.machine_id), None)
    if machine is not None:
        svc.plugins.disable_tracking(svc.engine.fabric_connection(item.fabric_id), machine)


def _stop_native_group(svc: ServiceContext, item: ProtectedItem) -> str:
    """Stop the target's replication of the item's group when no other item is left in it."""
    group = group_of(item)
    with svc.store.read() as tx:
        others = [
            i.machine_name
            for i in tx.items.list()
            if i.target == item.target and group_of(i) == group and i.item_id != item.item_id
        ]
    if others:
        # The target replicates a group as a whole; it goes on for the others.
        return (
            f"the target goes on replicating group {group!r} for {', '.join(sorted(others))}; "
            "it stops when the group's last item is disabled"
        )
    # NotFound: the target forgot the group already (after an unplanned failover).
    with contextlib.suppress(NotFound):
        svc.plugins.native_stop(svc.engine.target_connection(item.target), group)
    return ""


def _checked(svc: ServiceContext, request: ProtectMachines) -> list[FoundMachine]:
    if len(set(request.machines)) != len(request.machines):
        raise ValidationError("a machine is named twice in one protect request")
    with svc.store.read() as tx:
        found = [find_machine(tx, ref, request.fabric) for ref in request.machines]
        policy = tx.policies.get(request.policy)
        tx.targets.get(request.target)
        for entry in found:
            existing = tx.items.for_machine(entry.fabric.fabric_id, entry.machine.machine_id)
            if existing is not None:
                raise AlreadyExists(
                    f"{entry.machine.name} is already protected (item {existing.item_id})"
                )
        group_items = [
            i for i in tx.items.list() if request.group and i.replication_group == request.group
        ]
    for kind in {entry.fabric.kind for entry in found}:
        check_policy(svc.engine, policy, kind)
    _check_group(request, found, group_items)
    return found


def _check_group(
    request: ProtectMachines, found: list[FoundMachine], members: list[ProtectedItem]
) -> None:
    # One cut covers a whole group: its items share one fabric, policy and target.
    if not request.group:
        return
    fabrics = {entry.fabric.fabric_id for entry in found} | {m.fabric_id for m in members}
    policies = {request.policy} | {m.policy for m in members}
    targets = {request.target} | {m.target for m in members}
    if len(fabrics) > 1 or len(policies) > 1 or len(targets) > 1:
        raise ValidationError(
            f"replication group {request.group!r} would mix fabrics, policies or targets",
            hint="a group's machines share one fabric, one policy and one target",
        )


def _request(entry: FoundMachine, request: ProtectMachines) -> ProtectRequest:
    return ProtectRequest(
        entry.fabric.fabric_id,
        entry.machine.machine_id,
        request.policy,
        request.target,
        request.group,
    )
