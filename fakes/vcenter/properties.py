"""The JSON API's ViewManager and PropertyCollector: many VMs' properties in a few calls.

A client asks ``ViewManager/ViewManager/CreateContainerView`` for a view of
every ``VirtualMachine`` under the root folder, then
``PropertyCollector/propertyCollector/RetrievePropertiesEx`` with a
``PropertyFilterSpec`` whose ``ObjectSpec`` traverses the view (``path:
"view"``); the answer is a ``RetrieveResult`` of at most
``options.maxObjects`` ``ObjectContent`` entries and a ``token`` when more
remain, read with ``ContinueRetrievePropertiesEx``. ``DestroyView`` drops the
view; a view that is gone (destroyed, or never made) answers vSphere's
``ManagedObjectNotFound`` fault naming it, to ``DestroyView`` and to a
retrieval through it alike. Shapes are vSphere's: every value of a ``DynamicProperty`` carries its
``_typeName``; primitives and arrays are boxed as ``{"_typeName": ...,
"_value": ...}``; a property with no value (``guest.net`` while VMware Tools
is not running) is left out of the object's ``propSet``, as vCenter does.

The simulation's choice: a page holds at most :data:`MAX_PAGE` objects
whatever ``maxObjects`` asks (vCenter caps pages too), and a token is good
for one continuation.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fakes.vcenter.faults import VimFault, invalid_argument, object_not_found
from fakes.vcenter.http import HttpRequest, HttpResponse
from fakes.vcenter.model import POWERED_ON, ROOT_FOLDER, VCenter, VirtualMachine, VmNic
from fakes.vcenter.snapshots import moref
from fakes.vcenter.vim import device_of_disk, params

#: Most objects one page carries, whatever the client asks.
MAX_PAGE = 10_000
_POWER = {"POWERED_ON": "poweredOn", "POWERED_OFF": "poweredOff", "SUSPENDED": "suspended"}


def _boxed(type_name: str, value: Any) -> dict[str, Any]:
    return {"_typeName": type_name, "_value": value}


def _nic_device(nic: VmNic) -> dict[str, Any]:
    if nic.network.type == "DISTRIBUTED_PORTGROUP":
        backing: dict[str, Any] = {
            "_typeName": "VirtualEthernetCardDistributedVirtualPortBackingInfo",
            "port": {
                "_typeName": "DistributedVirtualSwitchPortConnection",
                "portgroupKey": nic.network.moid,
            },
        }
    else:
        backing = {
            "_typeName": "VirtualEthernetCardNetworkBackingInfo",
            "deviceName": nic.network.name,
            "network": moref("Network", nic.network.moid),
        }
    return {
        "_typeName": "VirtualVmxnet3",
        "key": nic.key,
        "deviceInfo": {"_typeName": "Description", "label": nic.label, "summary": nic.network.name},
        "macAddress": nic.mac,
        "addressType": "assigned",
        "backing": backing,
    }


def _guest_net(vm: VirtualMachine) -> list[dict[str, Any]]:
    return [
        {
            "_typeName": "GuestNicInfo",
            "network": nic.network.name,
            "ipAddress": list(nic.ip_addresses),
            "macAddress": nic.mac,
            "connected": True,
            "deviceConfigId": nic.key,
        }
        for nic in vm.nics
    ]


def _guest_id(vm: VirtualMachine) -> str:
    # The JSON API names guests by VirtualMachineGuestOsIdentifier, not the REST enum.
    if "WINDOWS" in vm.guest_os:
        return "windows2019srv_64Guest"
    return "other64Guest" if vm.guest_os == "OTHER_64" else "otherLinux64Guest"


Getter = Callable[[VirtualMachine], Any]

#: The VirtualMachine properties the fake can collect; absent (None) values are left out.
PROPERTIES: dict[str, Getter] = {
    "name": lambda vm: vm.name,
    "runtime.powerState": lambda vm: _boxed("VirtualMachinePowerState", _POWER[vm.power_state]),
    "runtime.host": lambda vm: moref("HostSystem", vm.host.moid),
    "config.hardware.device": lambda vm: _boxed(
        "ArrayOfVirtualDevice",
        [device_of_disk(d) for d in vm.disks] + [_nic_device(n) for n in vm.nics],
    ),
    "config.hardware.numCPU": lambda vm: _boxed("int", vm.cpu_count),
    "config.hardware.memoryMB": lambda vm: _boxed("int", vm.memory_mib),
    "config.guestId": lambda vm: _boxed("string", _guest_id(vm)),
    "guest.net": lambda vm: (
        _boxed("ArrayOfGuestNicInfo", _guest_net(vm))
        if vm.power_state == POWERED_ON and vm.tools_running
        else None
    ),
}


@dataclass(frozen=True)
class _Pending:
    """What a token's continuation still has to send."""

    moids: list[str]
    paths: list[str]
    page: int


@dataclass
class Collector:
    """Container views and unfinished retrievals of one simulated vCenter."""

    views: dict[str, str] = field(default_factory=dict)  # view id -> container id
    pending: dict[str, _Pending] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"


def collector_of(vc: VCenter) -> Collector:
    """The vCenter's collector state."""
    collector = vc.collector
    assert isinstance(collector, Collector)
    return collector


def _json(value: Any) -> HttpResponse:
    return HttpResponse.of_json(200, value)


def create_container_view(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    body = params(request)
    container, types = body.get("container"), body.get("type")
    if not isinstance(container, dict) or container.get("value") != ROOT_FOLDER:
        raise invalid_argument("container", "the fake serves views of the root folder only")
    if types != ["VirtualMachine"] or body.get("recursive") is not True:
        raise invalid_argument("type", "the fake serves recursive views of VirtualMachine only")
    state = collector_of(vc)
    with state.lock:
        view_id = state.new_id("session[fake]view")
        state.views[view_id] = ROOT_FOLDER
    return _json(moref("ContainerView", view_id))


def destroy_view(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    state = collector_of(vc)
    with state.lock:
        known = state.views.pop(match["moid"], None)
    if known is None:
        raise object_not_found("ContainerView", match["moid"])
    return HttpResponse(204)


def retrieve(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    body = params(request)
    paths = _paths(vc, body.get("specSet"))
    options = body.get("options")
    page = (options.get("maxObjects") if isinstance(options, dict) else None) or MAX_PAGE
    if not isinstance(page, int) or page <= 0:
        raise invalid_argument("options.maxObjects")
    with vc.lock:
        moids = sorted(vc.vms, key=lambda moid: int(moid.rpartition("-")[2]))
    return _json(_page(vc, moids, paths, min(page, MAX_PAGE)))


def continue_retrieve(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    token = params(request).get("token")
    state = collector_of(vc)
    with state.lock:
        found = state.pending.pop(token, None) if isinstance(token, str) else None
    if found is None:
        raise invalid_argument("token")
    return _json(_page(vc, found.moids, found.paths, found.page))


def _paths(vc: VCenter, spec_set: Any) -> list[str]:
    """The property paths of a one-filter spec over a live container view of VMs."""
    if not isinstance(spec_set, list) or len(spec_set) != 1 or not isinstance(spec_set[0], dict):
        raise invalid_argument("specSet")
    spec = spec_set[0]
    (prop_set,) = spec.get("propSet") or [None]
    (object_spec,) = spec.get("objectSet") or [None]
    if not isinstance(prop_set, dict) or prop_set.get("type") != "VirtualMachine":
        raise invalid_argument("specSet.propSet")
    view = object_spec.get("obj") if isinstance(object_spec, dict) else None
    if not isinstance(view, dict) or not isinstance(view.get("value"), str):
        raise invalid_argument("specSet.objectSet.obj")
    if view["value"] not in collector_of(vc).views:  # destroyed, or never made
        raise object_not_found("ContainerView", view["value"])
    paths = prop_set.get("pathSet")
    if not isinstance(paths, list) or not all(p in PROPERTIES for p in paths):
        raise VimFault("InvalidProperty", f"Property path not supported: {paths!r:.200}")
    return list(paths)


def _page(vc: VCenter, moids: list[str], paths: list[str], size: int) -> dict[str, Any]:
    batch, rest = moids[:size], moids[size:]
    objects = []
    for moid in batch:
        with vc.lock:
            vm = vc.vms.get(moid)
        if vm is not None:  # deleted since the retrieval began: not part of the answer
            objects.append(_object(vm, paths))
    result: dict[str, Any] = {"_typeName": "RetrieveResult", "objects": objects}
    if rest:
        state = collector_of(vc)
        with state.lock:
            token = state.new_id("token")
            state.pending[token] = _Pending(rest, paths, size)
        result["token"] = token
    return result


def _object(vm: VirtualMachine, paths: list[str]) -> dict[str, Any]:
    values = ((path, PROPERTIES[path](vm)) for path in paths)
    return {
        "_typeName": "ObjectContent",
        "obj": moref("VirtualMachine", vm.moid),
        "propSet": [
            {"_typeName": "DynamicProperty", "name": path, "val": value}
            for path, value in values
            if value is not None
        ],
    }


_M = r"/sdk/vim25/(?P<release>[^/]+)"
#: (method, path pattern, handler, needs a session)
ROUTES: tuple[tuple[str, re.Pattern[str], Callable[..., HttpResponse], bool], ...] = tuple(
    (method, re.compile(_M + pattern), handler, True)
    for method, pattern, handler in (
        ("POST", r"/ViewManager/ViewManager/CreateContainerView", create_container_view),
        ("POST", r"/ContainerView/(?P<moid>[^/]+)/DestroyView", destroy_view),
        ("POST", r"/PropertyCollector/propertyCollector/RetrievePropertiesEx", retrieve),
        (
            "POST",
            r"/PropertyCollector/propertyCollector/ContinueRetrievePropertiesEx",
            continue_retrieve,
        ),
    )
)
