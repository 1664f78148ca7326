"""Hyper-V inventory and power cmdlets.

Get-VMHost, Get-VM, Get-VMHardDiskDrive, Get-VHD, Get-VMNetworkAdapter, Get-VMSwitch,
Start-VM, Stop-VM, Remove-VM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakes.hyperv.enums import VMState
from fakes.hyperv.powershell import errors
from fakes.hyperv.powershell.commands import (
    HYPERV_MODULE,
    CmdletSpec,
    Invocation,
    Param,
    hyperv_class,
)
from fakes.hyperv.powershell.errors import VirtualizationError
from fakes.hyperv.powershell.objects import (
    adapter_object,
    drive_object,
    switch_object,
    vhd_object,
    vm_object,
    vmhost_object,
)
from fakes.hyperv.powershell.values import PSObject, to_string

if TYPE_CHECKING:
    from fakes.hyperv.host import HardDiskDrive, VirtualMachine

_ALREADY = "The virtual machine is already in the specified state."


def piped(invocation: Invocation, kind: type) -> list:  # type: ignore[type-arg]
    """The model objects behind the pipeline input; anything else cannot be bound."""
    natives = []
    for item in invocation.input or []:
        native = item.native if isinstance(item, PSObject) else None
        if not isinstance(native, kind):
            raise errors.input_not_bound()
        natives.append(native)
    return natives


def target_vms(invocation: Invocation, parameter: str = "VMName") -> list[VirtualMachine]:
    """The VMs named by ``parameter`` (wildcards allowed) or piped in as VM objects."""
    from fakes.hyperv.host import VirtualMachine

    if invocation.input is not None and not invocation.has(parameter):
        return piped(invocation, VirtualMachine)
    names = invocation.texts(parameter)
    if not names:
        return list(invocation.host.vms)
    found: list[VirtualMachine] = []
    for name in names:
        matches = invocation.host.find_vms(name)
        if not matches and "*" not in name and "?" not in name:
            raise errors.vm_not_found(name)
        found.extend(vm for vm in matches if vm not in found)
    return found


# -- inventory -------------------------------------------------------------------------


def get_vmhost(invocation: Invocation) -> list[object]:
    return [vmhost_object(invocation.host)]


def get_vm(invocation: Invocation) -> list[object]:
    return [vm_object(vm) for vm in target_vms(invocation, "Name")]


def get_vm_hard_disk_drive(invocation: Invocation) -> list[object]:
    return [drive_object(vm, drive) for vm in target_vms(invocation) for drive in vm.drives]


def get_vhd(invocation: Invocation) -> list[object]:
    from fakes.hyperv.host import HardDiskDrive

    host = invocation.host
    if invocation.input is not None and not invocation.has("Path"):
        paths = [drive.vhd.path for drive in _piped_drives(invocation, HardDiskDrive)]
    else:
        paths = invocation.texts("Path")
    attached = {drive.vhd.path.lower() for vm in host.vms for drive in vm.drives}
    objects: list[object] = []
    for path in paths:
        vhd = host.vhd(path)
        if vhd is None:
            raise VirtualizationError(
                f"Getting the mounted storage instance for the path '{path}' failed.\n"
                "The system cannot find the file specified.",
                category="ObjectNotFound",
                error_id="ObjectNotFound",
                target=path,
            )
        objects.append(vhd_object(host, vhd, vhd.path.lower() in attached))
    return objects


def _piped_drives(invocation: Invocation, kind: type) -> list[HardDiskDrive]:
    """Drives piped in, or any object with a ``Path`` property (ByPropertyName binding)."""
    drives: list[HardDiskDrive] = []
    for item in invocation.input or []:
        native = item.native if isinstance(item, PSObject) else None
        if isinstance(native, kind):
            drives.append(native)  # type: ignore[arg-type]
            continue
        path = item.get("Path") if isinstance(item, PSObject) else None
        vhd = invocation.host.vhd(to_string(path)) if path is not None else None
        if vhd is None:
            raise errors.input_not_bound()
        drives.extend(d for vm in invocation.host.vms for d in vm.drives if d.vhd is vhd)
    return drives


def get_vm_network_adapter(invocation: Invocation) -> list[object]:
    vms = list(invocation.host.vms) if invocation.switch("All") else target_vms(invocation)
    name = invocation.text("Name")
    return [
        adapter_object(vm, adapter)
        for vm in vms
        for adapter in vm.adapters
        if not name or adapter.name.lower() == name.lower()
    ]


def get_vm_switch(invocation: Invocation) -> list[object]:
    host = invocation.host
    names = invocation.texts("Name")
    if not names:
        return [switch_object(host, switch) for switch in host.switches]
    found = []
    for name in names:
        matches = [s for s in host.switches if s.name.lower() == name.lower()]
        if not matches:
            raise VirtualizationError(
                f'Hyper-V was unable to find a virtual switch with name "{name}".',
                category="InvalidArgument",
                error_id="InvalidParameter",
                target=name,
            )
        found.extend(matches)
    return [switch_object(host, switch) for switch in found]


# -- power -----------------------------------------------------------------------------


def start_vm(invocation: Invocation) -> list[object]:
    vms = target_vms(invocation, "Name")
    for vm in vms:
        if not invocation.host.start_vm(vm):
            invocation.session.warn(_ALREADY)
    return [vm_object(vm) for vm in vms] if invocation.switch("Passthru") else []


def stop_vm(invocation: Invocation) -> list[object]:
    vms = target_vms(invocation, "Name")
    for vm in vms:
        if invocation.switch("Save") and vm.state is VMState.Running:
            vm.state = VMState.Saved
        elif not invocation.host.stop_vm(vm):
            invocation.session.warn(_ALREADY)
    return [vm_object(vm) for vm in vms] if invocation.switch("Passthru") else []


def remove_vm(invocation: Invocation) -> list[object]:
    for vm in target_vms(invocation, "Name"):
        if vm.state is not VMState.Off:
            raise errors.operation_failed(
                vm.name,
                "delete",
                "The operation cannot be performed while the virtual machine is running.",
                vm.vm_id,
            )
        invocation.host.remove_vm(vm.name)
    return []


def _spec(name: str, params: tuple[Param, ...], handler, **extra) -> CmdletSpec:  # type: ignore[no-untyped-def]
    return CmdletSpec(name, HYPERV_MODULE, hyperv_class(name), params, handler, **extra)


_VM_NAME = Param("VMName", "strings", position=0, mandatory=True)
_VM_PIPE = Param("VM", "objects", pipeline=True)
_NAME = Param("Name", "strings", position=0, mandatory=True, aliases=("VMName",))
_CONFIRM = Param("Confirm", "switch")

SPECS = (
    _spec("Get-VMHost", (Param("ComputerName", "strings", position=0),), get_vmhost),
    _spec(
        "Get-VM",
        (
            Param("Name", "strings", position=0, aliases=("VMName",)),
            Param("ComputerName", "strings"),
        ),
        get_vm,
    ),
    _spec(
        "Get-VMHardDiskDrive",
        (_VM_NAME, _VM_PIPE, Param("ControllerType", "string", choices=("IDE", "SCSI"))),
        get_vm_hard_disk_drive,
        one_of=("VMName",),
    ),
    _spec(
        "Get-VHD",
        (Param("Path", "strings", position=0, mandatory=True, pipeline=True),),
        get_vhd,
    ),
    _spec(
        "Get-VMNetworkAdapter",
        (_VM_NAME, _VM_PIPE, Param("All", "switch"), Param("Name", "string")),
        get_vm_network_adapter,
        exclusive=(("VMName", "All"),),
        one_of=("VMName", "All"),
    ),
    _spec("Get-VMSwitch", (Param("Name", "strings", position=0),), get_vm_switch),
    _spec(
        "Start-VM",
        (_NAME, _VM_PIPE, Param("Passthru", "switch"), _CONFIRM),
        start_vm,
        one_of=("Name",),
    ),
    _spec(
        "Stop-VM",
        (
            _NAME,
            _VM_PIPE,
            Param("Force", "switch"),
            Param("TurnOff", "switch"),
            Param("Save", "switch"),
            Param("Passthru", "switch"),
            _CONFIRM,
        ),
        stop_vm,
        exclusive=(("TurnOff", "Save"),),
        one_of=("Name",),
    ),
    _spec(
        "Remove-VM",
        (_NAME, _VM_PIPE, Param("Force", "switch"), _CONFIRM),
        remove_vm,
        one_of=("Name",),
    ),
)
