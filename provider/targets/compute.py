"""The cloud target's compute side: the service that runs replica machines.

Azure plays this role in the seed: at failover it creates a machine from
disks materialised at a recovery point, attaches it to the mapped virtual
networks, starts it, reports its state and deletes it. srp talks to it only
through :class:`ComputeService`, so a real cloud can replace the simulated
one (:class:`fakes.compute.SimulatedCompute`) that the embedded cloud target
uses by default.

A target connection picks its compute service with the option ``compute``
(default ``simulated``, rooted at ``<storage path>/compute``). Another
implementation registers a factory under its own name with
:func:`register_compute`.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from provider.contracts.connection import TargetConnection
from provider.contracts.failover import CleanupResult, NicPlacement
from provider.contracts.replica import BlockDigest
from provider.errors import ConfigurationError
from provider.model.checks import require_id, require_positive, require_text
from provider.model.inventory import Network


class Purpose(enum.StrEnum):
    """Why a replica machine exists: a drill, or a real failover."""

    TEST = "test"
    FAILOVER = "failover"


@dataclass(frozen=True)
class DiskSource:
    """A replica disk to create: one replicated disk materialised at one HRL sequence.

    ``store`` is the replica store's directory in the storage account; the
    compute service opens a copy-on-write view of it at ``sequence``, never
    a copy of the disk. ``storage`` is the mapped target storage (may be empty).
    """

    disk_id: str
    item_id: str
    store: str
    capacity: int
    sequence: int
    storage: str = ""

    def __post_init__(self) -> None:
        require_id("DiskSource", "disk_id", self.disk_id)
        require_id("DiskSource", "item_id", self.item_id)
        require_text("DiskSource", "store", self.store)
        require_positive("DiskSource", "capacity", self.capacity)
        require_positive("DiskSource", "sequence", self.sequence)


@dataclass(frozen=True)
class MachineSpec:
    """Everything the compute service needs to create a replica machine."""

    item_id: str
    name: str
    purpose: Purpose
    disks: tuple[DiskSource, ...]
    nics: tuple[NicPlacement, ...] = ()
    cpu_count: int = 1
    memory_mib: int = 1024

    def __post_init__(self) -> None:
        require_id("MachineSpec", "item_id", self.item_id)
        require_text("MachineSpec", "name", self.name)


@dataclass(frozen=True)
class ReplicaMachine:
    """A machine the compute service runs, as it reports it."""

    replica_id: str
    item_id: str
    name: str
    purpose: Purpose
    power_state: str
    disks: tuple[DiskSource, ...]
    nics: tuple[NicPlacement, ...] = ()


class ComputeService(Protocol):
    """Networks and replica machines on the cloud target.

    Every method raises errors from :mod:`provider.errors`: ``NotFound`` for
    an unknown machine or disk, ``TargetUnavailable`` when the service
    cannot be reached, ``RecoveryPointUnavailable`` when a disk's point is
    gone.
    """

    def networks(self) -> tuple[Network, ...]:
        """The target's virtual networks, isolated test networks included."""

    def add_network(
        self, network_id: str, *, subnet: str = "", isolated: bool = False, name: str = ""
    ) -> Network:
        """Create a virtual network; AlreadyExists when the id is taken."""

    def create_machine(self, spec: MachineSpec) -> ReplicaMachine:
        """Create a stopped machine on views of its disks, NICs on their networks."""

    def find(self, replica_id: str) -> ReplicaMachine | None:
        """A machine by id, or None when there is none."""

    def machines(self, item_id: str) -> tuple[ReplicaMachine, ...]:
        """Every machine created for a protected item."""

    def start(self, replica_id: str) -> ReplicaMachine:
        """Boot the machine: it reads its disks, so a broken disk fails here."""

    def stop(self, replica_id: str) -> ReplicaMachine:
        """Shut the machine down (a stopped machine stays stopped)."""

    def delete(self, replica_id: str) -> CleanupResult:
        """Remove the machine, its NICs and its disk views; an unknown id removes nothing."""

    def read_disk(self, replica_id: str, disk_id: str, offset: int, length: int) -> bytes:
        """Bytes of one of the machine's disks, as the machine sees them."""

    def write_disk(self, replica_id: str, disk_id: str, offset: int, data: bytes) -> None:
        """Write to one of the machine's disks (what its guest does)."""

    def block_digests(
        self, replica_id: str, disk_id: str, block_size: int
    ) -> Iterator[BlockDigest]:
        """SHA-256 of every ``block_size`` block of one disk, in offset order."""

    def disk_digest(self, replica_id: str, disk_id: str) -> str:
        """The disk digest (:mod:`provider.blockdigest`) of one of the machine's disks."""


#: Builds a compute service for a target connection and the storage account's root.
ComputeFactory = Callable[[TargetConnection, Path], ComputeService]

_FACTORIES: dict[str, ComputeFactory] = {}
_lock = threading.Lock()
DEFAULT_COMPUTE = "simulated"


def register_compute(name: str, factory: ComputeFactory) -> None:
    """Make a compute implementation selectable with the target option ``compute=name``."""
    require_text("compute service", "name", name)
    with _lock:
        _FACTORIES[name] = factory


def compute_for(target: TargetConnection, account_root: Path) -> ComputeService:
    """The compute service a cloud target connection uses."""
    name = target.option("compute") or DEFAULT_COMPUTE
    with _lock:
        if name == DEFAULT_COMPUTE and name not in _FACTORIES:
            _FACTORIES[name] = _simulated
        factory = _FACTORIES.get(name)
    if factory is None:
        known = ", ".join(sorted(_FACTORIES | {DEFAULT_COMPUTE: _simulated}))
        raise ConfigurationError(
            f"target {target.target_id!r} asks for compute service {name!r}; known: {known}",
            hint="register the implementation with provider.targets.compute.register_compute",
        )
    return factory(target, account_root)


def _simulated(target: TargetConnection, account_root: Path) -> ComputeService:
    # Imported here: the simulation is only loaded when a target actually uses it.
    from fakes.compute import SimulatedCompute

    return SimulatedCompute.at(account_root / "compute")
