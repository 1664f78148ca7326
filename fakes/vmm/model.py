"""What a simulated VMM server manages: host groups, clouds, networks, VM placements.

These are plain records owned by :class:`~fakes.vmm.server.VmmServer`. The
virtual machines themselves live on the fake Hyper-V hosts
(:mod:`fakes.hyperv`); VMM only adds what it knows about them: the cloud a
VM belongs to and the VM network of each of its adapters (a
:class:`Placement`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import IntEnum

from fakes.hyperv.host import HyperVHost


class VMComputerSystemState(IntEnum):
    """``Microsoft.VirtualManager.Utils.VMComputerSystemState`` (the states the fake uses)."""

    Running = 0
    PowerOff = 1
    Saved = 3
    Paused = 6
    Stopped = 7


class CommunicationState(IntEnum):
    """``Microsoft.VirtualManager.Utils.CommunicationState`` of a managed host."""

    Responding = 0
    NotResponding = 1


class IsolationType(IntEnum):
    """``Microsoft.VirtualManager.Utils.VMNetworkType`` (isolation of a VM network)."""

    NoIsolation = 0
    WindowsNetworkVirtualization = 1
    VLANNetwork = 2


@dataclass
class HostGroup:
    """A node of the host group tree; the root is ``All Hosts``."""

    name: str
    id: uuid.UUID
    parent: HostGroup | None = None

    @property
    def path(self) -> str:
        """``All Hosts\\Primary\\Rack 1`` as VMM writes it."""
        if self.parent is None:
            return self.name
        return f"{self.parent.path}\\{self.name}"

    def within(self, other: HostGroup) -> bool:
        """True when this group is ``other`` or below it."""
        node: HostGroup | None = self
        while node is not None:
            if node is other:
                return True
            node = node.parent
        return False


@dataclass
class ManagedHost:
    """A Hyper-V host added to VMM, in one host group.

    ``uplinks`` says which logical networks each of the host's virtual
    switches carries (VMM's logical switch and its uplink port profile), by
    switch name: how VMM knows which switch backs a VM network on this host.
    """

    host: HyperVHost
    group: HostGroup
    id: uuid.UUID
    responding: bool = True
    uplinks: dict[str, list[LogicalNetwork]] = field(default_factory=dict)


@dataclass
class LogicalNetwork:
    name: str
    id: uuid.UUID
    network_virtualization: bool = False


@dataclass
class VMNetwork:
    """A VM network on a logical network; adapters of VMs connect to it."""

    name: str
    id: uuid.UUID
    logical_network: LogicalNetwork
    isolation: IsolationType = IsolationType.NoIsolation


@dataclass
class CloudCapacity:
    """A cloud's quotas; ``None`` means "Use maximum" (no limit)."""

    vm_count: int | None = None
    memory_mb: int | None = None
    cpu_count: int | None = None
    storage_gb: int | None = None


@dataclass
class Cloud:
    """A private cloud: host groups, the logical networks it may use, its capacity."""

    name: str
    id: uuid.UUID
    host_groups: list[HostGroup] = field(default_factory=list)
    logical_networks: list[LogicalNetwork] = field(default_factory=list)
    capacity: CloudCapacity = field(default_factory=CloudCapacity)
    capability_profiles: tuple[str, ...] = ("Hyper-V",)
    description: str = ""

    def holds(self, group: HostGroup) -> bool:
        """True when hosts of ``group`` serve this cloud."""
        return any(group.within(mine) for mine in self.host_groups)


@dataclass
class Placement:
    """What VMM adds to a Hyper-V VM: its cloud and the VM network of each adapter (by MAC).

    ``id`` is the VMM object id of the VM, distinct from its Hyper-V VM id.
    """

    id: uuid.UUID
    cloud: Cloud | None = None
    networks: dict[str, VMNetwork | None] = field(default_factory=dict)
