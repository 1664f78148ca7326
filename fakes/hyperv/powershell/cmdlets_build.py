"""Hyper-V cmdlets that build a machine: New-VM, New-VHD, Add-VMHardDiskDrive,
Add-VMNetworkAdapter, Connect-VMNetworkAdapter (by -VMName, or the adapters piped in from
Get-VMNetworkAdapter, as Hyper-V binds ``-VMNetworkAdapter`` from the pipeline).

They act on the host model as the real cmdlets act on a host: ``New-VM
-NoVHD`` makes a stopped VM with one adapter named "Network Adapter", not
connected; ``New-VHD`` makes an empty disk file; the others attach.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakes.hyperv.powershell.cmdlets_vm import piped, target_vms
from fakes.hyperv.powershell.commands import (
    HYPERV_MODULE,
    CmdletSpec,
    Invocation,
    Param,
    hyperv_class,
)
from fakes.hyperv.powershell.errors import VirtualizationError
from fakes.hyperv.powershell.objects import adapter_object, drive_object, vhd_object, vm_object

if TYPE_CHECKING:
    from fakes.hyperv.host import NetworkAdapter, VirtualMachine

MIB = 1 << 20


def new_vm(invocation: Invocation) -> list[object]:
    host, name = invocation.host, invocation.text("Name")
    if host.find_vms(name):
        # Hyper-V itself allows it; the fake host keys VMs by name, so it refuses.
        raise VirtualizationError(
            f"A virtual machine named '{name}' already exists on this host.",
            category="ResourceExists",
            error_id="ObjectExists",
            target=name,
        )
    switch = invocation.text("SwitchName") or None
    if switch is not None:
        _switch_named(invocation, switch)
    vm = host.create_vm(
        name,
        disks=(),
        adapters=[switch],
        generation=invocation.number("Generation", 1),
        memory=invocation.number("MemoryStartupBytes", 512 * MIB),
    )
    return [vm_object(vm)]


def new_vhd(invocation: Invocation) -> list[object]:
    host, path = invocation.host, invocation.text("Path")
    if host.vhd(path) is not None:
        raise VirtualizationError(
            f"Failed to create the virtual hard disk.\nThe system failed to create '{path}': "
            "The file exists. (0x80070050).",
            category="InvalidArgument",
            error_id="InvalidParameter",
            target=path,
        )
    return [vhd_object(host, host.new_vhd(path, invocation.number("SizeBytes")), False)]


def add_vm_hard_disk_drive(invocation: Invocation) -> list[object]:
    host, path = invocation.host, invocation.text("Path")
    vhd = host.vhd(path)
    if vhd is None:
        raise VirtualizationError(
            f"Failed to add device 'Virtual Hard Disk'.\nThe system cannot find the file "
            f"'{path}'. (0x80070002).",
            category="ObjectNotFound",
            error_id="ObjectNotFound",
            target=path,
        )
    drives = [(vm, host.attach_vhd(vm, vhd)) for vm in target_vms(invocation)]
    return [drive_object(vm, drive) for vm, drive in drives] if _passthru(invocation) else []


def add_vm_network_adapter(invocation: Invocation) -> list[object]:
    switch = invocation.text("SwitchName") or None
    if switch is not None:
        _switch_named(invocation, switch)
    added: list[object] = []
    for vm in target_vms(invocation):
        adapter = invocation.host.add_adapter(vm, switch)
        adapter.name = invocation.text("Name") or adapter.name
        added.append(adapter_object(vm, adapter))
    return added if _passthru(invocation) else []


def connect_vm_network_adapter(invocation: Invocation) -> list[object]:
    switch = _switch_named(invocation, invocation.text("SwitchName"))
    name = invocation.text("Name").lower()
    connected: list[object] = []
    for vm, adapter in _adapters(invocation):
        if not name or adapter.name.lower() == name:
            adapter.switch_name = switch
            connected.append(adapter_object(vm, adapter))
    return connected if _passthru(invocation) else []


def _adapters(invocation: Invocation) -> list[tuple[VirtualMachine, NetworkAdapter]]:
    """The adapters piped in (``Get-VMNetworkAdapter | ...``), else every adapter of -VMName."""
    from fakes.hyperv.host import NetworkAdapter

    if invocation.input is not None and not invocation.has("VMName"):
        chosen = piped(invocation, NetworkAdapter)
        owners = {id(a): vm for vm in invocation.host.vms for a in vm.adapters}
        return [(owners[id(adapter)], adapter) for adapter in chosen if id(adapter) in owners]
    return [(vm, adapter) for vm in target_vms(invocation) for adapter in vm.adapters]


def _switch_named(invocation: Invocation, name: str) -> str:
    for switch in invocation.host.switches:
        if switch.name.lower() == name.lower():
            return switch.name
    raise VirtualizationError(
        f'Hyper-V was unable to find a virtual switch with name "{name}".',
        category="InvalidArgument",
        error_id="InvalidParameter",
        target=name,
    )


def _passthru(invocation: Invocation) -> bool:
    return invocation.switch("Passthru")


def _spec(name: str, params: tuple[Param, ...], handler, **extra) -> CmdletSpec:  # type: ignore[no-untyped-def]
    return CmdletSpec(name, HYPERV_MODULE, hyperv_class(name), params, handler, **extra)


_VM_NAME = Param("VMName", "strings", position=0, mandatory=True)
_PASSTHRU = Param("Passthru", "switch")

SPECS = (
    _spec(
        "New-VM",
        (
            Param("Name", "string", position=0, mandatory=True, aliases=("VMName",)),
            Param("Generation", "int", minimum=1, maximum=2),
            Param("MemoryStartupBytes", "long", minimum=32 * MIB),
            Param("NoVHD", "switch"),
            Param("SwitchName", "string"),
        ),
        new_vm,
    ),
    _spec(
        "New-VHD",
        (
            Param("Path", "string", position=0, mandatory=True),
            Param("SizeBytes", "long", position=1, mandatory=True, minimum=1),
            Param("Dynamic", "switch"),
        ),
        new_vhd,
    ),
    _spec(
        "Add-VMHardDiskDrive",
        (_VM_NAME, Param("Path", "string", mandatory=True), _PASSTHRU),
        add_vm_hard_disk_drive,
    ),
    _spec(
        "Add-VMNetworkAdapter",
        (_VM_NAME, Param("SwitchName", "string"), Param("Name", "string"), _PASSTHRU),
        add_vm_network_adapter,
    ),
    _spec(
        "Connect-VMNetworkAdapter",
        (
            Param("VMName", "strings", position=0),
            Param("VMNetworkAdapter", "object", pipeline=True),
            Param("SwitchName", "string", mandatory=True),
            Param("Name", "string"),
            _PASSTHRU,
        ),
        connect_vm_network_adapter,
        one_of=("VMName",),
    ),
)
