"""The dirfabric plugin's hooks (entry point ``dirfabric`` in group ``srp``).

srp calls these only for fabrics of kind ``dirfabric``. Every hook takes
the session for the connection and maps what can go wrong into srp's
errors: nothing else escapes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from provider.contracts.connection import FabricConnection, FabricIdentity
from provider.contracts.declarations import FabricKind
from provider.contracts.failover import PreparedSource
from provider.contracts.replica import (
    BlockDigest,
    Cut,
    CutRequest,
    DiskChanges,
    ExtentData,
    TrackingInfo,
)
from provider.errors import FabricUnreachable, MachineNotFound, RemoteCommandFailed
from provider.hookspecs import hookimpl
from provider.model.inventory import Inventory, Machine
from provider.model.recovery import Consistency
from srp_dirfabric import discovery, tracking
from srp_dirfabric.host import MachineRecord, Sessions
from srp_dirfabric.kinds import DIRFABRIC, KIND

SESSIONS = Sessions()
T = TypeVar("T")


@hookimpl
def srp_fabric_kinds() -> Sequence[FabricKind]:
    return (DIRFABRIC,)


@hookimpl
def srp_connect(connection: FabricConnection) -> FabricIdentity:
    session = SESSIONS.get(connection)
    return FabricIdentity(session.name, KIND, "1.0", session.name)


@hookimpl
def srp_discover(connection: FabricConnection) -> Inventory:
    return discovery.inventory(SESSIONS.get(connection))


@hookimpl
def srp_disconnect(connection: FabricConnection) -> None:
    SESSIONS.drop(connection)


@hookimpl
def srp_enable_tracking(connection: FabricConnection, machine: Machine) -> TrackingInfo:
    record = _machine(connection, machine.machine_id, "enable tracking")
    _io(connection, "enable tracking", lambda: tracking.enable(record))
    disks = tuple(disk.disk_id for disk in record.disks(connection.address))
    return TrackingInfo(record.machine_id, "", disks)


@hookimpl
def srp_disable_tracking(connection: FabricConnection, machine: Machine) -> None:
    try:
        record = _machine(connection, machine.machine_id, "disable tracking")
    except (MachineNotFound, FabricUnreachable):
        return  # nothing left to disable, or nobody to ask: this hook never fails
    tracking.disable(record)


@hookimpl
def srp_capture_cut(connection: FabricConnection, request: CutRequest) -> Cut:
    records = [_machine(connection, m.machine_id, "capture cut") for m in request.machines]
    changes = [change for record in records for change in _cut_machine(connection, record, request)]
    consistency, note = request.consistency, ""
    if consistency is Consistency.APP:
        # No guest agent to quiesce: say so rather than pretend.
        consistency, note = Consistency.CRASH, "dirfabric has no guest agent: crash-consistent"
    return Cut(request.cut_id, time.time(), consistency, tuple(changes), note)


@hookimpl
def srp_read_extents(
    connection: FabricConnection,
    cut: Cut,
    machine_id: str,
    disk_id: str,
    extents: Sequence[tuple[int, int]],
) -> Iterator[ExtentData]:
    record = _machine(connection, machine_id, "read extents")
    frozen = tracking.frozen_image(record, cut.cut_id, disk_id)
    return _read(connection, frozen, extents)


@hookimpl
def srp_block_digests(
    connection: FabricConnection, cut: Cut, machine_id: str, disk_id: str, block_size: int
) -> Iterator[BlockDigest]:
    record = _machine(connection, machine_id, "block digests")
    frozen = tracking.frozen_image(record, cut.cut_id, disk_id)
    return _digests(connection, frozen, block_size)


@hookimpl
def srp_release_cut(connection: FabricConnection, cut: Cut, confirmed: bool) -> None:
    session = SESSIONS.get(connection)
    for machine_id in dict.fromkeys(changes.machine_id for changes in cut.disks):
        disk_ids = [c.disk_id for c in cut.disks if c.machine_id == machine_id]
        try:
            record = session.machine(machine_id, "release cut")
        except MachineNotFound:
            continue  # a machine gone with its cut: nothing left to release
        tracking.release(record, cut.cut_id, disk_ids, confirmed)


@hookimpl
def srp_prepare_failover(connection: FabricConnection, machine: Machine) -> PreparedSource:
    record = _set_power(connection, machine.machine_id, "off")
    return PreparedSource(record.machine_id, "off")


@hookimpl
def srp_resume_source(connection: FabricConnection, machine: Machine) -> None:
    _set_power(connection, machine.machine_id, "running")


@hookimpl
def srp_write_extents(
    connection: FabricConnection, machine: Machine, disk_id: str, extents: Sequence[ExtentData]
) -> None:
    record = _machine(connection, machine.machine_id, "write extents")
    image = record.disk(disk_id, connection.address).image
    _io(connection, "write extents", lambda: _write(image, extents))


def _machine(connection: FabricConnection, machine_id: str, operation: str) -> MachineRecord:
    return SESSIONS.get(connection).machine(machine_id, operation)


def _cut_machine(
    connection: FabricConnection, record: MachineRecord, request: CutRequest
) -> list[DiskChanges]:
    def cut_every_disk() -> list[DiskChanges]:
        return [
            tracking.cut_disk(
                record,
                disk,
                request.cut_id,
                request.previous_cut(record.machine_id, disk.disk_id),
            )
            for disk in record.disks(connection.address)
        ]

    return _io(connection, "capture cut", cut_every_disk)


def _set_power(connection: FabricConnection, machine_id: str, state: str) -> MachineRecord:
    session = SESSIONS.get(connection)
    record = session.machine(machine_id, f"power {state}")
    record.raw["power_state"] = state
    _io(connection, f"power {state}", lambda: session.save(record))
    return record


def _io(connection: FabricConnection, operation: str, work: Callable[[], T]) -> T:
    """Run file work on the host; an OS failure is the host failing the operation."""
    try:
        return work()
    except OSError as exc:
        raise RemoteCommandFailed(f"{connection.address}: {operation} failed: {exc}") from exc


def _read(
    connection: FabricConnection, image: Path, extents: Sequence[tuple[int, int]]
) -> Iterator[ExtentData]:
    # A generator: srp streams the extents, and a failure mid-way is still mapped.
    try:
        with image.open("rb") as source:
            for offset, length in extents:
                source.seek(offset)
                yield ExtentData(offset, source.read(length))
    except OSError as exc:
        raise RemoteCommandFailed(f"{connection.address}: read extents failed: {exc}") from exc


def _digests(connection: FabricConnection, image: Path, block_size: int) -> Iterator[BlockDigest]:
    try:
        for offset, digest in tracking.block_digests(image, block_size):
            yield BlockDigest(offset, digest)
    except OSError as exc:
        raise RemoteCommandFailed(f"{connection.address}: block digests failed: {exc}") from exc


def _write(image: Path, extents: Sequence[ExtentData]) -> None:
    with image.open("r+b") as target:
        for extent in extents:
            target.seek(extent.offset)
            target.write(extent.data)
