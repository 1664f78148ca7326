"""Discovery of a vCenter: datacenters as containers, hosts, networks, VMs, disks, NICs.

Round trips: the ServiceContent, the datacenter list, then per datacenter
its hosts, networks and VMs, per host the VMs it runs (to place them), and
one detail call per VM (the REST API has no batch read of VM hardware).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from plugins.vmware.client import VSphereClient
from provider.contracts.connection import FabricIdentity
from provider.errors import HostileResponse, MachineNotFound, WrongFabricKind
from provider.model.inventory import (
    Disk,
    Host,
    Inventory,
    Machine,
    Network,
    Nic,
    ProtectionContainer,
)

KIND = "vmware"


def identify(client: VSphereClient) -> FabricIdentity:
    """Who the endpoint says it is; an ESXi host alone is not a vCenter."""
    about = _field(client.service_content(), "about", dict, f"vCenter {client.vcenter}")
    if about.get("apiType") != "VirtualCenter":
        raise WrongFabricKind(
            f"{client.vcenter} is a {about.get('apiType', 'non-vSphere')} endpoint, not a vCenter"
        )
    client.rest_get("check the session", "/api/vcenter/datacenter")
    return FabricIdentity(
        name=str(about.get("name", "vCenter")),
        kind=KIND,
        version=f"{about.get('version', '')} build {about.get('build', '')}".strip(),
        server_id=str(about.get("instanceUuid", "")),
    )


def discover(client: VSphereClient) -> Inventory:
    """Every datacenter's hosts, networks and VMs."""
    containers, machines, networks, hosts = [], [], [], []
    for dc in _list(client.rest_get("list datacenters", "/api/vcenter/datacenter"), "datacenter"):
        dc_id = str(dc["datacenter"])
        containers.append(
            ProtectionContainer(dc_id, str(dc.get("name") or dc_id), kind="datacenter")
        )
        scope = {"datacenters": dc_id}
        dc_hosts = _list(
            client.rest_get(f"list hosts of {dc_id}", "/api/vcenter/host", scope), "host"
        )
        dc_networks = _list(
            client.rest_get(f"list networks of {dc_id}", "/api/vcenter/network", scope), "network"
        )
        hosts += [
            Host(str(h["host"]), str(h.get("name") or h["host"]), "hypervisor") for h in dc_hosts
        ]
        networks += [_network(n) for n in dc_networks]
        placement = _placement(client, dc_hosts)
        summaries = _list(client.rest_get(f"list VMs of {dc_id}", "/api/vcenter/vm", scope), "vm")
        machines += list(_machines(client, summaries, dc_id, placement))
    return Inventory(tuple(containers), tuple(machines), tuple(networks), tuple(hosts))


def _placement(client: VSphereClient, hosts: list[dict[str, Any]]) -> dict[str, str]:
    """VM id -> name of the ESXi host running it."""
    placed: dict[str, str] = {}
    for host in hosts:
        host_id = str(host["host"])
        for vm in _list(
            client.rest_get(f"list VMs of {host_id}", "/api/vcenter/vm", {"hosts": host_id}), "vm"
        ):
            placed[str(vm["vm"])] = str(host.get("name") or host_id)
    return placed


def _machines(
    client: VSphereClient, summaries: list[dict[str, Any]], dc_id: str, placement: dict[str, str]
) -> Iterable[Machine]:
    for summary in summaries:
        vm_id = str(summary["vm"])
        try:
            detail = client.rest_get(f"get VM {vm_id}", f"/api/vcenter/vm/{vm_id}")
        except MachineNotFound:
            continue  # deleted between the list and the detail: not part of this inventory
        yield machine_of(vm_id, detail, dc_id, placement.get(vm_id, ""))


def machine_of(vm_id: str, detail: Any, container_id: str, host: str) -> Machine:
    """A Machine from ``GET /api/vcenter/vm/{vm}``."""
    where = f"VM {vm_id}"
    _field(detail, "name", str, where)
    disks = _field(detail, "disks", dict, where)
    nics = _field(detail, "nics", dict, where)
    cpu = detail.get("cpu") if isinstance(detail.get("cpu"), dict) else {}
    memory = detail.get("memory") if isinstance(detail.get("memory"), dict) else {}
    return Machine(
        machine_id=vm_id,
        name=_field(detail, "name", str, where),
        container_id=container_id,
        disks=tuple(_disk(key, value, where) for key, value in sorted(disks.items())),
        nics=tuple(_nic(key, value) for key, value in sorted(nics.items())),
        host=host,
        power_state=srp_power_state(str(detail.get("power_state", ""))),
        os_type="windows" if "WINDOWS" in str(detail.get("guest_OS", "")) else "linux",
        cpu_count=max(1, int(cpu.get("count", 1))),
        memory_mib=max(1, int(memory.get("size_MiB", 1024))),
    )


#: vSphere's power states in srp's words (those the other fabrics report too).
_POWER_STATES = {"POWERED_ON": "running", "POWERED_OFF": "off", "SUSPENDED": "suspended"}


def srp_power_state(vsphere_state: str) -> str:
    """``running``, ``off`` or ``suspended``: what the engine and operators compare against."""
    return _POWER_STATES.get(vsphere_state, vsphere_state.lower())


def _disk(key: str, value: Any, where: str) -> Disk:
    backing = value.get("backing") if isinstance(value, dict) else None
    if not isinstance(backing, dict) or not isinstance(value.get("capacity"), int):
        raise HostileResponse(f"{where}: disk {key!r} has no capacity or backing")
    return Disk(
        str(key),
        str(value.get("label") or key),
        int(value["capacity"]),
        str(backing.get("vmdk_file", "")),
    )


def _nic(key: str, value: Any) -> Nic:
    backing = value.get("backing", {}) if isinstance(value, dict) else {}
    return Nic(str(key), str(backing.get("network", "")), str(value.get("mac_address", "")))


def _network(row: dict[str, Any]) -> Network:
    kind = {"DISTRIBUTED_PORTGROUP": "dvportgroup", "OPAQUE_NETWORK": "opaque"}.get(
        str(row.get("type")), "portgroup"
    )
    return Network(str(row["network"]), str(row.get("name") or row["network"]), kind)


def _list(value: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(r, dict) and key in r for r in value):
        raise HostileResponse(f"expected a list of objects with {key!r}")
    return value


def _field(value: Any, key: str, kind: type, where: str) -> Any:
    if not isinstance(value, dict) or not isinstance(value.get(key), kind):
        raise HostileResponse(f"{where}: field {key!r} is missing or not a {kind.__name__}")
    return value[key]
