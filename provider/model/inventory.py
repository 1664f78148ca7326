"""What discovery finds on a fabric: hosts, containers, machines, disks, NICs, networks."""

from __future__ import annotations

from dataclasses import dataclass, field

from provider.model.checks import (
    require_id,
    require_non_negative,
    require_positive,
    require_text,
    require_unique,
)


@dataclass(frozen=True)
class Disk:
    """A virtual (or physical) disk of a machine, as the fabric reports it."""

    disk_id: str
    name: str
    capacity: int
    path: str = ""

    def __post_init__(self) -> None:
        require_id("Disk", "disk_id", self.disk_id)
        require_text("Disk", "name", self.name)
        require_positive("Disk", "capacity", self.capacity)


@dataclass(frozen=True)
class Nic:
    """A network adapter of a machine and the network it is attached to."""

    nic_id: str
    network_id: str
    mac: str = ""
    ip_addresses: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        require_id("Nic", "nic_id", self.nic_id)


@dataclass(frozen=True)
class Network:
    """A network a NIC can attach to: virtual switch, VM network, port group, subnet."""

    network_id: str
    name: str
    kind: str = "network"
    isolated: bool = False

    def __post_init__(self) -> None:
        require_id("Network", "network_id", self.network_id)
        require_text("Network", "name", self.name)


@dataclass(frozen=True)
class Machine:
    """A protectable item: a discovered virtual or physical machine."""

    machine_id: str
    name: str
    container_id: str
    disks: tuple[Disk, ...]
    nics: tuple[Nic, ...] = ()
    host: str = ""
    power_state: str = "running"
    os_type: str = "windows"
    physical: bool = False
    cpu_count: int = 1
    memory_mib: int = 1024

    def __post_init__(self) -> None:
        require_id("Machine", "machine_id", self.machine_id)
        require_text("Machine", "name", self.name)
        require_unique(f"Machine {self.name!r}", "disks", (d.disk_id for d in self.disks))
        require_unique(f"Machine {self.name!r}", "nics", (n.nic_id for n in self.nics))
        require_positive("Machine", "cpu_count", self.cpu_count)
        require_positive("Machine", "memory_mib", self.memory_mib)

    def disk(self, disk_id: str) -> Disk:
        """The disk with this id; KeyError names the machine when absent."""
        for disk in self.disks:
            if disk.disk_id == disk_id:
                return disk
        raise KeyError(f"machine {self.name!r} has no disk {disk_id!r}")


@dataclass(frozen=True)
class Host:
    """A hypervisor host (Hyper-V host, ESXi host) or a process/master-target server."""

    host_id: str
    name: str
    role: str = "hypervisor"
    version: str = ""

    def __post_init__(self) -> None:
        require_id("Host", "host_id", self.host_id)
        require_text("Host", "name", self.name)


@dataclass(frozen=True)
class ProtectionContainer:
    """A group of machines protected together: Hyper-V site, VMM cloud, vCenter datacenter."""

    container_id: str
    name: str
    kind: str = "site"

    def __post_init__(self) -> None:
        require_id("ProtectionContainer", "container_id", self.container_id)
        require_text("ProtectionContainer", "name", self.name)


@dataclass(frozen=True)
class Inventory:
    """Everything one discovery pass found on a fabric."""

    containers: tuple[ProtectionContainer, ...] = ()
    machines: tuple[Machine, ...] = ()
    networks: tuple[Network, ...] = ()
    hosts: tuple[Host, ...] = ()

    def __post_init__(self) -> None:
        require_unique("Inventory", "machines", (m.machine_id for m in self.machines))
        require_unique("Inventory", "containers", (c.container_id for c in self.containers))
        require_unique("Inventory", "networks", (n.network_id for n in self.networks))

    def machine(self, machine_id: str) -> Machine:
        """The machine with this id; KeyError when discovery did not find it."""
        for machine in self.machines:
            if machine.machine_id == machine_id:
                return machine
        raise KeyError(f"no machine {machine_id!r} in this inventory")


@dataclass(frozen=True)
class Fabric:
    """A registered management endpoint: Hyper-V host or site, VMM server, vCenter, CX."""

    fabric_id: str
    name: str
    kind: str
    address: str
    username: str = ""
    options: tuple[tuple[str, str], ...] = field(default=())
    registered_at: float = 0.0

    def __post_init__(self) -> None:
        require_id("Fabric", "fabric_id", self.fabric_id)
        require_text("Fabric", "name", self.name)
        require_text("Fabric", "kind", self.kind)
        require_text("Fabric", "address", self.address)
        require_non_negative("Fabric", "registered_at", self.registered_at)
        require_unique("Fabric", "options", (k for k, _ in self.options))

    def option(self, key: str, default: str = "") -> str:
        """One connection option (transport, port, cert validation...)."""
        return dict(self.options).get(key, default)
