"""SrpAgent module cmdlets: srp's own host agent (change tracking, consistent cuts, reads).

These are srp's product cmdlets, installed on each Hyper-V host like ASR's
provider, not Microsoft's; the fake implements them on the fake disks.
"""

from __future__ import annotations

import base64
import binascii

from fakes.hyperv.agent import CutResult, agent_error, parse_extents, parse_previous
from fakes.hyperv.powershell.cmdlets_vm import target_vms
from fakes.hyperv.powershell.commands import (
    AGENT_MODULE,
    CmdletSpec,
    Handler,
    Invocation,
    Param,
    agent_class,
)
from fakes.hyperv.powershell.values import PSObject

_CUSTOM_OBJECT = "System.Management.Automation.PSCustomObject"


def enable_tracking(invocation: Invocation) -> list[object]:
    outputs: list[object] = []
    agent = invocation.host.agent
    for vm in target_vms(invocation):
        base_cut = agent.enable_tracking(vm)
        properties: dict[str, object] = {
            "VMName": vm.name,
            "VMId": vm.vm_id,
            "BaseCut": base_cut,
            "Disks": agent.disk_ids(vm),
        }
        outputs.append(PSObject(_CUSTOM_OBJECT, properties))
    return outputs


def disable_tracking(invocation: Invocation) -> list[object]:
    for vm in target_vms(invocation):
        invocation.host.agent.disable_tracking(vm)
    return []


def new_cut(invocation: Invocation) -> list[object]:
    vms = target_vms(invocation)
    try:
        previous = parse_previous(invocation.texts("Previous"))
    except ValueError as exc:
        raise agent_error(f"Invalid -Previous value: {exc}.") from exc
    consistency = invocation.text("Consistency", "Crash")
    result = invocation.host.agent.new_cut(vms, invocation.text("CutId"), consistency, previous)
    return [_cut_object(result)]


def _cut_object(result: CutResult) -> PSObject:
    cut: dict[str, object] = {
        "CutId": result.cut_id,
        "TakenAt": result.taken_at,
        "Consistency": result.consistency,
        "Note": result.note,
    }
    disks = [
        PSObject(
            _CUSTOM_OBJECT,
            {
                "VMId": disk.vm_id,
                "DiskId": disk.disk_id,
                "Capacity": disk.capacity,
                "Mode": disk.mode,
                "Extents": disk.extents_text,
                "Reason": disk.reason,
            },
        )
        for disk in result.disks
    ]
    cut_object = PSObject(_CUSTOM_OBJECT, cut)
    return PSObject(_CUSTOM_OBJECT, {"Cut": cut_object, "Disks": disks})


def read_extent(invocation: Invocation) -> list[object]:
    try:
        extents = parse_extents(invocation.text("Extents"))
    except ValueError as exc:
        raise agent_error(f"Invalid -Extents value: {exc}.") from exc
    data = invocation.host.agent.read(
        invocation.text("CutId"), invocation.text("VMId"), invocation.text("DiskId"), extents
    )
    return [PSObject(_CUSTOM_OBJECT, {"Data": base64.b64encode(data).decode("ascii")})]


def block_digests(invocation: Invocation) -> list[object]:
    digests = invocation.host.agent.digests(
        invocation.text("CutId"),
        invocation.text("VMId"),
        invocation.text("DiskId"),
        invocation.number("BlockSize"),
        invocation.number("Offset"),
        invocation.number("Count"),
    )
    return [PSObject(_CUSTOM_OBJECT, {"Digests": base64.b64encode(digests).decode("ascii")})]


def write_extent(invocation: Invocation) -> list[object]:
    vm_id = invocation.text("VMId")
    vm = invocation.host.vm_by_id(vm_id)
    if vm is None:
        raise agent_error(f"Virtual machine '{vm_id}' was not found on this host.", vm_id)
    try:
        data = base64.b64decode(invocation.text("Data"), validate=True)
    except binascii.Error as exc:
        raise agent_error(f"Invalid -Data value: it is not base64 ({exc}).") from exc
    offset = invocation.number("Offset")
    disk_id = invocation.text("DiskId")
    digest = invocation.host.agent.write(vm, disk_id, offset, data)
    properties: dict[str, object] = {
        "VMId": vm.vm_id,
        "DiskId": disk_id.lower(),
        "Offset": offset,
        "Length": len(data),
        "Sha256": digest,
    }
    return [PSObject(_CUSTOM_OBJECT, properties)]


def confirm_cut(invocation: Invocation) -> list[object]:
    invocation.host.agent.confirm(invocation.text("CutId"))
    return []


def remove_cut(invocation: Invocation) -> list[object]:
    invocation.host.agent.remove(invocation.text("CutId"))
    return []


def _spec(name: str, params: tuple[Param, ...], handler: Handler) -> CmdletSpec:
    return CmdletSpec(name, AGENT_MODULE, agent_class(name), params, handler)


_VM_NAME = Param("VMName", "strings", position=0, mandatory=True)
_CUT_ID = Param("CutId", "string", mandatory=True)
_VM_ID = Param("VMId", "string", mandatory=True)
_DISK_ID = Param("DiskId", "string", mandatory=True)

SPECS = (
    _spec("Enable-SrpChangeTracking", (_VM_NAME,), enable_tracking),
    _spec("Disable-SrpChangeTracking", (_VM_NAME,), disable_tracking),
    _spec(
        "New-SrpCut",
        (
            _VM_NAME,
            _CUT_ID,
            Param("Consistency", "string", choices=("Crash", "Application")),
            Param("Previous", "strings"),
        ),
        new_cut,
    ),
    _spec(
        "Read-SrpCutExtent",
        (_CUT_ID, _VM_ID, _DISK_ID, Param("Extents", "string", mandatory=True)),
        read_extent,
    ),
    _spec(
        "Get-SrpBlockDigests",
        (
            _CUT_ID,
            _VM_ID,
            _DISK_ID,
            Param("BlockSize", "int", mandatory=True, minimum=512),
            Param("Offset", "long", mandatory=True, minimum=0),
            Param("Count", "int", mandatory=True, minimum=0),
        ),
        block_digests,
    ),
    _spec(
        "Write-SrpDiskExtent",
        (
            _VM_ID,
            _DISK_ID,
            Param("Offset", "long", mandatory=True, minimum=0),
            Param("Data", "string", mandatory=True),
        ),
        write_extent,
    ),
    _spec("Confirm-SrpCut", (_CUT_ID,), confirm_cut),
    _spec("Remove-SrpCut", (_CUT_ID,), remove_cut),
)
