"""A simulated compute service: the role Azure's compute and networks play in the seed.

:class:`SimulatedCompute` implements :class:`provider.targets.compute.ComputeService`
under one directory, so the service and the CLI (separate processes) see the
same networks and machines::

    networks.json                         the target's virtual networks
    machines/<replica id>/machine.json    one replica machine: disks, NICs, power
    machines/<replica id>/<disk>.journal  what the machine's guest wrote to a disk

A replica disk is a writable copy-on-write view of a replicated disk at a
recovery point (:meth:`provider.replica.ReplicaStore.open_view`), never a
copy: the view's named lease keeps its point retained until the machine is
deleted. A view's overlay lives with the process that opened it, so every
guest write is also appended to the disk's journal; another process that
needs the disk opens a fresh view and replays the journal before releasing
the old one (the point stays leased throughout).

A machine boots by reading the first block of every disk, so a broken view
fails loudly at start. Fault switch: ``compute.faults.undeletable`` holds
replica ids whose deletion the service refuses (a cleanup that leaves
something behind).

Example::

    compute = SimulatedCompute.at(tmp_path / "compute")
    compute.add_network("vnet-prod", subnet="10.1.0.0/24")
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import struct
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from provider.contracts.failover import CleanupResult, NicPlacement
from provider.contracts.replica import BlockDigest
from provider.contracts.transfer import DiskRef
from provider.errors import AlreadyExists, NotFound, ValidationError
from provider.model.inventory import Network
from provider.replica import PointView, ReplicaStore
from provider.replica.durable import read_small, remove_quietly, write_atomic
from provider.replica.space import mapped_os_errors
from provider.targets.compute import DiskSource, MachineSpec, Purpose, ReplicaMachine

#: The isolated network every simulated target has, for test failovers.
ISOLATED_NETWORK = "test-isolated"
_ISOLATED_SUBNET = "192.168.250.0/24"
#: Bytes a booting machine reads from each disk.
BOOT_READ = 4096
_RECORD = struct.Struct(">QI")


@dataclass
class ComputeFaults:
    """Switches that make the simulated service misbehave on purpose."""

    undeletable: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class VirtualNetwork:
    """A network of the simulated target, with the subnet its addresses come from."""

    network_id: str
    subnet: str = ""
    isolated: bool = False
    name: str = ""

    def describe(self) -> Network:
        return Network(self.network_id, self.name or self.network_id, "vnet", self.isolated)


class SimulatedCompute:
    """Networks and replica machines under one directory (see the module docs)."""

    _instances: ClassVar[dict[Path, SimulatedCompute]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.label = f"simulated compute ({self.root})"
        self.faults = ComputeFaults()
        self._lock = threading.RLock()
        self._views: dict[tuple[str, str], PointView] = {}
        with mapped_os_errors(self.label, "creating its directory"):
            (self.root / "machines").mkdir(parents=True, exist_ok=True)

    @classmethod
    def at(cls, root: Path) -> SimulatedCompute:
        """The one instance of this process for a directory (it holds the open views)."""
        key = Path(root).resolve()
        with cls._instances_lock:
            if key not in cls._instances:
                cls._instances[key] = cls(key)
            return cls._instances[key]

    # ------------------------------------------------------------------
    # Networks

    def add_network(
        self, network_id: str, *, subnet: str = "", isolated: bool = False, name: str = ""
    ) -> Network:
        """Create a virtual network (a VNet); AlreadyExists when the id is taken."""
        if subnet:
            _parse_subnet(network_id, subnet)
        with self._lock:
            networks = self._networks()
            if network_id in networks:
                raise AlreadyExists(f"{self.label}: network {network_id!r} already exists")
            network = VirtualNetwork(network_id, subnet, isolated, name)
            networks[network_id] = network
            self._save_networks(networks)
        return network.describe()

    def networks(self) -> tuple[Network, ...]:
        with self._lock:
            return tuple(n.describe() for n in self._networks().values())

    def _networks(self) -> dict[str, VirtualNetwork]:
        raw = read_small(self.root / "networks.json")
        found = [VirtualNetwork(**entry) for entry in json.loads(raw)] if raw else []
        networks = {ISOLATED_NETWORK: VirtualNetwork(ISOLATED_NETWORK, _ISOLATED_SUBNET, True)}
        networks.update((n.network_id, n) for n in found)
        return networks

    def _save_networks(self, networks: dict[str, VirtualNetwork]) -> None:
        body = [asdict(n) for n in networks.values() if n.network_id != ISOLATED_NETWORK]
        with mapped_os_errors(self.label, "saving its networks"):
            write_atomic(self.root / "networks.json", json.dumps(body).encode("utf-8"))

    # ------------------------------------------------------------------
    # Machines

    def create_machine(self, spec: MachineSpec) -> ReplicaMachine:
        with self._lock:
            nics = self._placed_nics(spec.nics)
            replica_id = f"vm-{uuid.uuid4().hex[:12]}"
            opened: list[tuple[DiskSource, str]] = []
            try:
                for index, disk in enumerate(spec.disks):
                    view_id = f"{replica_id}-{index}-g1"
                    self._open_view(replica_id, disk, view_id)
                    opened.append((disk, view_id))
            except BaseException:
                self._release_all(replica_id, opened)
                raise
            record = _Record(
                replica_id,
                spec.item_id,
                spec.name,
                spec.purpose,
                "stopped",
                tuple(disk for disk, _ in opened),
                nics,
                tuple(view for _, view in opened),
            )
            self._save(record)
            return record.machine()

    def find(self, replica_id: str) -> ReplicaMachine | None:
        record = self._load(replica_id)
        return None if record is None else record.machine()

    def machines(self, item_id: str) -> tuple[ReplicaMachine, ...]:
        folder = self.root / "machines"
        records = (self._load(entry.name) for entry in sorted(folder.iterdir()))
        return tuple(r.machine() for r in records if r is not None and r.item_id == item_id)

    def start(self, replica_id: str) -> ReplicaMachine:
        with self._lock:
            record = self._get(replica_id)
            for disk in record.disks:
                size = min(BOOT_READ, disk.capacity)
                self._view(record, disk.disk_id).read(0, size)
            return self._save(replace(record, power_state="running")).machine()

    def stop(self, replica_id: str) -> ReplicaMachine:
        with self._lock:
            record = self._get(replica_id)
            return self._save(replace(record, power_state="stopped")).machine()

    def delete(self, replica_id: str) -> CleanupResult:
        with self._lock:
            record = self._load(replica_id)
            if record is None:
                return CleanupResult(())
            if replica_id in self.faults.undeletable:
                left = f"machine {record.name} ({replica_id}): the service refused to delete it"
                return CleanupResult((), (left,))
            removed = self._release_all(
                replica_id, list(zip(record.disks, record.views, strict=True))
            )
            removed += [f"nic {nic.nic_id} on {nic.network_id}" for nic in record.nics]
            remove_quietly(self._folder(replica_id) / "machine.json")
            with mapped_os_errors(self.label, f"deleting machine {replica_id}"):
                self._folder(replica_id).rmdir()
            return CleanupResult((f"machine {record.name} ({replica_id})", *removed))

    # ------------------------------------------------------------------
    # Disks

    def read_disk(self, replica_id: str, disk_id: str, offset: int, length: int) -> bytes:
        with self._lock:
            return self._view(self._get(replica_id), disk_id).read(offset, length)

    def write_disk(self, replica_id: str, disk_id: str, offset: int, data: bytes) -> None:
        with self._lock:
            view = self._view(self._get(replica_id), disk_id)
            view.write(offset, data)
            _append_journal(self._journal(replica_id, disk_id), offset, data)

    def block_digests(
        self, replica_id: str, disk_id: str, block_size: int
    ) -> Iterator[BlockDigest]:
        with self._lock:
            # Materialised here: the lock must not be held by a half-read generator.
            view = self._view(self._get(replica_id), disk_id)
            return iter(list(view.block_digests(block_size)))

    def disk_digest(self, replica_id: str, disk_id: str) -> str:
        with self._lock:
            return self._view(self._get(replica_id), disk_id).digest()

    # ------------------------------------------------------------------
    # Internals

    def _placed_nics(self, wanted: Sequence[NicPlacement]) -> tuple[NicPlacement, ...]:
        networks = self._networks()
        used = {(n.network_id, n.ip_address) for r in self._records() for n in r.nics}
        placed = []
        for nic in wanted:
            network = networks.get(nic.network_id)
            if network is None:
                raise NotFound(f"{self.label}: there is no network {nic.network_id!r}")
            address = _address(network, nic, {ip for net, ip in used if net == network.network_id})
            used.add((network.network_id, address))
            placed.append(replace(nic, ip_address=address))
        return tuple(placed)

    def _open_view(self, replica_id: str, disk: DiskSource, view_id: str) -> PointView:
        store = ReplicaStore(Path(disk.store), DiskRef(disk.item_id, disk.disk_id, disk.capacity))
        view = store.open_view(disk.sequence, writable=True, view_id=view_id)
        self._views[(replica_id, disk.disk_id)] = view
        return view

    def _view(self, record: _Record, disk_id: str) -> PointView:
        view = self._views.get((record.replica_id, disk_id))
        if view is not None:
            return view
        return self._reattach(record, disk_id)

    def _reattach(self, record: _Record, disk_id: str) -> PointView:
        # Another process opened this view: open a fresh one, replay the
        # guest's writes, and only then drop the old lease, so the point
        # stays leased the whole time.
        index = record.disk_index(disk_id)
        disk, old_view = record.disks[index], record.views[index]
        generation = int(old_view.rsplit("-g", 1)[1]) + 1
        view = self._open_view(
            record.replica_id, disk, f"{record.replica_id}-{index}-g{generation}"
        )
        for offset, data in _read_journal(self._journal(record.replica_id, disk_id)):
            view.write(offset, data)
        views = list(record.views)
        views[index] = view.view_id
        self._save(replace(record, views=tuple(views)))
        _store_of(disk).release_view(old_view)
        return view

    def _release_all(self, replica_id: str, disks: list[tuple[DiskSource, str]]) -> list[str]:
        removed = []
        for disk, view_id in disks:
            view = self._views.pop((replica_id, disk.disk_id), None)
            if view is not None:
                view.close()
            _store_of(disk).release_view(view_id)
            remove_quietly(self._journal(replica_id, disk.disk_id))
            removed.append(f"disk view {view_id} of {disk.disk_id} at sequence {disk.sequence}")
        return removed

    def _folder(self, replica_id: str) -> Path:
        if "/" in replica_id or replica_id.startswith("."):
            raise ValidationError(f"{self.label}: {replica_id!r} is not a machine id")
        return self.root / "machines" / replica_id

    def _journal(self, replica_id: str, disk_id: str) -> Path:
        return self._folder(replica_id) / f"{disk_id}.journal"

    def _get(self, replica_id: str) -> _Record:
        record = self._load(replica_id)
        if record is None:
            raise NotFound(f"{self.label}: there is no machine {replica_id!r}")
        return record

    def _load(self, replica_id: str) -> _Record | None:
        raw = read_small(self._folder(replica_id) / "machine.json")
        return None if raw is None else _Record.decode(json.loads(raw))

    def _records(self) -> list[_Record]:
        found = (self._load(entry.name) for entry in (self.root / "machines").iterdir())
        return [record for record in found if record is not None]

    def _save(self, record: _Record) -> _Record:
        folder = self._folder(record.replica_id)
        with mapped_os_errors(self.label, f"saving machine {record.replica_id}"):
            folder.mkdir(exist_ok=True)
            write_atomic(folder / "machine.json", json.dumps(record.encode()).encode("utf-8"))
        return record


@dataclass(frozen=True)
class _Record:
    """A machine as stored: its public description plus the view behind each disk."""

    replica_id: str
    item_id: str
    name: str
    purpose: Purpose
    power_state: str
    disks: tuple[DiskSource, ...]
    nics: tuple[NicPlacement, ...]
    views: tuple[str, ...]

    def machine(self) -> ReplicaMachine:
        return ReplicaMachine(
            self.replica_id,
            self.item_id,
            self.name,
            self.purpose,
            self.power_state,
            self.disks,
            self.nics,
        )

    def disk_index(self, disk_id: str) -> int:
        for index, disk in enumerate(self.disks):
            if disk.disk_id == disk_id:
                return index
        raise NotFound(f"machine {self.name} ({self.replica_id}) has no disk {disk_id!r}")

    def encode(self) -> dict[str, Any]:
        body = asdict(self)
        body["purpose"] = self.purpose.value
        return body

    @classmethod
    def decode(cls, raw: dict[str, Any]) -> _Record:
        return cls(
            raw["replica_id"],
            raw["item_id"],
            raw["name"],
            Purpose(raw["purpose"]),
            raw["power_state"],
            tuple(DiskSource(**d) for d in raw["disks"]),
            tuple(NicPlacement(**n) for n in raw["nics"]),
            tuple(raw["views"]),
        )


def _store_of(disk: DiskSource) -> ReplicaStore:
    return ReplicaStore(Path(disk.store), DiskRef(disk.item_id, disk.disk_id, disk.capacity))


def _parse_subnet(network_id: str, subnet: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(subnet)
    except ValueError as exc:
        raise ValidationError(
            f"network {network_id!r}: subnet {subnet!r} is not a network like 10.1.0.0/24"
        ) from exc


def _address(network: VirtualNetwork, nic: NicPlacement, taken: set[str]) -> str:
    """The NIC's address: kept when free, else the first free one of its subnet."""
    if nic.ip_address and nic.ip_address not in taken:
        return nic.ip_address
    subnet = nic.subnet or network.subnet
    if not subnet:
        return ""
    # The first three hosts are the gateway's and DNS's, as in Azure's VNets.
    for host in itertools.islice(_parse_subnet(network.network_id, subnet).hosts(), 3, None):
        if str(host) not in taken:
            return str(host)
    raise ValidationError(f"network {network.network_id!r}: subnet {subnet} has no free address")


def _append_journal(path: Path, offset: int, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, _RECORD.pack(offset, len(data)) + data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_journal(path: Path) -> Iterator[tuple[int, bytes]]:
    raw = read_small(path) or b""
    position = 0
    while position + _RECORD.size <= len(raw):
        offset, length = _RECORD.unpack_from(raw, position)
        position += _RECORD.size
        yield offset, raw[position : position + length]
        position += length


__all__ = ["ISOLATED_NETWORK", "ComputeFaults", "SimulatedCompute"]
