"""Reaching a dirfabric host: sessions, machine records, and errors mapped into srp's tree.

A session is opened with the host's users (salted SHA-256) and remembers
the host's *epoch*; a host agent that restarts bumps the epoch, which drops
every session, as a TCP connection drops. A dropped session fails the call
that notices it with ``FabricUnreachable`` and is forgotten, so the next
call opens a fresh one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provider.contracts.connection import FabricConnection
from provider.errors import (
    AuthenticationFailed,
    FabricUnreachable,
    HostileResponse,
    MachineNotFound,
    WrongFabricKind,
)

HOST_FILE = "host.json"
MACHINE_FILE = "machine.json"
#: Machine and disk ids are hex: they become folder and file names, never a path.
_HEX_ID = re.compile(r"^[0-9a-f]{32}$")
_IMAGE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}\.img$")


def password_digest(salt: str, password: str) -> str:
    """How host.json stores a user's password."""
    return hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()


def read_json(path: Path, address: str) -> dict[str, Any]:
    """A JSON object from the host; OS failures mean the host is unreachable.

    A missing file raises ``FileNotFoundError``: only the caller knows what is missing.
    """
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise FabricUnreachable(f"{address}: cannot read {path.name}: {exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise HostileResponse(f"{address}: {path.name} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise HostileResponse(f"{address}: {path.name} is not a JSON object")
    return value


def write_json(path: Path, value: dict[str, Any]) -> None:
    """Replace a JSON file atomically: a reader sees the old or the new record."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(value, indent=1), encoding="utf-8")
    os.replace(temporary, path)


@dataclass(frozen=True)
class DiskRecord:
    """One disk of a machine: srp's disk id, the image file, its capacity."""

    disk_id: str
    image: Path
    capacity: int


@dataclass(frozen=True)
class MachineRecord:
    """A machine folder as machine.json describes it."""

    machine_id: str
    folder: Path
    raw: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.raw["name"])

    def disks(self, address: str) -> list[DiskRecord]:
        records = []
        for disk in self.raw.get("disks", []):
            image = str(disk.get("file", ""))
            if not _IMAGE_NAME.match(image) or not _HEX_ID.match(str(disk.get("id", ""))):
                raise HostileResponse(f"{address}: machine {self.name!r} lists a bad disk {disk}")
            records.append(DiskRecord(disk["id"], self.folder / image, int(disk["capacity"])))
        return records

    def disk(self, disk_id: str, address: str) -> DiskRecord:
        for record in self.disks(address):
            if record.disk_id == disk_id:
                return record
        raise MachineNotFound(f"{address}: machine {self.name!r} has no disk {disk_id}")


class HostSession:
    """An authenticated session on one host directory."""

    def __init__(self, connection: FabricConnection) -> None:
        self.address = connection.address
        self.root = Path(connection.address)
        host = self.host_record()
        if str(host.get("kind", "")) != "dirfabric":
            raise WrongFabricKind(f"{self.address}: {HOST_FILE} does not describe a dirfabric host")
        _authenticate(host, connection)
        self.name = str(host.get("name", self.root.name))
        self.epoch = host.get("epoch", 0)

    def host_record(self) -> dict[str, Any]:
        """host.json; a missing host directory is unreachable, a missing file a wrong kind."""
        try:
            return read_json(self.root / HOST_FILE, self.address)
        except FileNotFoundError as exc:
            if not self.root.is_dir():
                raise FabricUnreachable(f"{self.address}: the host does not answer") from exc
            raise WrongFabricKind(
                f"{self.address} has no {HOST_FILE}: not a dirfabric host"
            ) from exc

    def check_alive(self) -> None:
        """Refuse a session the host dropped (its agent restarted since it opened)."""
        epoch = self.host_record().get("epoch", 0)
        if epoch != self.epoch:
            raise FabricUnreachable(
                f"{self.address}: the connection dropped (host agent restarted); "
                "the next call reconnects"
            )

    def machines(self) -> list[MachineRecord]:
        folder = self.root / "machines"
        found = sorted(folder.glob(f"*/{MACHINE_FILE}")) if folder.is_dir() else []
        return [self._record(path.parent) for path in found if _HEX_ID.match(path.parent.name)]

    def machine(self, machine_id: str, operation: str) -> MachineRecord:
        folder = self.root / "machines" / machine_id
        if not _HEX_ID.match(machine_id) or not (folder / MACHINE_FILE).is_file():
            raise MachineNotFound(f"{self.address}: {operation}: machine {machine_id} is gone")
        return self._record(folder)

    def save(self, record: MachineRecord) -> None:
        write_json(record.folder / MACHINE_FILE, record.raw)

    def _record(self, folder: Path) -> MachineRecord:
        try:
            raw = read_json(folder / MACHINE_FILE, self.address)
        except FileNotFoundError as exc:
            raise MachineNotFound(f"{self.address}: machine {folder.name} is gone") from exc
        if raw.get("id") != folder.name or not isinstance(raw.get("name"), str):
            raise HostileResponse(f"{self.address}: {folder.name}/{MACHINE_FILE} is malformed")
        return MachineRecord(folder.name, folder, raw)


def _authenticate(host: dict[str, Any], connection: FabricConnection) -> None:
    user = host.get("users", {}).get(connection.username)
    refused = AuthenticationFailed(f"{connection.address}: the credentials were refused")
    if not isinstance(user, dict):
        raise refused
    offered = password_digest(str(user.get("salt", "")), connection.secret.reveal())
    if not hmac.compare_digest(offered, str(user.get("sha256", ""))):
        raise refused


class Sessions:
    """Open sessions by fabric id and address; a dropped one is forgotten."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, str], HostSession] = {}

    def get(self, connection: FabricConnection) -> HostSession:
        key = (connection.fabric_id, connection.address)
        session = self._open.get(key)
        if session is None:
            session = self._open[key] = HostSession(connection)
            return session
        try:
            session.check_alive()
        except FabricUnreachable:
            del self._open[key]
            raise
        return session

    def drop(self, connection: FabricConnection) -> None:
        self._open.pop((connection.fabric_id, connection.address), None)
