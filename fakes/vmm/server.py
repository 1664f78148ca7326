"""A simulated System Center VMM server: managed Hyper-V hosts, host groups, clouds, networks.

The server manages hosts of a :class:`~fakes.hyperv.HyperVLab` (their VMs
are the real fake VMs, with their disks) and adds what VMM knows: the host
group tree, private clouds with their logical networks and capacity, logical
networks and VM networks, and for each VM its cloud and the VM network of
each adapter. It runs PowerShell scripts with the VMM cmdlets
(:meth:`VmmServer.run_script`) the way ``powershell.exe`` on the VMM server
would; the Hyper-V and SrpAgent cmdlets are not installed there.

Example::

    from fakes.hyperv import HyperVLab
    from fakes.vmm import VmmLab

    vmm = VmmLab(HyperVLab(seed=3))
    server = vmm.add_server("vmm01")
    host = vmm.hyperv.add_host("hv01")
    host.add_switch("LAN")
    server.add_host_group("Primary")
    server.add_host(host, "Primary")
    server.add_logical_network("Corp")
    server.add_vm_network("Corp-VMs", "Corp")
    server.add_cloud("Gold", host_groups=["Primary"], logical_networks=["Corp"])
    vm = host.create_vm("web01", switch="LAN")
    server.place_vm(vm, cloud="Gold", networks=["Corp-VMs"])
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from fakes.hyperv.host import CommandLogEntry, HyperVHost, RawResult, VirtualMachine
from fakes.hyperv.powershell.interpreter import run_script
from fakes.hyperv.powershell.output import clixml_document, console_bytes
from fakes.vmm.faults import VmmFaults
from fakes.vmm.model import (
    Cloud,
    CloudCapacity,
    HostGroup,
    IsolationType,
    LogicalNetwork,
    ManagedHost,
    Placement,
    VMNetwork,
)
from provider.errors import NotFound

if TYPE_CHECKING:
    from fakes.vmm.lab import VmmLab

ROOT_GROUP = "All Hosts"
DEFAULT_PORT = 8100
#: VMM 2022 with its latest rollup, as ``ProductVersion`` reads.
PRODUCT_VERSION = "10.22.1287.0"
MIB = 1 << 20
GIB = 1 << 30
_T = TypeVar("_T")


@dataclass(frozen=True)
class CloudUsage:
    """What a cloud's VMs use, against its capacity."""

    vm_count: int
    memory_mb: int
    cpu_count: int
    storage_gb: int


class VmmServer:
    """One fake VMM management server; build it with :meth:`VmmLab.add_server`."""

    def __init__(
        self, lab: VmmLab, name: str, *, address: str, fqdn: str, port: int = DEFAULT_PORT
    ) -> None:
        self.lab = lab
        self.name = name
        self.address = address
        self.fqdn = fqdn
        self.port = port
        self.faults = VmmFaults()
        self.command_log: list[CommandLogEntry] = []
        self.script_log: list[str] = []
        self.rng = random.Random(f"{lab.hyperv.seed}:vmm:{name}")
        self.root = HostGroup(ROOT_GROUP, self.new_guid())
        self.host_groups: list[HostGroup] = [self.root]
        self.hosts: list[ManagedHost] = []
        self.clouds: list[Cloud] = []
        self.logical_networks: list[LogicalNetwork] = []
        self.vm_networks: list[VMNetwork] = []
        self._placements: dict[uuid.UUID, Placement] = {}

    def __repr__(self) -> str:
        return f"VmmServer({self.name!r}, hosts={[m.host.name for m in self.hosts]})"

    @property
    def hyperv_installed(self) -> bool:
        """The VMM server is not a Hyper-V host: Hyper-V and SrpAgent cmdlets are unknown here."""
        return False

    def new_guid(self) -> uuid.UUID:
        """A GUID from the server's seeded generator (deterministic runs)."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def now(self) -> float:
        return self.lab.hyperv.clock.now()

    # -- fabric set-up (Python API for tests) ----------------------------------------------

    def add_host_group(self, name: str, parent: str = ROOT_GROUP) -> HostGroup:
        """Create a host group under ``parent`` (a name or path; default the root)."""
        if self.find_host_group(name) is not None:
            raise ValueError(f"VMM server {self.name!r} already has a host group named {name!r}")
        group = HostGroup(name, self.new_guid(), self.host_group(parent))
        self.host_groups.append(group)
        return group

    def add_host(self, host: HyperVHost | str, group: str = ROOT_GROUP) -> ManagedHost:
        """Bring a lab Hyper-V host under management, in host group ``group``."""
        hyperv_host = self.lab.hyperv.host(host) if isinstance(host, str) else host
        if self.find_managed(hyperv_host.name) is not None:
            raise ValueError(f"host {hyperv_host.name!r} is already managed by {self.name!r}")
        managed = ManagedHost(hyperv_host, self.host_group(group), self.new_guid())
        self.hosts.append(managed)
        return managed

    def connect_switch(
        self, host: str, switch: str, logical_networks: Sequence[str]
    ) -> ManagedHost:
        """Say which logical networks a managed host's virtual switch carries (its uplink).

        The switch must exist on the Hyper-V host; a VM network is then
        reachable on that host through the switch carrying its logical network.
        """
        managed = self.managed(host)
        if not any(s.name.lower() == switch.lower() for s in managed.host.switches):
            raise ValueError(f"host {managed.host.name!r} has no virtual switch {switch!r}")
        managed.uplinks[switch] = [self.logical_network(name) for name in logical_networks]
        return managed

    def add_logical_network(self, name: str, *, virtualization: bool = False) -> LogicalNetwork:
        network = LogicalNetwork(name, self.new_guid(), virtualization)
        self.logical_networks.append(network)
        return network

    def add_vm_network(
        self,
        name: str,
        logical_network: str,
        isolation: IsolationType = IsolationType.NoIsolation,
    ) -> VMNetwork:
        network = VMNetwork(name, self.new_guid(), self.logical_network(logical_network), isolation)
        self.vm_networks.append(network)
        return network

    def add_cloud(
        self,
        name: str,
        *,
        host_groups: Sequence[str] = (),
        logical_networks: Sequence[str] = (),
        capacity: CloudCapacity | None = None,
        description: str = "",
    ) -> Cloud:
        """Create a private cloud over host groups, allowed on logical networks."""
        cloud = Cloud(
            name,
            self.new_guid(),
            [self.host_group(group) for group in host_groups],
            [self.logical_network(network) for network in logical_networks],
            capacity or CloudCapacity(),
            description=description,
        )
        self.clouds.append(cloud)
        return cloud

    def place_vm(
        self,
        vm: VirtualMachine,
        *,
        cloud: str | None,
        networks: Sequence[str | None] = (),
    ) -> Placement:
        """Put a VM of a managed host in ``cloud`` and its adapters on VM networks, in order.

        VMM's rules: the VM's host must be in one of the cloud's host groups,
        and each VM network must sit on a logical network of the cloud.
        """
        managed = self.managed(vm.host.name)
        chosen = self.cloud(cloud) if cloud is not None else None
        if chosen is not None and not chosen.holds(managed.group):
            raise ValueError(f"host {vm.host.name!r} is not in a host group of cloud {cloud!r}")
        placement = self.placement(vm)
        placement.cloud = chosen
        for adapter, network_name in zip(vm.adapters, networks, strict=False):
            network = self.vm_network(network_name) if network_name is not None else None
            if network is not None and chosen is not None:
                self._require_allowed(chosen, network)
            placement.networks[adapter.mac_address] = network
        return placement

    def _require_allowed(self, cloud: Cloud, network: VMNetwork) -> None:
        if network.logical_network not in cloud.logical_networks:
            raise ValueError(
                f"VM network {network.name!r} is on logical network "
                f"{network.logical_network.name!r}, which cloud {cloud.name!r} does not allow"
            )

    def remove_vm_network(self, name: str) -> VMNetwork:
        """Delete a VM network; adapters connected to it are left disconnected."""
        network = self.vm_network(name)
        self.vm_networks.remove(network)
        for placement in self._placements.values():
            for mac, connected in placement.networks.items():
                if connected is network:
                    placement.networks[mac] = None
        return network

    # -- lookups -------------------------------------------------------------------------

    def find_host_group(self, key: str) -> HostGroup | None:
        """The host group whose name or path is ``key`` (no case)."""
        lowered = key.lower()
        return next(
            (g for g in self.host_groups if lowered in (g.name.lower(), g.path.lower())), None
        )

    def host_group(self, key: str) -> HostGroup:
        return _required(self.find_host_group(key), "host group", key, self.name)

    def find_managed(self, key: str) -> ManagedHost | None:
        """The managed host whose name, FQDN or address is ``key`` (no case)."""
        found = self.lab.hyperv.find_host(key)
        return next((m for m in self.hosts if m.host is found), None)

    def managed(self, key: str) -> ManagedHost:
        return _required(self.find_managed(key), "managed host", key, self.name)

    def logical_network(self, name: str) -> LogicalNetwork:
        found = next((n for n in self.logical_networks if n.name.lower() == name.lower()), None)
        return _required(found, "logical network", name, self.name)

    def vm_network(self, name: str) -> VMNetwork:
        found = next((n for n in self.vm_networks if n.name.lower() == name.lower()), None)
        return _required(found, "VM network", name, self.name)

    def cloud(self, name: str) -> Cloud:
        found = next((c for c in self.clouds if c.name.lower() == name.lower()), None)
        return _required(found, "cloud", name, self.name)

    # -- what VMM sees ---------------------------------------------------------------------

    def vms(self) -> list[tuple[VirtualMachine, ManagedHost]]:
        """Every VM of every managed host, with its host, in host order."""
        return [(vm, managed) for managed in self.hosts for vm in managed.host.vms]

    def placement(self, vm: VirtualMachine) -> Placement:
        """VMM's record of a VM (made on first sight, like VMM's host refresher)."""
        placement = self._placements.get(vm.id)
        if placement is None:
            placement = self._placements[vm.id] = Placement(self.new_guid())
        return placement

    def cloud_vms(self, cloud: Cloud) -> list[VirtualMachine]:
        return [vm for vm, _ in self.vms() if self.placement(vm).cloud is cloud]

    def usage(self, cloud: Cloud) -> CloudUsage:
        """What the cloud's VMs use (storage rounded up to whole GB per VM)."""
        vms = self.cloud_vms(cloud)
        storage = sum(-(-sum(d.capacity for d in vm.disks) // GIB) for vm in vms)
        return CloudUsage(
            vm_count=len(vms),
            memory_mb=sum(vm.memory_startup // MIB for vm in vms),
            cpu_count=sum(vm.processor_count for vm in vms),
            storage_gb=storage,
        )

    # -- scripts -----------------------------------------------------------------------

    def log_command(self, command: str, arguments: dict[str, object]) -> None:
        """Record one cmdlet run (called by the interpreter after binding)."""
        self.command_log.append(CommandLogEntry(command, tuple(arguments.items()), self.now()))

    def commands_run(self) -> list[str]:
        return [entry.command for entry in self.command_log]

    def run_script(self, script: str) -> RawResult:
        """Run a script as ``powershell -EncodedCommand`` would on the VMM server."""
        from fakes.vmm.catalog import VMM_REGISTRY

        with self.lab.hyperv.lock:
            self.script_log.append(script)
            # The interpreter only needs the "host" duck type: hyperv_installed, log_command.
            outcome = run_script(self, VMM_REGISTRY, script)  # type: ignore[arg-type]
        stdout = console_bytes(outcome.stdout)
        stderr = console_bytes(clixml_document(outcome.stderr_elements))
        return RawResult(stdout, stderr, outcome.exit_code)


def _required(found: _T | None, what: str, key: str, server: str) -> _T:
    if found is None:
        raise NotFound(f"VMM server {server!r} has no {what} named {key!r}")
    return found
