"""Discovery on a CX: what it is, and its inventory in three round trips.

``ListScoutComponents`` names the process servers, master targets and
source servers; ``InfrastructureDiscovery`` the vCenters with their
datacenters and networks; one ``GetHostInfo`` for every source server at
once gives disks and NICs. VMware VMs land in their datacenter's container,
physical servers in ``physical``, machines recovered on a site in
``site-<site>`` (they are the sources of a failback).
"""

from __future__ import annotations

from plugins.inmage.client import CxClient
from plugins.inmage.cxapi import Params, host_list
from provider.contracts.connection import FabricIdentity
from provider.errors import HostileResponse
from provider.model.inventory import (
    Disk,
    Host,
    Inventory,
    Machine,
    Network,
    Nic,
    ProtectionContainer,
)

PHYSICAL = ProtectionContainer("physical", "Physical servers", kind="physical")


def identify(client: CxClient) -> FabricIdentity:
    found = client.call("ListScoutComponents")
    return FabricIdentity(
        found.get("HostName"), "inmage", found.get("Version"), found.get("ConfigurationServerId")
    )


def discover(client: CxClient) -> Inventory:
    components = client.call("ListScoutComponents")
    infrastructure = client.call("InfrastructureDiscovery")
    containers, networks, by_name = _infrastructure(infrastructure)
    host_ids = [s.get("HostId") for s in components.children("SourceServers")]
    details = _host_info(client, host_ids)
    machines = tuple(_machine(h, by_name, client.where) for h in details.groups)
    networks += _lans(machines, networks)
    return Inventory(containers + _extra(machines), machines, networks, _hosts(components))


def _lans(machines: tuple[Machine, ...], known: tuple[Network, ...]) -> tuple[Network, ...]:
    # A physical server's NIC names its LAN, which no vCenter lists: without it in the
    # inventory the operator could not map that NIC's network for failover.
    ids = {n.network_id for n in known}
    lans = sorted({nic.network_id for m in machines for nic in m.nics} - ids - {""})
    return tuple(Network(lan, lan, "lan") for lan in lans)


def _host_info(client: CxClient, host_ids: list[str]) -> Params:
    # One GetHostInfo for every host: discovery stays at three round trips.
    if not host_ids:
        return Params()
    return client.call("GetHostInfo", Params("", (), (host_list(host_ids),)))


def _extra(machines: tuple[Machine, ...]) -> tuple[ProtectionContainer, ...]:
    sites = sorted({m.container_id for m in machines if m.container_id.startswith("site-")})
    found = tuple(ProtectionContainer(s, f"Recovered on {s[5:]}", kind="site") for s in sites)
    return found + ((PHYSICAL,) if any(m.physical for m in machines) else ())


def _infrastructure(
    found: Params,
) -> tuple[tuple[ProtectionContainer, ...], tuple[Network, ...], dict[tuple[str, str], str]]:
    containers: list[ProtectionContainer] = []
    networks: list[Network] = []
    by_name: dict[tuple[str, str], str] = {}
    for vcenter in found.groups:
        for dc in vcenter.groups:
            container_id = f"{vcenter.get('Name')}:{dc.get('Id')}"
            containers.append(ProtectionContainer(container_id, dc.get("Name"), "datacenter"))
            for net in dc.children("Networks"):
                network_id = f"{vcenter.get('Name')}:{net.get('Id')}"
                networks.append(Network(network_id, net.get("Name"), "port-group"))
                by_name[(dc.get("Name"), net.get("Name"))] = network_id
            by_name[(vcenter.get("Name"), dc.get("Name"))] = container_id
    return tuple(containers), tuple(networks), by_name


def _container(host: Params, known: dict[tuple[str, str], str]) -> str:
    if host.get("FailbackOf"):
        return f"site-{host.get('Site')}"
    if host.get("Kind") == "Physical":
        return PHYSICAL.container_id
    return known.get((host.get("vCenter"), host.get("Datacenter")), host.get("Datacenter"))


def _machine(host: Params, networks: dict[tuple[str, str], str], where: str) -> Machine:
    # ``networks`` maps (datacenter, network) and (vCenter, datacenter) names to ids.
    try:
        return Machine(
            machine_id=host.get("HostId"),
            name=host.get("HostName"),
            container_id=_container(host, networks),
            disks=tuple(
                Disk(d.get("DiskId"), d.get("Name"), int(d.get("Capacity")))
                for d in host.children("Disks")
            ),
            nics=tuple(_nic(n, host.get("Datacenter"), networks) for n in host.children("Nics")),
            host=host.get("vCenter"),
            power_state="running" if host.get("PowerState") == "On" else "off",
            os_type=host.get("OsType").lower(),
            physical=host.get("Kind") == "Physical",
            cpu_count=int(host.get("CpuCount")),
            memory_mib=int(host.get("MemoryMB")),
        )
    except ValueError as exc:
        raise HostileResponse(f"{where}: GetHostInfo: host {host.get('HostId')!r}: {exc}") from exc


def _nic(nic: Params, datacenter: str, networks: dict[tuple[str, str], str]) -> Nic:
    network = nic.get("Network")
    ips = tuple(ip for ip in nic.get("IPAddress").split(",") if ip)
    return Nic(
        nic.get("NicId"), networks.get((datacenter, network), network), nic.get("MacAddress"), ips
    )


def _hosts(components: Params) -> tuple[Host, ...]:
    version = components.get("Version")
    servers = [(s, "process-server") for s in components.children("ProcessServers")]
    servers += [(s, "master-target") for s in components.children("MasterTargets")]
    return tuple(Host(s.get("HostId"), s.get("HostName"), role, version) for s, role in servers)
