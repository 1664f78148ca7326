"""The JSON form of each resource, as the API answers it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from provider.engine.health import rpo_seconds
from provider.model.inventory import Fabric, Inventory, Machine
from provider.model.item import ProtectedItem
from provider.model.job import Job, Task
from provider.model.mapping import NetworkMapping, StorageMapping
from provider.model.policy import ReplicationPolicy
from provider.model.recovery import RecoveryPoint
from provider.store.targets import Target

Json = dict[str, Any]


def fabric_view(fabric: Fabric, inventory: Inventory, discovered_at: float | None) -> Json:
    return {
        "fabric_id": fabric.fabric_id,
        "name": fabric.name,
        "kind": fabric.kind,
        "address": fabric.address,
        "username": fabric.username,
        "options": dict(fabric.options),
        "registered_at": fabric.registered_at,
        "discovered_at": discovered_at,
        "containers": len(inventory.containers),
        "machines": len(inventory.machines),
        "networks": len(inventory.networks),
    }


def inventory_view(inventory: Inventory) -> Json:
    return {
        "containers": [asdict(c) for c in inventory.containers],
        "machines": [asdict(m) for m in inventory.machines],
        "networks": [asdict(n) for n in inventory.networks],
        "hosts": [asdict(h) for h in inventory.hosts],
    }


def machine_view(fabric: Fabric, machine: Machine, item: ProtectedItem | None) -> Json:
    return {
        "machine_id": machine.machine_id,
        "name": machine.name,
        "fabric": fabric.name,
        "container_id": machine.container_id,
        "power_state": machine.power_state,
        "disks": len(machine.disks),
        "capacity_bytes": sum(d.capacity for d in machine.disks),
        "networks": sorted({nic.network_id for nic in machine.nics}),
        "item_id": item.item_id if item is not None else None,
        "state": item.state.value if item is not None else "unprotected",
    }


def policy_view(policy: ReplicationPolicy) -> Json:
    document = asdict(policy)
    document["family"] = policy.family.value
    document["initial_replication_method"] = policy.initial_replication_method.value
    document["cycle_seconds"] = policy.cycle_seconds
    return document


def target_view(target: Target) -> Json:
    return {
        "name": target.target_id,
        "kind": target.kind,
        "location": target.location,
        "options": dict(target.options),
        "registered_at": target.registered_at,
    }


def item_view(item: ProtectedItem, now: float, latest: RecoveryPoint | None) -> Json:
    return {
        "item_id": item.item_id,
        "machine": item.machine_name,
        "machine_id": item.machine_id,
        "fabric_id": item.fabric_id,
        "policy": item.policy,
        "target": item.target,
        "group": item.replication_group,
        "state": item.state.value,
        "direction": item.direction.value,
        "health": str(item.health.level),
        "health_reasons": list(item.health.reasons),
        "rpo_seconds": rpo_seconds(now, item.last_point_at),
        "last_point_at": item.last_point_at,
        "last_point": latest.point_id if latest is not None else None,
        "created_at": item.created_at,
    }


def point_view(point: RecoveryPoint) -> Json:
    return {
        "point_id": point.point_id,
        "item_id": point.item_id,
        "cut_id": point.cut_id,
        "created_at": point.created_at,
        "consistency": point.consistency.value,
        "group_cut": point.group_cut,
        "disks": [asdict(disk) for disk in point.disks],
    }


def network_mapping_view(mapping: NetworkMapping) -> Json:
    document = asdict(mapping)
    document["ip_policy"] = mapping.ip_policy.value
    return document


def storage_mapping_view(mapping: StorageMapping) -> Json:
    return asdict(mapping)


def job_view(job: Job) -> Json:
    return {
        "job_id": job.job_id,
        "kind": job.kind,
        "target": job.target,
        "state": job.state.value,
        "progress": round(job.progress, 4),
        "error": job.error,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "params": dict(job.params),
        "tasks": [task_view(task) for task in job.tasks],
    }


def task_view(task: Task) -> Json:
    return {
        "task_id": task.task_id,
        "name": task.name,
        "state": task.state.value,
        "progress": task.progress,
        "error": task.error,
        "output": task.output,
    }
