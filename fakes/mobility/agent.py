"""Physical servers running srp's mobility service: disks, change tracking, consistent cuts.

The mobility service is the agent ASR installs on a physical (or any)
machine it replicates: it tracks writes below the file system, takes
consistent cuts across all of the server's disks (VSS-quiesced when asked),
and serves the cut's bytes and block digests. Here the disks are
:class:`fakes.disk.VirtualDisk`\\ s and each disk's cuts are kept by a
:class:`fakes.cutbook.CutBook` (a cut's changes become the base only once
confirmed; an unconfirmed cut's changes travel again with the next one).
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fakes.clock import VirtualClock
from fakes.cutbook import CutBook, CutChanges
from fakes.disk import VirtualDisk

AGENT_VERSION = "9.60.1.0"


class MobilityError(Exception):
    """A request the service refuses: ``code`` and HTTP ``status`` go on the wire."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class MobilityFaults:
    """Fault switches: VSS failure text, and N calls answered 503."""

    vss_failure: str = ""
    unavailable_calls: int = 0


@dataclass(frozen=True)
class PhysicalNic:
    nic_id: str
    mac: str
    ip_addresses: tuple[str, ...]
    network: str


@dataclass(frozen=True)
class DiskCut:
    disk_id: str
    capacity: int
    changes: CutChanges


@dataclass(frozen=True)
class ServerCut:
    """A consistent cut across every disk of the server."""

    cut_id: str
    taken_at: float
    consistency: str
    note: str
    disks: tuple[DiskCut, ...]


@dataclass
class PhysicalServer:
    """One physical server with the mobility service installed."""

    hostname: str
    server_id: str
    disks: list[VirtualDisk]
    nics: list[PhysicalNic]
    clock: VirtualClock
    os: str = "Windows Server 2019"
    cpu_count: int = 4
    memory_mib: int = 8192
    users: dict[str, str] = field(default_factory=lambda: {"mobility": "Passphrase-1"})
    faults: MobilityFaults = field(default_factory=MobilityFaults)

    def __post_init__(self) -> None:
        self.service = MobilityService(self)

    @classmethod
    def build(
        cls,
        hostname: str,
        *,
        disks: Sequence[int] = (1 << 20,),
        networks: Sequence[str] = ("Corp-LAN",),
        seed: int = 0,
        clock: VirtualClock | None = None,
    ) -> PhysicalServer:
        """A server with zero-filled disks of these sizes and one NIC per network."""
        rng = random.Random(seed)
        server_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        made = [
            VirtualDisk.in_memory(
                size, name=f"{hostname}/physicaldrive{i}", disk_id=f"physicaldrive{i}"
            )
            for i, size in enumerate(disks)
        ]
        nics = [
            PhysicalNic(
                f"nic{i}",
                "00:15:5d:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3)),
                (f"10.0.{i}.{rng.randrange(2, 250)}",),
                net,
            )
            for i, net in enumerate(networks)
        ]
        return cls(hostname, server_id, made, nics, clock or VirtualClock())

    @property
    def credentials(self) -> tuple[str, str]:
        return next(iter(self.users.items()))

    def disk(self, disk_id: str) -> VirtualDisk:
        for disk in self.disks:
            if disk.disk_id == disk_id:
                return disk
        raise MobilityError(404, "disk_not_found", f"No disk '{disk_id}' on {self.hostname}.")

    def crash(self) -> None:
        """Fault switch: the server lost power; the driver's change log is unusable."""
        for disk in self.disks:
            disk.unclean_stop()


class MobilityService:
    """The agent: tracking on/off, cuts, reads, digests, release."""

    def __init__(self, server: PhysicalServer) -> None:
        self._server = server
        self._books: dict[str, CutBook] = {}
        self._cuts: dict[str, ServerCut] = {}
        self._lock = threading.RLock()

    @property
    def tracking(self) -> bool:
        return bool(self._books)

    @property
    def open_cuts(self) -> list[str]:
        with self._lock:
            return list(self._cuts)

    def enable_tracking(self) -> None:
        with self._lock:
            for disk in self._server.disks:
                if disk.disk_id not in self._books:
                    disk.enable_tracking()
                    self._books[disk.disk_id] = CutBook(disk)

    def disable_tracking(self) -> None:
        with self._lock:
            for cut_id in list(self._cuts):
                self.release(cut_id, confirmed=False)
            for disk in self._server.disks:
                disk.disable_tracking()
            self._books.clear()

    def new_cut(self, cut_id: str, consistency: str, previous: dict[str, str]) -> ServerCut:
        """One cut across every disk; asking again for an open cut id answers the same cut."""
        with self._lock:
            if cut_id in self._cuts:
                return self._cuts[cut_id]
            if not self._books:
                raise MobilityError(409, "tracking_disabled", "Change tracking is not enabled.")
            achieved, note = self._quiesce(consistency)
            disks = tuple(
                DiskCut(
                    disk.disk_id,
                    disk.capacity,
                    self._books[disk.disk_id].cut(cut_id, previous.get(disk.disk_id, "")),
                )
                for disk in self._server.disks
            )
            cut = ServerCut(cut_id, self._server.clock.now(), achieved, note, disks)
            self._cuts[cut_id] = cut
            return cut

    def _quiesce(self, consistency: str) -> tuple[str, str]:
        if consistency != "app":
            return "crash", ""
        failure = self._server.faults.vss_failure
        if failure:
            return "crash", f"VSS quiesce failed on {self._server.hostname}: {failure}"
        return "app", ""

    def cut(self, cut_id: str) -> ServerCut:
        with self._lock:
            cut = self._cuts.get(cut_id)
        if cut is None:
            raise MobilityError(404, "cut_not_found", f"No open cut '{cut_id}'.")
        return cut

    def reader(self, cut_id: str, disk_id: str) -> tuple[Callable[[int, int], bytes], int]:
        """How to read a disk of an open cut, and its size."""
        self.cut(cut_id)
        with self._lock:
            book = self._books.get(disk_id)
            if book is None:
                raise MobilityError(404, "disk_not_found", f"No tracked disk '{disk_id}'.")
            snapshot = book.snapshot(cut_id)
        return snapshot.read, snapshot.capacity

    def release(self, cut_id: str, confirmed: bool) -> None:
        """Release a cut; releasing an unknown (already released) cut is a no-op."""
        with self._lock:
            if self._cuts.pop(cut_id, None) is None:
                return
            for book in self._books.values():
                if cut_id in book.open_cuts:
                    book.release(cut_id, confirmed)
