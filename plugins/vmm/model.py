"""What a VMM server reports about its fabric, as typed values the plugin works with.

:class:`VmmFabric` is one discovery pass of the VMM server: its identity,
its clouds (with the VM networks each may use and their capacity), its
hosts, VM networks and VMs. The provider's :class:`~provider.model.inventory.Inventory`
has no place for a cloud's capacity or for the networks a cloud allows, so
these facts are exposed here (:func:`plugins.vmm.plugin.vmm_fabric`) for
network mapping and failover validation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provider.contracts.connection import FabricIdentity
from provider.model.inventory import Machine, Network


def _free(limit: int | None, used: int) -> int | None:
    return None if limit is None else max(0, limit - used)


@dataclass(frozen=True)
class CloudCapacity:
    """A cloud's quotas (``None``: unlimited, VMM's "Use maximum") and what its VMs use."""

    vm_limit: int | None
    memory_mb_limit: int | None
    cpu_limit: int | None
    vms_used: int = 0
    memory_mb_used: int = 0
    cpus_used: int = 0

    @property
    def free_vms(self) -> int | None:
        return _free(self.vm_limit, self.vms_used)

    @property
    def free_memory_mb(self) -> int | None:
        return _free(self.memory_mb_limit, self.memory_mb_used)

    @property
    def free_cpus(self) -> int | None:
        return _free(self.cpu_limit, self.cpus_used)

    def shortfall(self, machines: Sequence[Machine]) -> str:
        """What the cloud lacks to hold ``machines`` ('' when they fit)."""
        wanted = (
            ("virtual machines", self.free_vms, len(machines)),
            ("MB of memory", self.free_memory_mb, sum(m.memory_mib for m in machines)),
            ("virtual processors", self.free_cpus, sum(m.cpu_count for m in machines)),
        )
        missing = [
            f"{need} {what} needed, {free} free"
            for what, free, need in wanted
            if free is not None and need > free
        ]
        return "; ".join(missing)


@dataclass(frozen=True)
class VmmCloud:
    """A VMM private cloud: a protection container, its hosts, networks and capacity."""

    cloud_id: str
    name: str
    host_groups: tuple[str, ...]
    hosts: tuple[str, ...]
    vm_networks: tuple[Network, ...]
    capacity: CloudCapacity

    @property
    def has_capacity(self) -> bool:
        """False for a cloud that cannot take one more VM (no host, or a quota used up)."""
        quotas = (self.capacity.free_vms, self.capacity.free_memory_mb, self.capacity.free_cpus)
        return bool(self.hosts) and all(free is None or free > 0 for free in quotas)

    def allows_network(self, network_id: str) -> bool:
        """True when VMs of this cloud may connect to the VM network."""
        return any(network.network_id == network_id for network in self.vm_networks)


@dataclass(frozen=True)
class VmmHost:
    """A Hyper-V host managed by VMM (``name`` is its FQDN, as VMM names hosts)."""

    name: str
    computer_name: str
    host_group: str
    responding: bool


@dataclass(frozen=True)
class VmmAdapter:
    """A VM's network adapter: its MAC (12 hex digits, upper case) and VM network ('' none).

    MAC addresses come from VMM's pools and are unique, so they tie VMM's
    adapters to the host's adapters.
    """

    mac: str
    vm_network_id: str
    ip_addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class VmmVm:
    """A VM as VMM sees it (``vm_id``: the Hyper-V VM id, lower case; ``host``: FQDN)."""

    vm_id: str
    name: str
    host: str
    cloud_id: str
    status: str


@dataclass(frozen=True)
class VmmFabric:
    """One discovery pass of a VMM server."""

    identity: FabricIdentity
    clouds: tuple[VmmCloud, ...]
    hosts: tuple[VmmHost, ...]
    vm_networks: tuple[Network, ...]
    vms: tuple[VmmVm, ...]
    adapters: tuple[VmmAdapter, ...] = ()

    def network_of(self, mac: str) -> str:
        """The VM network of the adapter with this MAC ('' when not connected or unknown)."""
        return next((a.vm_network_id for a in self.adapters if a.mac == mac), "")

    def cloud(self, cloud_id: str) -> VmmCloud:
        """The cloud with this id; KeyError names it when absent."""
        for cloud in self.clouds:
            if cloud.cloud_id == cloud_id:
                return cloud
        raise KeyError(f"VMM server {self.identity.name!r} has no cloud {cloud_id!r}")

    def cloud_vms(self) -> tuple[VmmVm, ...]:
        """The VMs that belong to a cloud (the only ones VMM protection covers)."""
        return tuple(vm for vm in self.vms if vm.cloud_id)


@dataclass(frozen=True)
class HostSwitch:
    """A host's virtual switch and the logical networks it carries (``Get-SCVirtualNetwork``)."""

    host: str
    name: str
    logical_network_ids: tuple[str, ...]


@dataclass(frozen=True)
class VmSize:
    """A VM's processors and memory as VMM reports them (for a cloud's capacity)."""

    vm_id: str
    name: str
    cpu_count: int
    memory_mb: int


@dataclass(frozen=True)
class ReplicaSite:
    """The secondary VMM server before a failover toward one of its clouds.

    ``vm_networks`` pairs each VM network id with its logical network id
    (lower case); a VM network lands on a host through the switch that
    carries its logical network.
    """

    fabric: VmmFabric
    vm_networks: tuple[tuple[str, str], ...]
    switches: tuple[HostSwitch, ...]
    sizes: tuple[VmSize, ...]

    @property
    def server(self) -> str:
        return self.fabric.identity.name

    def has_network(self, vm_network_id: str) -> bool:
        return vm_network_id.lower() in dict(self.vm_networks)

    def network_id(self, key: str) -> str:
        """The id of the VM network named or identified by ``key`` ('' when unknown)."""
        lowered = key.lower()
        if lowered in dict(self.vm_networks):
            return lowered
        named = (n.network_id for n in self.fabric.vm_networks if n.name.lower() == lowered)
        return next(named, "")

    def switch_for(self, host: str, vm_network_id: str) -> str:
        """The switch of ``host`` carrying the VM network's logical network ('' none)."""
        logical = dict(self.vm_networks).get(vm_network_id.lower(), "")
        for switch in self.switches:
            if switch.host.lower() == host.lower() and logical in switch.logical_network_ids:
                return switch.name
        return ""

    def size_of(self, vm_id: str) -> VmSize | None:
        return next((size for size in self.sizes if size.vm_id == vm_id.lower()), None)

    def cloud_named(self, key: str) -> VmmCloud | None:
        """The cloud whose name or id is ``key`` (no case)."""
        lowered = key.lower()
        found = (c for c in self.fabric.clouds if lowered in (c.name.lower(), c.cloud_id))
        return next(found, None)
