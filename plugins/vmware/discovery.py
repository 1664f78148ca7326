"""Discovery of a vCenter: datacenters as containers, hosts, networks, VMs, disks, NICs.

Round trips do not grow with the VM count: the ServiceContent, the
datacenter list, per datacenter its hosts and networks (REST), then every
VM's properties through a container view and the PropertyCollector
(:mod:`plugins.vmware.collector`): four JSON API calls while the VMs fit
in one page of ``discovery_page_size``. A NIC's guest addresses are what
VMware Tools reports (``guest.net``), so a failover can keep them.
"""

from __future__ import annotations

from typing import Any

from plugins.vmware.client import VSphereClient
from plugins.vmware.collector import ObjectProperties, collect_vms
from provider.contracts.connection import FabricIdentity
from provider.errors import HostileResponse, ValidationError, WrongFabricKind
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
#: The VM properties discovery collects.
VM_PROPERTIES = (
    "name",
    "runtime.powerState",
    "runtime.host",
    "config.hardware.device",
    "config.hardware.numCPU",
    "config.hardware.memoryMB",
    "config.guestId",
    "guest.net",
)
DEFAULT_PAGE_SIZE = "5000"


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
    """Every datacenter's hosts and networks, and every VM placed by its host."""
    containers, networks, hosts = [], [], []
    datacenter_of_host: dict[str, tuple[str, str]] = {}
    for dc in _list(client.rest_get("list datacenters", "/api/vcenter/datacenter"), "datacenter"):
        dc_id = str(dc["datacenter"])
        containers.append(
            ProtectionContainer(dc_id, str(dc.get("name") or dc_id), kind="datacenter")
        )
        scope = {"datacenters": dc_id}
        for row in _list(
            client.rest_get(f"list hosts of {dc_id}", "/api/vcenter/host", scope), "host"
        ):
            host = Host(str(row["host"]), str(row.get("name") or row["host"]), "hypervisor")
            hosts.append(host)
            datacenter_of_host[host.host_id] = (dc_id, host.name)
        networks += [
            _network(n)
            for n in _list(
                client.rest_get(f"list networks of {dc_id}", "/api/vcenter/network", scope),
                "network",
            )
        ]
    machines = tuple(_machines(client, datacenter_of_host))
    return Inventory(tuple(containers), machines, tuple(networks), tuple(hosts))


def _machines(client: VSphereClient, placement: dict[str, tuple[str, str]]) -> list[Machine]:
    root = root_folder(client)
    found = []
    for vm in collect_vms(client, root, VM_PROPERTIES, page_size(client)):
        host_ref = vm.get("runtime.host")
        host_id = str(host_ref.get("value", "")) if isinstance(host_ref, dict) else ""
        if host_id not in placement:
            continue  # on a host added since the host list was read: the next refresh has it
        dc_id, host_name = placement[host_id]
        found.append(machine_of(vm, dc_id, host_name))
    return sorted(found, key=lambda m: (m.container_id, m.name, m.machine_id))


def root_folder(client: VSphereClient) -> str:
    content = client.service_content()
    root = content.get("rootFolder") if isinstance(content, dict) else None
    if not isinstance(root, dict) or not isinstance(root.get("value"), str):
        raise HostileResponse(f"vCenter {client.vcenter}: the ServiceContent has no rootFolder")
    return str(root["value"])


def page_size(client: VSphereClient) -> int:
    text = client.connection.option("discovery_page_size", DEFAULT_PAGE_SIZE)
    if not text.isdigit() or int(text) <= 0:
        raise ValidationError(
            f"fabric {client.connection.fabric_id!r}: discovery_page_size must be a positive "
            f"integer, got {text!r}"
        )
    return int(text)


def machine_of(vm: ObjectProperties, container_id: str, host: str) -> Machine:
    """A Machine from a VM's collected properties (see :data:`VM_PROPERTIES`)."""
    where = f"VM {vm.moid}"
    name = vm.get("name")
    devices = vm.get("config.hardware.device")
    if not isinstance(name, str) or not isinstance(devices, list):
        raise HostileResponse(f"{where}: no name or no device list")
    addresses = _guest_addresses(vm.get("guest.net"))
    return Machine(
        machine_id=vm.moid,
        name=name,
        container_id=container_id,
        disks=tuple(_disk(d, where) for d in devices if _is_disk(d)),
        nics=tuple(_nic(d, addresses) for d in devices if _is_nic(d)),
        host=host,
        power_state=srp_power_state(_POWER_NAMES.get(str(vm.get("runtime.powerState")), "")),
        os_type="windows" if str(vm.get("config.guestId", "")).startswith("win") else "linux",
        cpu_count=max(1, _int(vm.get("config.hardware.numCPU"), 1)),
        memory_mib=max(1, _int(vm.get("config.hardware.memoryMB"), 1024)),
    )


#: ``runtime.powerState`` values in the REST API's words.
_POWER_NAMES = {"poweredOn": "POWERED_ON", "poweredOff": "POWERED_OFF", "suspended": "SUSPENDED"}


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


#: vSphere's power states in srp's words (those the other fabrics report too).
_POWER_STATES = {"POWERED_ON": "running", "POWERED_OFF": "off", "SUSPENDED": "suspended"}


def srp_power_state(vsphere_state: str) -> str:
    """``running``, ``off`` or ``suspended``: what the engine and operators compare against."""
    return _POWER_STATES.get(vsphere_state, vsphere_state.lower())


def _is_disk(device: Any) -> bool:
    return isinstance(device, dict) and device.get("_typeName") == "VirtualDisk"


def _is_nic(device: Any) -> bool:
    # Every VirtualEthernetCard subtype (VirtualVmxnet3, VirtualE1000e...) has a macAddress.
    return (
        isinstance(device, dict)
        and isinstance(device.get("backing"), dict)
        and str(device.get("backing", {}).get("_typeName", "")).startswith("VirtualEthernetCard")
    )


def _disk(device: dict[str, Any], where: str) -> Disk:
    key, capacity, backing = device.get("key"), device.get("capacityInBytes"), device.get("backing")
    if not isinstance(key, int) or not isinstance(capacity, int) or not isinstance(backing, dict):
        raise HostileResponse(f"{where}: a disk has no key, capacity or backing")
    info = device.get("deviceInfo")
    label = info.get("label") if isinstance(info, dict) else None
    return Disk(str(key), str(label or key), capacity, str(backing.get("fileName", "")))


def _nic(device: dict[str, Any], addresses: dict[int, tuple[str, ...]]) -> Nic:
    backing = device["backing"]
    network = backing.get("network")
    port = backing.get("port")
    if isinstance(network, dict):
        network_id = str(network.get("value", ""))
    elif isinstance(port, dict):
        network_id = str(port.get("portgroupKey", ""))  # a distributed port group
    else:
        network_id = str(backing.get("opaqueNetworkId", ""))
    key = device.get("key")
    return Nic(
        str(key),
        network_id,
        str(device.get("macAddress", "")),
        addresses.get(key, ()) if isinstance(key, int) else (),
    )


def _guest_addresses(net: Any) -> dict[int, tuple[str, ...]]:
    """NIC device key -> the guest's IP addresses on it, as VMware Tools reports them."""
    found: dict[int, tuple[str, ...]] = {}
    for entry in net if isinstance(net, list) else []:
        key = entry.get("deviceConfigId") if isinstance(entry, dict) else None
        ips = entry.get("ipAddress") if isinstance(entry, dict) else None
        if isinstance(key, int) and isinstance(ips, list):
            found[key] = tuple(str(ip) for ip in ips if isinstance(ip, str))
    return found


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
