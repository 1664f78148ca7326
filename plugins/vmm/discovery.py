"""Discovery of a VMM server: clouds as protection containers, their VMs, hosts, VM networks.

Round trips are bounded by the number of hosts, never by the number of
VMs: one script to the VMM server reads the whole fabric (server, host
groups, hosts, clouds with capacity and usage, logical and VM networks,
VMs and their adapters), then one script per host that runs cloud VMs reads
their disks with the hyperv plugin's host discovery (the VHD disk ids the
SrpAgent tracks). Any failure, on the VMM server or on a host, fails the
whole discovery before anything is returned, so a registration or refresh
changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from plugins.hyperv import discovery as host_discovery
from plugins.hyperv.client import HyperVClient
from plugins.hyperv.records import Row, one_row
from plugins.vmm import scripts
from plugins.vmm.kinds import KIND
from plugins.vmm.model import (
    CloudCapacity,
    VmmAdapter,
    VmmCloud,
    VmmFabric,
    VmmHost,
    VmmVm,
)
from provider.contracts.connection import FabricIdentity
from provider.errors import FabricError
from provider.model.inventory import Host, Inventory, Machine, Network, ProtectionContainer

CONTAINER_KIND = "vmm-cloud"
NETWORK_KIND = "vm-network"

#: Gives the client of a host by its FQDN.
HostClientOf = Callable[[str], HyperVClient]


def identify(client: HyperVClient, server: str, port: int) -> FabricIdentity:
    """Who the VMM server says it is (Get-SCVMMServer)."""
    script = scripts.connect(server, port)
    answer = one_row(client.query(script), f"{client.host}: {script.command}")
    return _identity(answer)


def _identity(answer: Row) -> FabricIdentity:
    row = one_row(answer.data.get("Server"), f"{answer.where}: Server")
    return FabricIdentity(
        name=row.text("Name"),
        kind=KIND,
        version=row.optional_text("ProductVersion"),
        server_id=row.optional_text("FQDN") or row.text("Name"),
    )


def read_fabric(client: HyperVClient, server: str, port: int) -> VmmFabric:
    """The VMM server's whole fabric, in one round trip."""
    script = scripts.discover(server, port)
    answer = one_row(client.query(script), f"{client.host}: {script.command}")
    hosts = tuple(_host(row) for row in answer.rows("Hosts"))
    networks = {row.text("ID").lower(): row for row in answer.rows("VMNetworks")}
    return VmmFabric(
        identity=_identity(answer),
        clouds=tuple(_clouds(answer, hosts, networks)),
        hosts=hosts,
        vm_networks=tuple(_network(row) for row in networks.values()),
        vms=tuple(_vm(row) for row in answer.rows("VMs")),
        adapters=tuple(_adapter(row) for row in answer.rows("Adapters")),
    )


def _host(row: Row) -> VmmHost:
    return VmmHost(
        name=row.text("Name"),
        computer_name=row.optional_text("ComputerName"),
        host_group=row.optional_text("HostGroup"),
        responding=row.optional_text("CommunicationState") in ("", "Responding"),
    )


def _network(row: Row) -> Network:
    return Network(row.text("ID").lower(), row.text("Name"), kind=NETWORK_KIND)


def _clouds(
    answer: Row, hosts: tuple[VmmHost, ...], networks: dict[str, Row]
) -> Iterable[VmmCloud]:
    capacity = {row.text("CloudId").lower(): row for row in answer.rows("Capacity")}
    usage = {row.text("CloudId").lower(): row for row in answer.rows("Usage")}
    for row in answer.rows("Clouds"):
        cloud_id = row.text("ID").lower()
        groups = row.texts("HostGroups")
        logical = {value.lower() for value in row.texts("LogicalNetworkIds")}
        yield VmmCloud(
            cloud_id=cloud_id,
            name=row.text("Name"),
            host_groups=groups,
            hosts=tuple(h.name for h in hosts if _in_groups(h.host_group, groups)),
            vm_networks=tuple(
                _network(net)
                for net in networks.values()
                if net.optional_text("LogicalNetworkId").lower() in logical
            ),
            capacity=_capacity(capacity.get(cloud_id), usage.get(cloud_id)),
        )


def _in_groups(group: str, groups: Iterable[str]) -> bool:
    """A host serves a cloud when its group is one of the cloud's groups or below one."""
    lowered = group.lower()
    return any(lowered == g.lower() or lowered.startswith(g.lower() + "\\") for g in groups)


def _capacity(limits: Row | None, used: Row | None) -> CloudCapacity:
    def limit(value: str, unlimited: str) -> int | None:
        if limits is None or limits.data.get(unlimited) is not False:
            return None
        return limits.integer(value)

    def usage(value: str) -> int:
        return used.integer(value, 0) if used is not None else 0

    return CloudCapacity(
        vm_limit=limit("VMCount", "UseVMCountMaximum"),
        memory_mb_limit=limit("MemoryMB", "UseMemoryMBMaximum"),
        cpu_limit=limit("CPUCount", "UseCPUCountMaximum"),
        vms_used=usage("VMUsageCount"),
        memory_mb_used=usage("MemoryUsageMB"),
        cpus_used=usage("CPUUsageCount"),
    )


def _vm(row: Row) -> VmmVm:
    return VmmVm(
        vm_id=row.text("VMId").strip("{}").lower(),
        name=row.text("Name"),
        host=row.text("HostName"),
        cloud_id=row.optional_text("CloudId").lower(),
        status=row.optional_text("Status"),
    )


def _adapter(row: Row) -> VmmAdapter:
    return VmmAdapter(
        mac=normal_mac(row.optional_text("MACAddress")),
        vm_network_id=row.optional_text("VMNetworkId").lower(),
        ip_addresses=row.texts("IPv4Addresses"),
    )


def normal_mac(mac: str) -> str:
    """A MAC address as 12 upper-case hex digits (VMM writes colons, Hyper-V none)."""
    return "".join(char for char in mac if char not in ":-").upper()


# -- the inventory ---------------------------------------------------------------------


def discover(fabric: VmmFabric, host_client: HostClientOf) -> Inventory:
    """The provider's inventory: clouds, their VMs with disks from their hosts, VM networks."""
    cloud_vms = fabric.cloud_vms()
    host_names = sorted({vm.host for vm in cloud_vms}, key=str.lower)
    inventories = {name.lower(): _host_inventory(host_client, name) for name in host_names}
    machines = tuple(
        machine
        for vm in cloud_vms
        if (machine := _machine(fabric, vm, inventories[vm.host.lower()])) is not None
    )
    return Inventory(
        containers=tuple(
            ProtectionContainer(c.cloud_id, c.name, CONTAINER_KIND) for c in fabric.clouds
        ),
        machines=machines,
        networks=fabric.vm_networks,
        hosts=_hosts(fabric, inventories),
    )


def _host_inventory(host_client: HostClientOf, host: str) -> Inventory:
    try:
        return host_discovery.discover(host_client(host))
    except FabricError as exc:
        raise type(exc)(f"VMM host {host}: {exc.message}", hint=exc.hint) from exc


def _machine(fabric: VmmFabric, vm: VmmVm, host: Inventory) -> Machine | None:
    """The host's view of the VM (disks, NIC ids) placed in its cloud and VM networks.

    A VM that VMM still lists but the host no longer has is left out: the
    host is the truth for what exists.
    """
    found = next((m for m in host.machines if m.machine_id == vm.vm_id), None)
    if found is None:
        return None
    nics = tuple(
        replace(nic, network_id=fabric.network_of(normal_mac(nic.mac))) for nic in found.nics
    )
    return replace(found, container_id=vm.cloud_id, host=vm.host, nics=nics)


def _hosts(fabric: VmmFabric, inventories: dict[str, Inventory]) -> tuple[Host, ...]:
    server = fabric.identity
    found = [Host(server.server_id, server.name, "vmm-server", server.version)]
    for host in fabric.hosts:
        seen = inventories.get(host.name.lower())
        version = seen.hosts[0].version if seen is not None and seen.hosts else ""
        found.append(Host(host.name, host.computer_name or host.name, "hypervisor", version))
    return tuple(found)
