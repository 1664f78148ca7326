"""Discovery of one Hyper-V host in one round trip: identity, VMs, disks, NICs, switches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from plugins.hyperv import scripts
from plugins.hyperv.client import HyperVClient
from plugins.hyperv.records import Row, one_row
from provider.contracts.connection import FabricIdentity
from provider.model.inventory import (
    Disk,
    Host,
    Inventory,
    Machine,
    Network,
    Nic,
    ProtectionContainer,
)

KIND = "hyperv"
MIB = 1 << 20


def identify(client: HyperVClient) -> FabricIdentity:
    """Who the host says it is (Get-VMHost); a host without Hyper-V fails in the client."""
    script = scripts.get_vm_host()
    row = one_row(client.query(script), f"{client.host}: {script.command}")
    return FabricIdentity(
        name=row.text("Name"),
        kind=KIND,
        version=row.optional_text("Version"),
        server_id=row.optional_text("FullyQualifiedDomainName") or row.text("ComputerName"),
    )


def discover(client: HyperVClient, site: str = "") -> Inventory:
    """The host's inventory; ``site`` names the Hyper-V site used as container, else the host."""
    script = scripts.discover_host()
    answer = one_row(client.query(script), f"{client.host}: {script.command}")
    host = one_row(answer.data.get("Host"), f"{answer.where}: Host")
    host_name = host.text("Name")
    container = _container(host_name, site)
    switches = {row.text("Name"): _network(row) for row in answer.rows("Switches")}
    layout = _Layout.of(answer)
    machines = tuple(
        _machine(row, container.container_id, host_name, layout, switches)
        for row in answer.rows("VMs")
    )
    return Inventory(
        containers=(container,),
        machines=machines,
        networks=tuple(switches.values()),
        hosts=(Host(host_name, host_name, "hypervisor", host.optional_text("Version")),),
    )


def _container(host_name: str, site: str) -> ProtectionContainer:
    if site:
        return ProtectionContainer(site, site, kind="site")
    return ProtectionContainer(host_name, host_name, kind="host")


def _network(row: Row) -> Network:
    switch_type = row.optional_text("SwitchType")
    return Network(
        network_id=row.text("Id"),
        name=row.text("Name"),
        kind="switch",
        isolated=switch_type == "Private",
    )


@dataclass(frozen=True)
class _Layout:
    """Drives by VM id, VHDs by path and NICs by VM name, as discovery returned them."""

    drives: dict[str, list[Row]]
    vhds: dict[str, Row]
    nics: dict[str, list[Row]]

    @classmethod
    def of(cls, answer: Row) -> _Layout:
        return cls(
            drives=_group(answer.rows("Drives"), "VMId"),
            vhds={row.text("Path").lower(): row for row in answer.rows("Vhds")},
            nics=_group(answer.rows("Nics"), "VMName"),
        )


def _group(rows: Iterable[Row], key: str) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row.text(key).lower(), []).append(row)
    return grouped


def _machine(
    row: Row, container_id: str, host: str, layout: _Layout, switches: dict[str, Network]
) -> Machine:
    vm_id, name = row.text("Id").lower(), row.text("Name")
    return Machine(
        machine_id=vm_id,
        name=name,
        container_id=container_id,
        disks=tuple(_disks(layout.drives.get(vm_id, []), layout.vhds)),
        nics=tuple(_nic(nic, switches) for nic in layout.nics.get(name.lower(), [])),
        host=host,
        power_state=row.text("State").lower(),
        cpu_count=row.integer("ProcessorCount"),
        memory_mib=max(1, row.integer("MemoryStartup") // MIB),
    )


def _disks(drives: list[Row], vhds: dict[str, Row]) -> Iterable[Disk]:
    """A drive without a VHD behind it (empty DVD, pass-through disk) is not replicable."""
    for drive in drives:
        path = drive.optional_text("Path")
        vhd = vhds.get(path.lower())
        if vhd is not None:
            yield Disk(disk_id(vhd), _file_name(path), vhd.integer("Size"), path)


def disk_id(vhd: Row) -> str:
    """The VHD's DiskIdentifier GUID, lower-cased as the SrpAgent reports disk ids."""
    return vhd.text("DiskIdentifier").lower()


def _file_name(path: str) -> str:
    return path.replace("/", "\\").rsplit("\\", 1)[-1] or path


def _nic(row: Row, switches: dict[str, Network]) -> Nic:
    switch = switches.get(row.optional_text("SwitchName"))
    return Nic(
        nic_id=nic_id(row.text("Id")),
        network_id=switch.network_id if switch else "",
        mac=row.optional_text("MacAddress"),
        ip_addresses=row.texts("IPAddresses"),
    )


def nic_id(raw: str) -> str:
    """Hyper-V NIC ids read ``Microsoft:<vm guid>\\<nic guid>``: keep the adapter's own part."""
    return raw.rsplit("\\", 1)[-1]
