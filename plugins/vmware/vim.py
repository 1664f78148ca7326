"""JSON API calls the plugin makes: tasks, snapshots, CBT queries, reconfiguration.

Each function names its operation for error messages; answers are checked
for the fields used, and anything else is refused as ``HostileResponse``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plugins.vmware.client import VSphereClient, VSphereFault
from provider.errors import FabricUnreachable, HostileResponse, RemoteCommandFailed

#: Faults that mean "the guest could not be quiesced": fall back to a crash-consistent snapshot.
QUIESCE_FAULTS = frozenset({"ApplicationQuiesceFault", "ToolsUnavailable", "ToolsUnavailableFault"})


def moref(type_name: str, moid: str) -> dict[str, str]:
    return {"_typeName": "ManagedObjectReference", "type": type_name, "value": moid}


@dataclass(frozen=True)
class TaskResult:
    """A finished task: its result reference (if any) and when it completed."""

    result: str
    completed_at: float


class TaskFailed(RemoteCommandFailed):
    """A vSphere task ended in error; ``fault_type`` is the fault's ``_typeName``."""

    def __init__(self, message: str, fault_type: str) -> None:
        super().__init__(message)
        self.fault_type = fault_type


def wait_task(client: VSphereClient, task: Any, operation: str) -> TaskResult:
    """Poll a task until it succeeds (its result) or fails (:class:`TaskFailed`)."""
    task_id = _moid(task, "Task", operation)
    deadline = time.monotonic() + client.task_timeout
    while True:
        info = client.vim_get(f"{operation} (task {task_id})", "Task", task_id, "info")
        state = info.get("state") if isinstance(info, dict) else None
        if state == "success":
            return TaskResult(_result_id(info.get("result")), _timestamp(info.get("completeTime")))
        if state == "error":
            raise _task_error(client, operation, info.get("error"))
        if state not in ("queued", "running"):
            raise HostileResponse(f"vCenter {client.vcenter}: {operation}: task state {state!r}")
        if time.monotonic() > deadline:
            raise FabricUnreachable(
                f"vCenter {client.vcenter}: {operation}: task {task_id} did not finish"
            )
        client.sleep(client.poll_interval)


def _task_error(client: VSphereClient, operation: str, error: Any) -> TaskFailed:
    fault = error.get("fault") if isinstance(error, dict) else None
    fault_type = str(fault.get("_typeName", "")) if isinstance(fault, dict) else ""
    message = str(error.get("localizedMessage", "")) if isinstance(error, dict) else ""
    return TaskFailed(
        f"vCenter {client.vcenter}: {operation} failed: {fault_type}: {message}", fault_type
    )


def _result_id(result: Any) -> str:
    return str(result.get("value", "")) if isinstance(result, dict) else ""


def _timestamp(text: Any) -> float:
    if not isinstance(text, str):
        return time.time()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return time.time()


def _moid(ref: Any, type_name: str, operation: str) -> str:
    if (
        not isinstance(ref, dict)
        or ref.get("type") != type_name
        or not isinstance(ref.get("value"), str)
    ):
        raise HostileResponse(f"{operation}: expected a {type_name} reference, got {ref!r:.80}")
    return str(ref["value"])


# -- change tracking ---------------------------------------------------------------------


def change_tracking_enabled(client: VSphereClient, vm_id: str) -> bool:
    config = client.vim_get(f"read the config of {vm_id}", "VirtualMachine", vm_id, "config")
    return isinstance(config, dict) and config.get("changeTrackingEnabled") is True


def set_change_tracking(client: VSphereClient, vm_id: str, enabled: bool) -> None:
    """ReconfigVM_Task with ``changeTrackingEnabled`` (safe to repeat: it sets a value)."""
    operation = f"{'enable' if enabled else 'disable'} CBT on {vm_id}"
    spec = {"spec": {"_typeName": "VirtualMachineConfigSpec", "changeTrackingEnabled": enabled}}
    task = client.vim_invoke(operation, "VirtualMachine", vm_id, "ReconfigVM_Task", spec)
    wait_task(client, task, operation)


# -- snapshots ---------------------------------------------------------------------------


def start_snapshot(client: VSphereClient, vm_id: str, name: str, quiesce: bool) -> Any:
    """Issue CreateSnapshot_Task (not retried: a retry could take a second snapshot)."""
    body = {"name": name, "description": "srp consistent cut", "memory": False, "quiesce": quiesce}
    operation = f"CreateSnapshot_Task on {vm_id}"
    return client.vim_invoke(
        operation, "VirtualMachine", vm_id, "CreateSnapshot_Task", body, retry=False
    )


def remove_snapshot(client: VSphereClient, snapshot_id: str) -> None:
    operation = f"RemoveSnapshot_Task on {snapshot_id}"
    body = {"removeChildren": False, "consolidate": True}
    task = client.vim_invoke(
        operation, "VirtualMachineSnapshot", snapshot_id, "RemoveSnapshot_Task", body
    )
    wait_task(client, task, operation)


def snapshot_named(client: VSphereClient, vm_id: str, name: str) -> str:
    """The id of the VM's snapshot called ``name``, or ``""``."""
    info = client.vim_get(f"list snapshots of {vm_id}", "VirtualMachine", vm_id, "snapshot")
    roots = info.get("rootSnapshotList", []) if isinstance(info, dict) else []
    for node in _walk(roots):
        if node.get("name") == name:
            return _moid(node.get("snapshot"), "VirtualMachineSnapshot", "snapshot tree")
    return ""


def _walk(nodes: Any) -> Iterator[dict[str, Any]]:
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict):
            yield node
            yield from _walk(node.get("childSnapshotList"))


@dataclass(frozen=True)
class SnapshotDisk:
    """One VMDK as a snapshot froze it: device key, size, file, change id."""

    key: int
    capacity: int
    file_name: str
    change_id: str

    @property
    def datastore(self) -> str:
        """``datastore1`` of ``[datastore1] web01/web01.vmdk``."""
        return self.file_name.partition("]")[0].lstrip("[")

    @property
    def flat_path(self) -> str:
        """``web01/web01-flat.vmdk``: the data file served under ``/folder``."""
        path = self.file_name.partition("]")[2].strip()
        return path.removesuffix(".vmdk") + "-flat.vmdk"


def snapshot_disks(client: VSphereClient, snapshot_id: str) -> dict[int, SnapshotDisk]:
    """The snapshot's VMDKs by device key (``config.hardware.device`` of the snapshot)."""
    where = f"read the config of {snapshot_id}"
    config = client.vim_get(where, "VirtualMachineSnapshot", snapshot_id, "config")
    devices = config.get("hardware", {}).get("device") if isinstance(config, dict) else None
    if not isinstance(devices, list):
        raise HostileResponse(f"vCenter {client.vcenter}: {where}: no device list")
    disks = {}
    for device in devices:
        if isinstance(device, dict) and device.get("_typeName") == "VirtualDisk":
            disk = _snapshot_disk(device, where)
            disks[disk.key] = disk
    return disks


def _snapshot_disk(device: dict[str, Any], where: str) -> SnapshotDisk:
    backing = device.get("backing")
    key, capacity = device.get("key"), device.get("capacityInBytes")
    if not isinstance(backing, dict) or not isinstance(key, int) or not isinstance(capacity, int):
        raise HostileResponse(f"{where}: a VirtualDisk lacks key, capacity or backing")
    file_name = backing.get("fileName")
    if not isinstance(file_name, str) or not file_name.startswith("["):
        raise HostileResponse(f"{where}: disk {key} has no datastore file name")
    return SnapshotDisk(key, capacity, file_name, str(backing.get("changeId") or ""))


# -- CBT -----------------------------------------------------------------------------------


def changed_areas(
    client: VSphereClient, vm_id: str, snapshot_id: str, disk: SnapshotDisk, change_id: str
) -> list[tuple[int, int]]:
    """Every area changed since ``change_id`` (``"*"``: allocated), looping over the capacity."""
    areas: list[tuple[int, int]] = []
    start = 0
    while start < disk.capacity:
        body = {
            "snapshot": moref("VirtualMachineSnapshot", snapshot_id),
            "deviceKey": disk.key,
            "startOffset": start,
            "changeId": change_id,
        }
        operation = f"QueryChangedDiskAreas on {vm_id} disk {disk.key} at {start}"
        info = client.vim_invoke(operation, "VirtualMachine", vm_id, "QueryChangedDiskAreas", body)
        length = _covered(info, start, operation)
        areas.extend(_areas(info, start, length, disk.capacity, operation))
        start += length
    return _merge(areas)


def _covered(info: Any, start: int, operation: str) -> int:
    if not isinstance(info, dict) or info.get("startOffset") != start:
        raise HostileResponse(f"{operation}: the answer does not start at {start}")
    length = info.get("length")
    if not isinstance(length, int) or length <= 0:
        raise HostileResponse(f"{operation}: the answer covers no bytes (length {length!r})")
    return length


def _areas(
    info: dict[str, Any], start: int, length: int, capacity: int, operation: str
) -> list[tuple[int, int]]:
    found = []
    for area in info.get("changedArea") or []:
        offset = area.get("start") if isinstance(area, dict) else None
        size = area.get("length") if isinstance(area, dict) else None
        if not isinstance(offset, int) or not isinstance(size, int) or size <= 0:
            raise HostileResponse(f"{operation}: malformed changed area {area!r:.80}")
        if offset < start or offset + size > min(start + length, capacity):
            raise HostileResponse(
                f"{operation}: changed area ({offset}, {size}) is outside the range asked"
            )
        found.append((offset, size))
    return found


def _merge(areas: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for offset, length in sorted(areas):
        if merged and offset <= merged[-1][0] + merged[-1][1]:
            end = max(merged[-1][0] + merged[-1][1], offset + length)
            merged[-1] = (merged[-1][0], end - merged[-1][0])
        else:
            merged.append((offset, length))
    return merged


def is_invalid_change_id(exc: VSphereFault) -> bool:
    """vSphere's answer to a change id from before a CBT reset."""
    return exc.fault_type in ("InvalidArgument", "FileFault") and exc.invalid_property in (
        "changeId",
        "",
    )
