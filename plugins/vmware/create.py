"""Creating a new VM in vCenter: the machine a failback to an alternate location fills.

The placement is read first (REST): the datacenter and cluster of the ESXi
host named in the spec, its VM folder, the datastore with the most free
space, the port groups the NICs go on, and that no VM of the datacenter has
the name. Then one ``POST /api/vcenter/vm`` creates the VM powered off, with
empty thin VMDKs of the spec's capacities and VMXNET3 NICs, and the VM is
read back through the PropertyCollector as discovery reads every VM.

The create call is not retried: a lost answer may hide a created VM, and a
blind retry would refuse its own work as a duplicate name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plugins.vmware.client import VSphereClient, VSphereRestError
from plugins.vmware.collector import collect_vms
from plugins.vmware.discovery import VM_PROPERTIES, machine_of, page_size, root_folder
from provider.contracts.failover import AlternateMachine
from provider.errors import AlreadyExists, HostileResponse, NotFound
from provider.model.inventory import Machine

#: The vSphere guest OS (``VM.GuestOS``) the new VM declares for the original's family:
#: the newest generic server of each, so the hardware version offers what the guest
#: had (EFI, VMXNET3 drivers); the operator may refine it later.
GUEST_OS = {"windows": "WINDOWS_9_SERVER_64", "linux": "OTHER_4X_LINUX_64"}
#: NIC backing type of each REST network type.
_BACKING = ("STANDARD_PORTGROUP", "DISTRIBUTED_PORTGROUP", "OPAQUE_NETWORK")


@dataclass(frozen=True)
class HostPlace:
    """The ESXi host the spec names, where it sits, and its datacenter's name."""

    datacenter_id: str
    datacenter_name: str
    host_id: str
    host_name: str
    cluster_id: str = ""


def create_machine(client: VSphereClient, spec: AlternateMachine) -> Machine:
    """Create the VM ``spec`` describes, powered off, and return it as discovery sees it."""
    place = _host_place(client, spec)
    _check_name(client, place, spec)
    body = {
        "name": spec.name,
        "guest_OS": GUEST_OS[spec.os_type],
        "placement": _placement(client, place),
        "cpu": {"count": spec.cpu_count},
        "memory": {"size_MiB": spec.memory_mib},
        "disks": [
            {"type": "SCSI", "new_vmdk": {"capacity": size}} for size in spec.disk_capacities
        ],
        "nics": _nics(client, place, spec.networks),
    }
    vm_id = _create(client, spec, body)
    return _discovered(client, vm_id, place)


def _host_place(client: VSphereClient, spec: AlternateMachine) -> HostPlace:
    seen: list[str] = []
    for dc in _rows(client.rest_get("list datacenters", "/api/vcenter/datacenter"), "datacenter"):
        dc_id = str(dc["datacenter"])
        scope = {"datacenters": dc_id}
        for host in _rows(
            client.rest_get(f"list hosts of {dc_id}", "/api/vcenter/host", scope), "host"
        ):
            name = str(host.get("name", ""))
            seen.append(name)
            if name.lower() == spec.host.lower():
                found = HostPlace(dc_id, str(dc.get("name", dc_id)), str(host["host"]), name)
                return _with_cluster(client, found)
    raise NotFound(
        f"{client.vcenter}: cannot create {spec.name} on host {spec.host!r}: no such ESXi host "
        f"in vCenter (hosts: {', '.join(sorted(seen)) or 'none'})"
    )


def _with_cluster(client: VSphereClient, place: HostPlace) -> HostPlace:
    scope = {"datacenters": place.datacenter_id}
    for cluster in _rows(
        client.rest_get(f"list clusters of {place.datacenter_id}", "/api/vcenter/cluster", scope),
        "cluster",
    ):
        cluster_id = str(cluster["cluster"])
        members = client.rest_get(
            f"list hosts of cluster {cluster_id}", "/api/vcenter/host", {"clusters": cluster_id}
        )
        if any(row["host"] == place.host_id for row in _rows(members, "host")):
            return HostPlace(
                place.datacenter_id,
                place.datacenter_name,
                place.host_id,
                place.host_name,
                cluster_id,
            )
    return place


def _check_name(client: VSphereClient, place: HostPlace, spec: AlternateMachine) -> None:
    # vCenter refuses a duplicate name only within a folder; srp finds VMs by name
    # in a datacenter, so the whole datacenter must not have it.
    query = {"names": spec.name, "datacenters": place.datacenter_id}
    if _rows(client.rest_get(f"look for VMs named {spec.name}", "/api/vcenter/vm", query), "vm"):
        raise AlreadyExists(
            f"{client.vcenter}: a VM named {spec.name!r} is already in datacenter "
            f"{place.datacenter_name}"
        )


def _placement(client: VSphereClient, place: HostPlace) -> dict[str, str]:
    dc_id = place.datacenter_id
    detail = client.rest_get(f"read datacenter {dc_id}", f"/api/vcenter/datacenter/{dc_id}")
    folder = detail.get("vm_folder") if isinstance(detail, dict) else None
    if not isinstance(folder, str):
        raise HostileResponse(f"vCenter {client.vcenter}: datacenter {dc_id} has no vm_folder")
    stores = _rows(
        client.rest_get(
            f"list datastores of {dc_id}", "/api/vcenter/datastore", {"datacenters": dc_id}
        ),
        "datastore",
    )
    if not stores:
        raise NotFound(f"{client.vcenter}: datacenter {place.datacenter_name} has no datastore")
    # The new disks are thin: the datastore with the most room takes them.
    roomiest = max(stores, key=lambda row: int(row.get("free_space", 0)))
    placement = {"folder": folder, "host": place.host_id, "datastore": str(roomiest["datastore"])}
    if place.cluster_id:
        placement["cluster"] = place.cluster_id
    return placement


def _nics(
    client: VSphereClient, place: HostPlace, networks: tuple[str, ...]
) -> list[dict[str, Any]]:
    rows = client.rest_get(
        f"list networks of {place.datacenter_id}",
        "/api/vcenter/network",
        {"datacenters": place.datacenter_id},
    )
    types = {str(row["network"]): str(row.get("type", "")) for row in _rows(rows, "network")}
    missing = [network for network in networks if types.get(network) not in _BACKING]
    if missing:
        raise NotFound(
            f"{client.vcenter}: no port group with id {', '.join(missing)} in datacenter "
            f"{place.datacenter_name}"
        )
    return [
        {
            "type": "VMXNET3",
            "start_connected": True,
            "backing": {"type": types[network], "network": network},
        }
        for network in networks
    ]


def _create(client: VSphereClient, spec: AlternateMachine, body: dict[str, Any]) -> str:
    try:
        vm_id = client.rest_create(f"create VM {spec.name} on {spec.host}", "/api/vcenter/vm", body)
    except VSphereRestError as exc:
        if exc.error_type == "ALREADY_EXISTS":
            raise AlreadyExists(exc.message) from exc
        if exc.error_type == "NOT_FOUND":
            raise NotFound(exc.message) from exc
        raise
    if not isinstance(vm_id, str) or not vm_id:
        raise HostileResponse(f"vCenter {client.vcenter}: the created VM's id is not a JSON string")
    return vm_id


def _discovered(client: VSphereClient, vm_id: str, place: HostPlace) -> Machine:
    for vm in collect_vms(client, root_folder(client), VM_PROPERTIES, page_size(client)):
        if vm.moid == vm_id:
            return machine_of(vm, place.datacenter_id, place.host_name)
    raise HostileResponse(
        f"vCenter {client.vcenter}: the VM {vm_id} it created is not in its inventory"
    )


def _rows(value: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(r, dict) and key in r for r in value):
        raise HostileResponse(f"expected a list of objects with {key!r}")
    return value
