"""The vSphere Automation REST API (``/api/...``) of the simulated vCenter.

Sessions: ``POST /api/session`` with Basic auth answers 201 and the session
id as a JSON string; clients send it back as ``vmware-api-session-id``;
``DELETE /api/session`` logs out. Inventory: datacenters, clusters, hosts,
networks, datastores, VMs (list with filters, detail, guest identity, power, and
creation: :mod:`fakes.vcenter.creation`).
Errors: ``{"error_type": ..., "messages": [...]}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fakes.vcenter.creation import create_vm
from fakes.vcenter.faults import RestError, not_found
from fakes.vcenter.http import HttpRequest, HttpResponse
from fakes.vcenter.model import POWERED_ON, Datacenter, VCenter, VirtualMachine

Route = Callable[[VCenter, HttpRequest, re.Match[str]], HttpResponse]


def _json(value: Any, status: int = 200) -> HttpResponse:
    return HttpResponse.of_json(status, value)


def login(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    return _json(vc.sessions.login_basic(request.header("Authorization")), 201)


def logout(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    vc.sessions.logout(request.header("vmware-api-session-id"))
    return HttpResponse(204)


def session_info(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    session = vc.sessions.touch(request.header("vmware-api-session-id"))
    return _json({"user": session.user, "created_time": session.created_at})


def datacenters(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    return _json([{"datacenter": dc.moid, "name": dc.name} for dc in _datacenters(vc, request)])


def datacenter(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    dc = _datacenter(vc, match["id"])
    folders = {
        f"{kind}_folder": f"group-{kind[0]}{dc.moid}"
        for kind in ("datastore", "host", "network", "vm")
    }
    return _json({"name": dc.name, **folders})


def clusters(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    return _json(
        [
            {"cluster": c.moid, "name": c.name, "ha_enabled": True, "drs_enabled": True}
            for dc in _datacenters(vc, request)
            for c in dc.clusters
        ]
    )


def hosts(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    wanted_clusters = set(request.query.get("clusters", []))
    return _json(
        [
            {
                "host": h.moid,
                "name": h.name,
                "connection_state": "CONNECTED",
                "power_state": "POWERED_ON",
            }
            for dc in _datacenters(vc, request)
            for h in dc.hosts
            if not wanted_clusters or (h.cluster is not None and h.cluster.moid in wanted_clusters)
        ]
    )


def networks(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    return _json(
        [
            {"network": n.moid, "name": n.name, "type": n.type}
            for dc in _datacenters(vc, request)
            for n in dc.networks
        ]
    )


def datastores(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    return _json(
        [
            {
                "datastore": d.moid,
                "name": d.name,
                "type": "VMFS",
                "capacity": d.capacity,
                "free_space": d.capacity // 2,
            }
            for dc in _datacenters(vc, request)
            for d in dc.datastores
        ]
    )


def vms(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    keep = _vm_filter(request)
    return _json([_summary(vm) for vm in vc.live_vms(keep)])


def _vm_filter(request: HttpRequest) -> Callable[[VirtualMachine], bool]:
    filters: dict[str, Callable[[VirtualMachine], str]] = {
        "vms": lambda vm: vm.moid,
        "names": lambda vm: vm.name,
        "hosts": lambda vm: vm.host.moid,
        "datacenters": lambda vm: vm.datacenter.moid,
        "power_states": lambda vm: vm.power_state,
        "clusters": lambda vm: vm.host.cluster.moid if vm.host.cluster else "",
    }
    wanted = {key: set(request.query[key]) for key in filters if request.query.get(key)}
    return lambda vm: all(filters[key](vm) in values for key, values in wanted.items())


def _summary(vm: VirtualMachine) -> dict[str, Any]:
    return {
        "vm": vm.moid,
        "name": vm.name,
        "power_state": vm.power_state,
        "cpu_count": vm.cpu_count,
        "memory_size_MiB": vm.memory_mib,
    }


def vm_detail(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    vm = vc.vm(match["vm"])
    return _json(
        {
            "name": vm.name,
            "identity": {
                "name": vm.name,
                "bios_uuid": vm.bios_uuid,
                "instance_uuid": vm.instance_uuid,
            },
            "guest_OS": vm.guest_os,
            "power_state": vm.power_state,
            "hardware": {"version": "VMX_19", "upgrade_policy": "NEVER", "upgrade_status": "NONE"},
            "cpu": {"count": vm.cpu_count, "cores_per_socket": 1, "hot_add_enabled": False},
            "memory": {"size_MiB": vm.memory_mib, "hot_add_enabled": False},
            "disks": {
                str(d.key): _disk(d.label, d.capacity, d.current_file, d.key) for d in vm.disks
            },
            "nics": {
                str(n.key): _nic(n.label, n.mac, n.network.moid, n.network.name, n.network.type)
                for n in vm.nics
            },
        }
    )


def _disk(label: str, capacity: int, vmdk_file: str, key: int) -> dict[str, Any]:
    return {
        "label": label,
        "type": "SCSI",
        "capacity": capacity,
        "scsi": {"bus": 0, "unit": key - 2000},
        "backing": {"type": "VMDK_FILE", "vmdk_file": vmdk_file},
    }


def _nic(label: str, mac: str, network: str, network_name: str, kind: str) -> dict[str, Any]:
    return {
        "label": label,
        "type": "VMXNET3",
        "mac_type": "ASSIGNED",
        "mac_address": mac,
        "state": "CONNECTED",
        "start_connected": True,
        "backing": {"type": kind, "network": network, "network_name": network_name},
    }


def guest_identity(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    vm = vc.vm(match["vm"])
    if vm.power_state != POWERED_ON or not vm.tools_running:
        raise RestError(
            "SERVICE_UNAVAILABLE", "Guest operations agent (VMware Tools) is not running."
        )
    return _json(
        {
            "name": "WINDOWS_9_SERVER_64",
            "family": "WINDOWS",
            "full_name": {
                "default_message": "Microsoft Windows Server 2019 (64-bit)",
                "id": "vmsg.guestos.windows2019srv_64Guest.label",
                "args": [],
            },
            "host_name": vm.name,
            "ip_address": next((ip for nic in vm.nics for ip in nic.ip_addresses), ""),
        }
    )


def power_state(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    return _json({"state": vc.vm(match["vm"]).power_state})


def power_action(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    vc.set_power(vc.vm(match["vm"]), request.param("action"))
    return HttpResponse(204)


def _datacenters(vc: VCenter, request: HttpRequest) -> list[Datacenter]:
    wanted = set(request.query.get("datacenters", []))
    return [dc for dc in vc.datacenters if not wanted or dc.moid in wanted]


def _datacenter(vc: VCenter, moid: str) -> Datacenter:
    for dc in vc.datacenters:
        if dc.moid == moid:
            return dc
    raise not_found("datacenter", moid)


#: (method, path pattern, handler, needs a session)
ROUTES: tuple[tuple[str, re.Pattern[str], Route, bool], ...] = tuple(
    (method, re.compile(pattern), handler, authed)
    for method, pattern, handler, authed in (
        ("POST", r"/api/session", login, False),
        ("DELETE", r"/api/session", logout, False),
        ("GET", r"/api/session", session_info, False),
        ("GET", r"/api/vcenter/datacenter", datacenters, True),
        ("GET", r"/api/vcenter/datacenter/(?P<id>[^/]+)", datacenter, True),
        ("GET", r"/api/vcenter/cluster", clusters, True),
        ("GET", r"/api/vcenter/host", hosts, True),
        ("GET", r"/api/vcenter/network", networks, True),
        ("GET", r"/api/vcenter/datastore", datastores, True),
        ("GET", r"/api/vcenter/vm", vms, True),
        ("POST", r"/api/vcenter/vm", create_vm, True),
        ("GET", r"/api/vcenter/vm/(?P<vm>[^/]+)", vm_detail, True),
        ("GET", r"/api/vcenter/vm/(?P<vm>[^/]+)/guest/identity", guest_identity, True),
        ("GET", r"/api/vcenter/vm/(?P<vm>[^/]+)/power", power_state, True),
        ("POST", r"/api/vcenter/vm/(?P<vm>[^/]+)/power", power_action, True),
    )
)
