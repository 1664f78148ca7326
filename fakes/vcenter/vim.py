"""The vSphere JSON API (``/sdk/vim25/{release}/...``) of the simulated vCenter.

Methods are ``POST /sdk/vim25/{release}/{Type}/{moId}/{Method}`` with a JSON
body of the parameters; properties are ``GET .../{Type}/{moId}/{property}``.
Managed object references read ``{"_typeName": "ManagedObjectReference",
"type": ..., "value": ...}``. Faults come back as ``{"_typeName": <fault>,
...}`` with HTTP 500 (401 ``NotAuthenticated`` without a valid session).
The session id of ``POST /api/session`` is accepted here too, as vCenter 8
does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fakes.vcenter.faults import VimFault, invalid_argument
from fakes.vcenter.http import HttpRequest, HttpResponse
from fakes.vcenter.model import ROOT_FOLDER, VCenter, VirtualMachine, Vmdk
from fakes.vcenter.snapshots import Snapshot, iso, moref

API_VERSION = "8.0.2.0"
Route = Callable[[VCenter, HttpRequest, re.Match[str]], HttpResponse]


def _json(value: Any) -> HttpResponse:
    return HttpResponse.of_json(200, value)


def _params(request: HttpRequest) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError as exc:
        raise VimFault("InvalidRequest", f"The request body is not JSON: {exc}") from exc
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise VimFault("InvalidRequest", "The request body must be a JSON object.")
    return body


def params(request: HttpRequest) -> dict[str, Any]:
    """A method's parameters: the JSON object body (``{}`` when empty)."""
    return _params(request)


def device_of_disk(vmdk: Vmdk) -> dict[str, Any]:
    """The ``VirtualDisk`` device of a VMDK as the VM's config lists it now."""
    return _device(vmdk, vmdk.current_file, vmdk.cbt.change_id)


def service_content(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    return _json(
        {
            "_typeName": "ServiceContent",
            "about": {
                "_typeName": "AboutInfo",
                "name": "VMware vCenter Server",
                "fullName": f"VMware vCenter Server {API_VERSION[:5]} build-22617221",
                "vendor": "VMware, Inc.",
                "version": API_VERSION[:5],
                "build": "22617221",
                "apiType": "VirtualCenter",
                "apiVersion": API_VERSION,
                "instanceUuid": vc.instance_uuid,
            },
            "rootFolder": moref("Folder", ROOT_FOLDER),
            "propertyCollector": moref("PropertyCollector", "propertyCollector"),
            "viewManager": moref("ViewManager", "ViewManager"),
        }
    )


def create_snapshot(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    vm = vc.vim_vm(match["moid"])
    params = _params(request)
    name = params.get("name")
    if not isinstance(name, str) or not name:
        raise invalid_argument("name")
    task = vc.snapshots.create(
        vm, name, str(params.get("description") or ""), bool(params.get("quiesce"))
    )
    return _json(moref("Task", task.moid))


def remove_snapshot(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    _params(request)
    return _json(moref("Task", vc.snapshots.remove(match["moid"]).moid))


def reconfigure(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    vm = vc.vim_vm(match["moid"])
    spec = _params(request).get("spec")
    if not isinstance(spec, dict):
        raise invalid_argument("spec")
    tracking = spec.get("changeTrackingEnabled")
    if tracking is not None and not isinstance(tracking, bool):
        raise invalid_argument("spec.changeTrackingEnabled")
    return _json(moref("Task", vc.snapshots.reconfigure(vm, tracking).moid))


def task_info(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    with vc.lock:
        return _json(vc.snapshots.task(match["moid"]).info())


def vm_config(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    vm = vc.vim_vm(match["moid"])
    devices = [_device(vmdk, vmdk.current_file, vmdk.cbt.change_id) for vmdk in vm.disks]
    return _json(_config(vm, devices))


def snapshot_config(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    with vc.lock:
        snapshot = vc.snapshots.get(match["moid"])
        vm = snapshot.vm
        devices = [
            _device(vmdk, snapshot.files[vmdk.key], snapshot.frozen[vmdk.key].change_id)
            for vmdk in vm.disks
        ]
    return _json(_config(vm, devices))


def _config(vm: VirtualMachine, devices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "_typeName": "VirtualMachineConfigInfo",
        "name": vm.name,
        "instanceUuid": vm.instance_uuid,
        "changeTrackingEnabled": vm.cbt_enabled,
        "hardware": {
            "_typeName": "VirtualHardware",
            "numCPU": vm.cpu_count,
            "memoryMB": vm.memory_mib,
            "device": devices,
        },
    }


def _device(vmdk: Vmdk, file_name: str, change_id: str) -> dict[str, Any]:
    backing: dict[str, Any] = {
        "_typeName": "VirtualDiskFlatVer2BackingInfo",
        "fileName": file_name,
        "datastore": moref("Datastore", vmdk.datastore.moid),
        "diskMode": "persistent",
        "thinProvisioned": True,
    }
    if change_id:
        backing["changeId"] = change_id
    return {
        "_typeName": "VirtualDisk",
        "key": vmdk.key,
        "deviceInfo": {
            "_typeName": "Description",
            "label": vmdk.label,
            "summary": f"{vmdk.capacity // 1024} KB",
        },
        "capacityInBytes": vmdk.capacity,
        "backing": backing,
    }


def snapshot_tree(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    vm = vc.vim_vm(match["moid"])
    with vc.lock:
        chain = vc.snapshots.of_vm(vm)
    if not chain:
        return _json(None)
    return _json(
        {
            "_typeName": "VirtualMachineSnapshotInfo",
            "currentSnapshot": moref("VirtualMachineSnapshot", chain[-1].moid),
            "rootSnapshotList": [_tree(chain)],
        }
    )


def _tree(chain: list[Snapshot]) -> dict[str, Any]:
    # The fake's snapshots form one linear chain: each is the only child of the one before.
    head, rest = chain[0], chain[1:]
    return {
        "_typeName": "VirtualMachineSnapshotTree",
        "snapshot": moref("VirtualMachineSnapshot", head.moid),
        "vm": moref("VirtualMachine", head.vm.moid),
        "name": head.name,
        "description": head.description,
        "id": head.number,
        "createTime": iso(head.created_at),
        "state": head.vm.power_state.lower().replace("_", ""),
        "quiesced": head.quiesced,
        "childSnapshotList": [_tree(rest)] if rest else [],
    }


def query_changed_areas(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    vm = vc.vim_vm(match["moid"])
    params = _params(request)
    snapshot_ref, key, start, change_id = (
        params.get(k) for k in ("snapshot", "deviceKey", "startOffset", "changeId")
    )
    if not isinstance(snapshot_ref, dict) or snapshot_ref.get("type") != "VirtualMachineSnapshot":
        raise invalid_argument("snapshot")
    if not isinstance(key, int) or not isinstance(start, int) or not isinstance(change_id, str):
        raise invalid_argument(
            "deviceKey"
            if not isinstance(key, int)
            else "startOffset"
            if not isinstance(start, int)
            else "changeId"
        )
    with vc.lock:
        snapshot = vc.snapshots.get(str(snapshot_ref.get("value")))
        if snapshot.vm is not vm or key not in snapshot.frozen:
            raise invalid_argument("deviceKey" if snapshot.vm is vm else "snapshot")
        areas = vm.disk(key).cbt.query(
            snapshot.frozen[key], change_id, start, vc.faults.cbt_query_window
        )
    return _json(
        {
            "_typeName": "DiskChangeInfo",
            "startOffset": areas.start_offset,
            "length": areas.length,
            "changedArea": [
                {"_typeName": "DiskChangeExtent", "start": o, "length": n} for o, n in areas.areas
            ],
        }
    )


_M = r"/sdk/vim25/(?P<release>[^/]+)"
#: (method, path pattern, handler, needs a session)
ROUTES: tuple[tuple[str, re.Pattern[str], Route, bool], ...] = tuple(
    (method, re.compile(_M + pattern), handler, authed)
    for method, pattern, handler, authed in (
        ("GET", r"/ServiceInstance/ServiceInstance/content", service_content, False),
        ("POST", r"/VirtualMachine/(?P<moid>[^/]+)/CreateSnapshot_Task", create_snapshot, True),
        ("POST", r"/VirtualMachine/(?P<moid>[^/]+)/ReconfigVM_Task", reconfigure, True),
        (
            "POST",
            r"/VirtualMachine/(?P<moid>[^/]+)/QueryChangedDiskAreas",
            query_changed_areas,
            True,
        ),
        ("GET", r"/VirtualMachine/(?P<moid>[^/]+)/config", vm_config, True),
        ("GET", r"/VirtualMachine/(?P<moid>[^/]+)/snapshot", snapshot_tree, True),
        (
            "POST",
            r"/VirtualMachineSnapshot/(?P<moid>[^/]+)/RemoveSnapshot_Task",
            remove_snapshot,
            True,
        ),
        ("GET", r"/VirtualMachineSnapshot/(?P<moid>[^/]+)/config", snapshot_config, True),
        ("GET", r"/Task/(?P<moid>[^/]+)/info", task_info, True),
    )
)
