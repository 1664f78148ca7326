"""``POST /api/vcenter/vm``: creating a VM through the vSphere Automation REST API.

The request body is vSphere's ``VM.CreateSpec``::

    {"name": "web01-b", "guest_OS": "WINDOWS_9_SERVER_64",
     "placement": {"folder": "group-v3", "host": "host-5", "cluster": "domain-c4",
                   "datastore": "datastore-2"},
     "cpu": {"count": 2}, "memory": {"size_MiB": 4096},
     "disks": [{"type": "SCSI", "new_vmdk": {"capacity": 1048576}}],
     "nics": [{"type": "VMXNET3", "start_connected": true,
               "backing": {"type": "STANDARD_PORTGROUP", "network": "network-6"}}]}

As in vCenter, the placement needs a folder and a datastore and at least one
of host and cluster (a cluster alone places on its first host, as DRS would);
a host given with a cluster must be in it. The new VM is powered off with
zero-filled disks and the guest OS of the spec (one of
:data:`GUEST_OS_VALUES`). The answer is 201 with the new VM's id as a JSON string.
Errors are REST errors: ``INVALID_ARGUMENT`` for a malformed spec or a NIC
backing of the wrong type, ``NOT_FOUND`` for an unknown folder, host,
cluster, datastore or network, ``ALREADY_EXISTS`` for a name already used in
the folder. The fake simulates no resource pools: naming one is NOT_FOUND.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from fakes.vcenter.faults import RestError, not_found
from fakes.vcenter.http import HttpRequest, HttpResponse
from fakes.vcenter.model import Datacenter, Datastore, EsxHost, Network, VCenter

_SPEC = "com.vmware.vcenter.VM.create_spec"
#: The ``VM.GuestOS`` values the fake knows (a subset of vSphere's enumeration); the
#: new VM stores the one given and reports it in ``guest_OS`` and ``config.guestId``.
GUEST_OS_VALUES = (
    "WINDOWS_9_SERVER_64",
    "WINDOWS_2019SERVER_64",
    "WINDOWS_2022SERVER_64",
    "OTHER_3X_LINUX_64",
    "OTHER_4X_LINUX_64",
    "OTHER_LINUX_64",
    "RHEL_9_64",
    "UBUNTU_64",
    "OTHER_64",
)


@dataclass(frozen=True)
class Placement:
    """Where the new VM goes, resolved from the spec's ids."""

    datacenter: Datacenter
    host: EsxHost
    datastore: Datastore


def vm_folder(datacenter: Datacenter) -> str:
    """The id of the datacenter's VM folder (as ``GET /api/vcenter/datacenter/{id}`` reports)."""
    return f"group-v{datacenter.moid}"


def create_vm(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    spec = _spec(request)
    name = _text(spec, "name")
    guest_os = _guest_os(spec)
    place = placement(vc, _object(spec, "placement"))
    networks = [_nic_network(place.datacenter, nic) for nic in _list(spec, "nics")]
    disks = [_capacity(disk) for disk in _list(spec, "disks")]
    with vc.lock:
        if any(vm.name == name and vm.datacenter is place.datacenter for vm in vc.live_vms()):
            raise RestError("ALREADY_EXISTS", f"The name '{name}' already exists.")
        vm = vc.create_vm(
            name,
            place.host,
            disks=disks,
            networks=networks,
            power_on=False,
            cpu_count=_count(spec, "cpu", "count", 1),
            memory_mib=_count(spec, "memory", "size_MiB", 1024),
            datastore=place.datastore,
            guest_os=guest_os,
        )
    return HttpResponse.of_json(201, vm.moid)


def placement(vc: VCenter, spec: dict[str, Any]) -> Placement:
    """Resolve ``VM.ComputePlacementSpec`` + storage: folder, host or cluster, datastore."""
    folder = _text(spec, "folder", "placement.folder")
    datacenter = next((dc for dc in vc.datacenters if vm_folder(dc) == folder), None)
    if datacenter is None:
        raise not_found("folder", folder)
    if spec.get("resource_pool"):
        raise not_found("resource pool", str(spec["resource_pool"]))
    host = _host(datacenter, spec)
    wanted = _text(spec, "datastore", "placement.datastore")
    datastore = next((d for d in datacenter.datastores if d.moid == wanted), None)
    if datastore is None:
        raise not_found("datastore", wanted)
    return Placement(datacenter, host, datastore)


def _host(datacenter: Datacenter, spec: dict[str, Any]) -> EsxHost:
    host_id, cluster_id = spec.get("host"), spec.get("cluster")
    if not host_id and not cluster_id:
        raise _invalid("placement: at least one of host, cluster or resource_pool is required")
    cluster = None
    if cluster_id:
        cluster = next((c for c in datacenter.clusters if c.moid == cluster_id), None)
        if cluster is None:
            raise not_found("cluster", str(cluster_id))
    members = [h for h in datacenter.hosts if cluster is None or h.cluster is cluster]
    if not host_id:
        if not members:
            raise _invalid(f"placement: cluster '{cluster_id}' has no host")
        return members[0]
    host = next((h for h in datacenter.hosts if h.moid == host_id), None)
    if host is None:
        raise not_found("host", str(host_id))
    if host not in members:
        raise _invalid(f"placement: host '{host_id}' is not in cluster '{cluster_id}'")
    return host


def _nic_network(datacenter: Datacenter, nic: Any) -> Network:
    backing = nic.get("backing") if isinstance(nic, dict) else None
    if not isinstance(backing, dict) or not isinstance(backing.get("network"), str):
        raise _invalid("nics: every NIC needs backing.network")
    network = next((n for n in datacenter.networks if n.moid == backing["network"]), None)
    if network is None:
        raise not_found("network", backing["network"])
    if backing.get("type") != network.type:
        raise _invalid(
            f"nics: network '{network.moid}' is a {network.type}, not a {backing.get('type')}"
        )
    return network


def _guest_os(spec: dict[str, Any]) -> str:
    value = _text(spec, "guest_OS")
    if value not in GUEST_OS_VALUES:
        raise _invalid(
            f"Invalid value '{value}' for enumeration type 'com.vmware.vcenter.vm.GuestOS'."
        )
    return value


def _capacity(disk: Any) -> int:
    new = disk.get("new_vmdk") if isinstance(disk, dict) else None
    capacity = new.get("capacity") if isinstance(new, dict) else None
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity <= 0:
        raise _invalid("disks: every disk needs new_vmdk.capacity, a positive number of bytes")
    return capacity


def _count(spec: dict[str, Any], section: str, field: str, default: int) -> int:
    values = spec.get(section) or {}
    value = values.get(field, default) if isinstance(values, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _invalid(f"{section}.{field} must be a positive integer")
    return value


def _spec(request: HttpRequest) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError as exc:
        raise _invalid(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise _invalid("the body is not a VM.CreateSpec object")
    return body


def _text(spec: dict[str, Any], field: str, label: str = "") -> str:
    value = spec.get(field)
    if not isinstance(value, str) or not value:
        raise _invalid(f"Structure '{_SPEC}' is missing a required field '{label or field}'.")
    return value


def _object(spec: dict[str, Any], field: str) -> dict[str, Any]:
    value = spec.get(field)
    if not isinstance(value, dict):
        raise _invalid(f"Structure '{_SPEC}' is missing a required field '{field}'.")
    return value


def _list(spec: dict[str, Any], field: str) -> list[Any]:
    value = spec.get(field, [])
    if not isinstance(value, list):
        raise _invalid(f"{field} must be a list, got {json.dumps(value)[:60]}")
    return value


def _invalid(message: str) -> RestError:
    return RestError("INVALID_ARGUMENT", message)
