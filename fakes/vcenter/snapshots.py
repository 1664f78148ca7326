"""VM snapshots (quiesced or not), reconfiguration and the tasks that report them.

``CreateSnapshot_Task`` freezes every VMDK of the VM at once (copy-on-write,
see :meth:`fakes.vcenter.cbt.ChangeTracker.freeze`) and moves the running
VM onto new delta files; the snapshot keeps the files it froze, each with
the CBT change id of that instant (``config.hardware.device[].backing``).
The fake serves every file of a chain as a full flat image at
``<descriptor stem>-flat.vmdk`` (see :mod:`fakes.vcenter.datastore`).

Tasks complete when created; ``faults.task_polls`` makes their info read
``running`` a few times first, so clients must poll.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fakes.vcenter.cbt import FrozenDisk
from fakes.vcenter.faults import VimFault, object_not_found

if TYPE_CHECKING:
    from fakes.vcenter.model import VCenter, VirtualMachine, Vmdk

#: vSphere supports at most 32 snapshots in a chain.
MAX_SNAPSHOTS = 32


def moref(type_name: str, moid: str) -> dict[str, str]:
    """A ManagedObjectReference as the JSON API writes it."""
    return {"_typeName": "ManagedObjectReference", "type": type_name, "value": moid}


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Snapshot:
    """A VM snapshot: the files it froze, their bytes and change ids."""

    moid: str
    vm: VirtualMachine
    number: int
    name: str
    description: str
    quiesced: bool
    created_at: float
    frozen: dict[int, FrozenDisk] = field(default_factory=dict)
    files: dict[int, str] = field(default_factory=dict)


@dataclass
class Task:
    """A vSphere task: done when created, but may read ``running`` for a few polls."""

    moid: str
    name: str
    description_id: str
    vm: VirtualMachine
    created_at: float
    result: dict[str, Any] | None = None
    error: VimFault | None = None
    polls_left: int = 0

    def info(self) -> dict[str, Any]:
        """TaskInfo, counting this read as one poll."""
        running = self.polls_left > 0
        self.polls_left = max(0, self.polls_left - 1)
        state = "running" if running else ("error" if self.error else "success")
        body: dict[str, Any] = {
            "_typeName": "TaskInfo",
            "key": self.moid,
            "task": moref("Task", self.moid),
            "name": self.name,
            "descriptionId": self.description_id,
            "entity": moref("VirtualMachine", self.vm.moid),
            "entityName": self.vm.name,
            "state": state,
            "cancelled": False,
            "cancelable": False,
            "queueTime": iso(self.created_at),
            "progress": 50 if running else 100,
        }
        if not running:
            body["completeTime"] = iso(self.created_at)
            body["result"] = self.result
            if self.error is not None:
                body["error"] = _localized(self.error)
        return body


def _localized(fault: VimFault) -> dict[str, Any]:
    return {
        "_typeName": "LocalizedMethodFault",
        "fault": fault.body(),
        "localizedMessage": fault.message,
    }


class SnapshotManager:
    """Every snapshot and task of one vCenter."""

    def __init__(self, vcenter: VCenter) -> None:
        self._vc = vcenter
        self.snapshots: dict[str, Snapshot] = {}
        self.tasks: dict[str, Task] = {}

    def create(self, vm: VirtualMachine, name: str, description: str, quiesce: bool) -> Task:
        """CreateSnapshot_Task: freeze all VMDKs at once, or fail the task (quiesce, limit)."""
        with self._vc.lock:
            fault = self._refusal(vm, quiesce)
            if fault is not None:
                return self._task(
                    "CreateSnapshot_Task", "VirtualMachine.createSnapshot", vm, error=fault
                )
            snapshot = self._freeze(
                vm, name, description, quiesce and vm.power_state == "POWERED_ON"
            )
            result = moref("VirtualMachineSnapshot", snapshot.moid)
            return self._task(
                "CreateSnapshot_Task", "VirtualMachine.createSnapshot", vm, result=result
            )

    def _refusal(self, vm: VirtualMachine, quiesce: bool) -> VimFault | None:
        if len(self.of_vm(vm)) >= MAX_SNAPSHOTS:
            return VimFault(
                "TooManySnapshotLevels",
                f"Exceeded the maximum number of permitted snapshots ({MAX_SNAPSHOTS}).",
            )
        if not quiesce or vm.power_state != "POWERED_ON":
            return None
        if not vm.tools_running:
            return VimFault(
                "ToolsUnavailable",
                "Cannot complete operation because VMware Tools is not running in this "
                "virtual machine.",
            )
        failure = self._vc.faults.quiesce_failure
        if failure:
            return VimFault(
                "ApplicationQuiesceFault",
                f"An error occurred while quiescing the virtual machine: {failure}",
            )
        return None

    def _freeze(self, vm: VirtualMachine, name: str, description: str, quiesced: bool) -> Snapshot:
        vm.snapshot_counter += 1
        number = vm.snapshot_counter
        snapshot = Snapshot(
            self._vc.mint("snapshot"), vm, number, name, description, quiesced, self._vc.now()
        )
        for vmdk in vm.disks:
            snapshot.frozen[vmdk.key] = vmdk.cbt.freeze(f"{vm.moid}/{snapshot.moid}")
            snapshot.files[vmdk.key] = vmdk.current_file
            vmdk.current_file = _delta_name(vmdk, number)
        self.snapshots[snapshot.moid] = snapshot
        return snapshot

    def remove(self, moid: str) -> Task:
        """RemoveSnapshot_Task: drop the frozen views; the VM's files consolidate."""
        with self._vc.lock:
            snapshot = self.get(moid)
            self._drop(snapshot)
            vm = snapshot.vm
            if not self.of_vm(vm):
                for vmdk in vm.disks:
                    vmdk.current_file = vmdk.base_file
            return self._task("RemoveSnapshot_Task", "VirtualMachineSnapshot.remove", vm)

    def reconfigure(self, vm: VirtualMachine, change_tracking: bool | None) -> Task:
        """ReconfigVM_Task: the fake honours ``changeTrackingEnabled`` only."""
        with self._vc.lock:
            if change_tracking is not None:
                self._vc.set_cbt(vm, change_tracking)
            return self._task("ReconfigVM_Task", "VirtualMachine.reconfigure", vm)

    def get(self, moid: str) -> Snapshot:
        snapshot = self.snapshots.get(moid)
        if snapshot is None or snapshot.vm.moid not in self._vc.vms:
            raise object_not_found("VirtualMachineSnapshot", moid)
        return snapshot

    def task(self, moid: str) -> Task:
        task = self.tasks.get(moid)
        if task is None:
            raise object_not_found("Task", moid)
        return task

    def of_vm(self, vm: VirtualMachine) -> list[Snapshot]:
        return sorted((s for s in self.snapshots.values() if s.vm is vm), key=lambda s: s.number)

    def drop_all(self, vm: VirtualMachine) -> None:
        for snapshot in self.of_vm(vm):
            self._drop(snapshot)

    def _drop(self, snapshot: Snapshot) -> None:
        for frozen in snapshot.frozen.values():
            frozen.snapshot.release()
        self.snapshots.pop(snapshot.moid, None)

    def _task(
        self,
        name: str,
        description_id: str,
        vm: VirtualMachine,
        *,
        result: dict[str, Any] | None = None,
        error: VimFault | None = None,
    ) -> Task:
        task = Task(
            self._vc.mint("task"),
            name,
            description_id,
            vm,
            self._vc.now(),
            result,
            error,
            self._vc.faults.task_polls,
        )
        self.tasks[task.moid] = task
        return task


def _delta_name(vmdk: Vmdk, number: int) -> str:
    stem = vmdk.base_file.removesuffix(".vmdk")
    return f"{stem}-{number:06d}.vmdk"
