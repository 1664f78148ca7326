"""A generic simulated fabric and its in-process plugin, for testers and plugin authors.

:class:`SimulatedFabric` holds machines whose disks are
:class:`fakes.disk.VirtualDisk`; :class:`SimulatedFabricPlugin` serves it to
srp as a fabric kind (``simulated`` by default) with the discovery, replica
sync and source-side failover hooks (shut down, start, write the blocks
that reverse replication and failback send back, and create a machine on
one of the fabric's hosts for a failback to an alternate location), exactly as a real fabric
plugin does. Give ``capabilities`` to play another scenario's kind (a
VMware-like kind without planned failover, a physical one that fails back
to it).
Register the plugin on a :class:`provider.pluginmanager.PluginManager`, put
fabrics in it by address, and the whole engine runs against them.

Example::

    plugin = SimulatedFabricPlugin()
    fabric = plugin.add_fabric("sim-01")
    vm = fabric.add_machine("web01", disks=[1 << 20])
    manager.register(plugin, name="simulated")

Fault switches: ``fabric.unreachable`` (every call raises
FabricUnreachable), ``fabric.quiesce_fails`` (app-consistent cuts fall back
to crash-consistent, saying so), ``fabric.remove_machine(name)`` (a VM
deleted behind srp's back), and the disks' own switches.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fakes.clock import Clock, SystemClock
from fakes.cutbook import CutBook
from fakes.disk import VirtualDisk
from provider.contracts.connection import FabricConnection, FabricIdentity
from provider.contracts.declarations import Capabilities, FabricKind, FailoverMode
from provider.contracts.failover import AlternateMachine, PreparedSource
from provider.contracts.replica import (
    BlockDigest,
    Cut,
    CutRequest,
    DiskChanges,
    ExtentData,
    TrackingInfo,
)
from provider.errors import (
    AlreadyExists,
    AuthenticationFailed,
    FabricUnreachable,
    MachineNotFound,
    NotFound,
    RemoteCommandFailed,
)
from provider.hookspecs import hookimpl
from provider.model.inventory import Disk, Inventory, Machine, Network, Nic, ProtectionContainer
from provider.model.recovery import Consistency


@dataclass
class SimulatedMachine:
    """A machine of the simulated fabric: disks, NICs, power state."""

    machine_id: str
    name: str
    disks: dict[str, VirtualDisk]
    networks: tuple[str, ...] = ("net-prod",)
    power_state: str = "running"
    books: dict[str, CutBook] = field(default_factory=dict)
    #: The IP address of each NIC, in NIC order (fewer addresses: the rest have none).
    addresses: tuple[str, ...] = ()
    host: str = ""
    cpu_count: int = 1
    memory_mib: int = 1024

    def describe(self, container_id: str) -> Machine:
        """The machine as discovery reports it."""
        disks = tuple(Disk(d.disk_id, d.name, d.capacity) for d in self.disks.values())
        nics = tuple(
            Nic(f"{self.machine_id}-nic{i}", net, ip_addresses=tuple(self.addresses[i : i + 1]))
            for i, net in enumerate(self.networks)
        )
        return Machine(
            self.machine_id,
            self.name,
            container_id,
            disks,
            nics,
            host=self.host,
            power_state=self.power_state,
            cpu_count=self.cpu_count,
            memory_mib=self.memory_mib,
        )


class SimulatedFabric:
    """Machines on one simulated management endpoint."""

    def __init__(self, address: str, *, username: str = "admin", password: str = "secret") -> None:
        self.address, self.username, self.password = address, username, password
        self.machines: dict[str, SimulatedMachine] = {}
        self.unreachable = False
        self.quiesce_fails = False
        self.container_id = f"site-{address}"
        #: Where a failback to an alternate location may create a machine (see add_host).
        self.hosts: set[str] = set()

    def add_host(self, name: str) -> None:
        """A host new machines can be created on."""
        self.hosts.add(name)

    def add_machine(
        self,
        name: str,
        disks: Sequence[int],
        *,
        networks: tuple[str, ...] = ("net-prod",),
        sparse_dir: Path | None = None,
        host: str = "",
    ) -> SimulatedMachine:
        """Add a machine with one disk per capacity given.

        Disks live in memory, or with ``sparse_dir`` in new sparse files
        ``<sparse_dir>/<disk id>.img`` (large disks: only written blocks take
        space). The caller owns ``sparse_dir`` and removes the files.
        """
        where = f"{self.address}/{host}" if host else self.address  # one name per host
        machine_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{where}/{name}"))
        virtual = {
            f"{machine_id}-d{i}": _new_disk(size, f"{name}-d{i}", f"{machine_id}-d{i}", sparse_dir)
            for i, size in enumerate(disks)
        }
        machine = SimulatedMachine(machine_id, name, virtual, networks, host=host)
        self.machines[machine_id] = machine
        return machine

    def remove_machine(self, name: str) -> None:
        """Delete a machine behind srp's back."""
        self.machines = {k: m for k, m in self.machines.items() if m.name != name}

    def inventory(self) -> Inventory:
        """What discovery sees."""
        networks = sorted({net for m in self.machines.values() for net in m.networks})
        return Inventory(
            containers=(ProtectionContainer(self.container_id, f"Site {self.address}"),),
            machines=tuple(m.describe(self.container_id) for m in self.machines.values()),
            networks=tuple(Network(net, net) for net in networks),
        )

    def machine(self, machine_id: str, operation: str) -> SimulatedMachine:
        """A machine by id, or MachineNotFound naming the fabric and operation."""
        if machine_id not in self.machines:
            raise MachineNotFound(f"{self.address}: {operation}: machine {machine_id} is gone")
        return self.machines[machine_id]


KIND_CAPABILITIES = Capabilities(
    copy_frequencies=(30, 300, 900),
    app_consistent=True,
    failover_modes=tuple(FailoverMode),
    failback_to=("simulated",),
    multi_machine_groups=True,
    reverse_replication=True,
)


class SimulatedFabricPlugin:
    """The plugin serving simulated fabrics by address."""

    def __init__(
        self,
        kind: str = "simulated",
        *,
        clock: Clock | None = None,
        capabilities: Capabilities = KIND_CAPABILITIES,
    ) -> None:
        self.kind = kind
        self.capabilities = capabilities
        self.clock: Clock = clock or SystemClock()
        self.fabrics: dict[str, SimulatedFabric] = {}

    def add_fabric(self, address: str, **credentials: str) -> SimulatedFabric:
        """Create a simulated fabric reachable at ``address``."""
        fabric = SimulatedFabric(address, **credentials)
        self.fabrics[address] = fabric
        return fabric

    def _fabric(self, connection: FabricConnection) -> SimulatedFabric:
        fabric = self.fabrics.get(connection.address)
        if fabric is None or fabric.unreachable:
            raise FabricUnreachable(f"{connection.address}: no simulated fabric answers there")
        if (connection.username, connection.secret.reveal()) != (fabric.username, fabric.password):
            raise AuthenticationFailed(f"{connection.address}: the credentials were refused")
        return fabric

    @hookimpl
    def srp_fabric_kinds(self) -> Sequence[FabricKind]:
        return [FabricKind(self.kind, "Simulated fabric (fakes)", capabilities=self.capabilities)]

    @hookimpl
    def srp_connect(self, connection: FabricConnection) -> FabricIdentity:
        fabric = self._fabric(connection)
        return FabricIdentity(fabric.address, self.kind, "1.0", fabric.container_id)

    @hookimpl
    def srp_discover(self, connection: FabricConnection) -> Inventory:
        return self._fabric(connection).inventory()

    @hookimpl
    def srp_enable_tracking(self, connection: FabricConnection, machine: Machine) -> TrackingInfo:
        sim = self._fabric(connection).machine(machine.machine_id, "enable tracking")
        for disk_id, disk in sim.disks.items():
            if not disk.tracking_enabled:
                disk.enable_tracking()
            sim.books.setdefault(disk_id, CutBook(disk))
        return TrackingInfo(sim.machine_id, "", tuple(sim.disks))

    @hookimpl
    def srp_disable_tracking(self, connection: FabricConnection, machine: Machine) -> None:
        sim = self._fabric(connection).machines.get(machine.machine_id)
        for disk in sim.disks.values() if sim else ():
            disk.disable_tracking()

    @hookimpl
    def srp_capture_cut(self, connection: FabricConnection, request: CutRequest) -> Cut:
        fabric = self._fabric(connection)
        consistency, note = _consistency(fabric, request.consistency)
        disks = []
        for machine in request.machines:
            sim = fabric.machine(machine.machine_id, "capture cut")
            for disk_id, book in sim.books.items():
                changes = book.cut(request.cut_id, request.previous_cut(sim.machine_id, disk_id))
                disks.append(
                    DiskChanges(
                        sim.machine_id,
                        disk_id,
                        book.disk.capacity,
                        changes.mode,
                        changes.extents,
                        changes.reason,
                    )
                )
        return Cut(request.cut_id, self.clock.now(), consistency, tuple(disks), note)

    @hookimpl
    def srp_read_extents(
        self,
        connection: FabricConnection,
        cut: Cut,
        machine_id: str,
        disk_id: str,
        extents: Sequence[tuple[int, int]],
    ) -> Iterator[ExtentData]:
        snapshot = self._book(connection, machine_id, disk_id).snapshot(cut.cut_id)
        for offset, length in extents:
            try:
                data = snapshot.read(offset, length)
            except OSError as exc:
                raise RemoteCommandFailed(
                    f"{connection.address}: reading disk {disk_id} at {offset} failed: {exc}"
                ) from exc
            yield ExtentData(offset, data)

    @hookimpl
    def srp_block_digests(
        self, connection: FabricConnection, cut: Cut, machine_id: str, disk_id: str, block_size: int
    ) -> Iterator[BlockDigest]:
        snapshot = self._book(connection, machine_id, disk_id).snapshot(cut.cut_id)
        return (BlockDigest(o, d) for o, d in snapshot.block_digests(block_size))

    @hookimpl
    def srp_release_cut(self, connection: FabricConnection, cut: Cut, confirmed: bool) -> None:
        fabric = self._fabric(connection)
        for changes in cut.disks:
            sim = fabric.machines.get(changes.machine_id)
            book = sim.books.get(changes.disk_id) if sim else None
            if book is not None and cut.cut_id in book.open_cuts:
                book.release(cut.cut_id, confirmed)

    @hookimpl
    def srp_prepare_failover(
        self, connection: FabricConnection, machine: Machine
    ) -> PreparedSource:
        sim = self._fabric(connection).machine(machine.machine_id, "shut down")
        sim.power_state = "off"
        return PreparedSource(sim.machine_id, sim.power_state)

    @hookimpl
    def srp_resume_source(self, connection: FabricConnection, machine: Machine) -> None:
        self._fabric(connection).machine(machine.machine_id, "start").power_state = "running"

    @hookimpl
    def srp_write_extents(
        self,
        connection: FabricConnection,
        machine: Machine,
        disk_id: str,
        extents: Sequence[ExtentData],
    ) -> None:
        sim = self._fabric(connection).machine(machine.machine_id, "write extents")
        if disk_id not in sim.disks:
            raise MachineNotFound(f"{connection.address}: machine {sim.name} has no disk {disk_id}")
        for extent in extents:
            sim.disks[disk_id].write(extent.offset, extent.data)

    @hookimpl
    def srp_create_machine(self, connection: FabricConnection, spec: AlternateMachine) -> Machine:
        fabric = self._fabric(connection)
        if spec.host not in fabric.hosts:
            hosts = ", ".join(sorted(fabric.hosts)) or "none"
            raise NotFound(f"{connection.address}: no host {spec.host!r} (hosts: {hosts})")
        if any((m.name, m.host) == (spec.name, spec.host) for m in fabric.machines.values()):
            raise AlreadyExists(
                f"{connection.address}: a machine named {spec.name} exists on {spec.host}"
            )
        sim = fabric.add_machine(
            spec.name, spec.disk_capacities, networks=spec.networks, host=spec.host
        )
        sim.power_state, sim.cpu_count, sim.memory_mib = "off", spec.cpu_count, spec.memory_mib
        return sim.describe(fabric.container_id)

    def _book(self, connection: FabricConnection, machine_id: str, disk_id: str) -> CutBook:
        return self._fabric(connection).machine(machine_id, "read").books[disk_id]


def _new_disk(capacity: int, name: str, disk_id: str, sparse_dir: Path | None) -> VirtualDisk:
    if sparse_dir is None:
        return VirtualDisk.in_memory(capacity, name=name, disk_id=disk_id)
    return VirtualDisk.sparse_file(
        sparse_dir / f"{disk_id}.img", capacity, name=name, disk_id=disk_id
    )


def _consistency(fabric: SimulatedFabric, wanted: Consistency) -> tuple[Consistency, str]:
    if wanted is Consistency.APP and fabric.quiesce_fails:
        return Consistency.CRASH, "quiesce failed: the guest did not freeze; crash-consistent cut"
    return wanted, ""
