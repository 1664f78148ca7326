"""Replica sync through the SrpAgent module: tracking, cuts, extent reads, digests, writes.

The SrpAgent cmdlets run on the Hyper-V host and use RCT there. Reads are
batched (at most :data:`READ_BATCH_BYTES` per call, so a call's answer stays
a few MiB) and streamed: one batch is in memory at a time. An extent longer
than a batch comes back as consecutive pieces, in order.

Writes (reverse replication, failback) travel the other way, inside the
script itself, so they are bounded by the command line instead: at most
:data:`WRITE_BATCH_BYTES` per call. The agent answers with the SHA-256 of
what the disk now holds there, and the plugin refuses any other answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Iterator, Sequence

from plugins.hyperv import scripts
from plugins.hyperv.client import HyperVClient
from plugins.hyperv.records import Row, one_row
from plugins.hyperv.scripts import CutConsistency, PreviousCut
from plugins.hyperv.vms import current
from provider.contracts.replica import (
    BlockDigest,
    ChangeMode,
    Cut,
    CutRequest,
    DiskChanges,
    ExtentData,
    TrackingInfo,
)
from provider.errors import HostileResponse, MachineNotFound, ValidationError
from provider.model.inventory import Machine
from provider.model.recovery import Consistency

READ_BATCH_BYTES = 4 << 20
#: Extents per read call: keeps the script far below the 32 Ki-character command line.
READ_BATCH_EXTENTS = 256
#: Digests per call: 4096 x 32 bytes = 128 KiB of digests per answer.
DIGEST_PAGE_BLOCKS = 4096
DIGEST_BYTES = 32
#: Bytes per Write-SrpDiskExtent call: base64 in a script sent as UTF-16LE base64 on
#: ``powershell -EncodedCommand``, which must stay under Windows' 32,767-character line.
WRITE_BATCH_BYTES = 8 << 10

_MODES = {
    "Incremental": ChangeMode.INCREMENTAL,
    "Full": ChangeMode.FULL,
    "Resync": ChangeMode.RESYNC,
}


def enable_tracking(client: HyperVClient, machine: Machine) -> TrackingInfo:
    """Enable RCT on the VM's disks (idempotent on the agent, so retried freely)."""
    script = scripts.enable_tracking(machine.name)
    current(client, machine, script.command)
    row = one_row(client.query(script), f"{client.host}: {script.command}")
    _require_same_vm(client, script, machine, row.text("VMId"))
    disks = tuple(disk.lower() for disk in row.texts("Disks"))
    return TrackingInfo(machine.machine_id, row.text("BaseCut"), disks)


def _require_same_vm(
    client: HyperVClient, script: scripts.Script, machine: Machine, found: str
) -> None:
    """Names are not unique on Hyper-V: refuse when the name now belongs to another VM."""
    if found.lower() != machine.machine_id.lower():
        raise MachineNotFound(
            f"{client.host}: {script.command}: VM {machine.name!r} is now {found}, "
            f"not {machine.machine_id}"
        )


def disable_tracking(client: HyperVClient, machine: Machine) -> None:
    """Disable RCT; a VM that is gone (or whose name another VM took) needs nothing more."""
    script = scripts.disable_tracking(machine.name)
    try:
        current(client, machine, script.command)
        client.query(script)
    except MachineNotFound:
        return


def capture_cut(client: HyperVClient, request: CutRequest) -> Cut:
    """One consistent cut across the request's VMs (New-SrpCut is never run twice)."""
    script = scripts.new_cut(
        [machine.name for machine in request.machines],
        request.cut_id,
        CutConsistency.APPLICATION
        if request.consistency is Consistency.APP
        else CutConsistency.CRASH,
        _previous(request),
    )
    answer = one_row(client.act(script), f"{client.host}: {script.command}")
    try:
        cut = _cut(answer)
    except ValidationError as exc:
        raise HostileResponse(f"{answer.where}: {exc.message}") from exc
    if cut.cut_id != request.cut_id:
        raise HostileResponse(
            f"{answer.where}: asked for cut {request.cut_id!r}, got {cut.cut_id!r}"
        )
    _require_requested_vms(client, request, cut)
    return cut


def _require_requested_vms(client: HyperVClient, request: CutRequest, cut: Cut) -> None:
    """A name reused by another VM would put a stranger's disks in the cut: refuse it."""
    wanted = {machine.machine_id.lower() for machine in request.machines}
    strangers = {changes.machine_id for changes in cut.disks} - wanted
    if strangers:
        client.query(scripts.remove_cut(cut.cut_id))
        raise MachineNotFound(
            f"{client.host}: New-SrpCut: the requested names now belong to other VMs "
            f"({', '.join(sorted(strangers))}); the cut was removed"
        )


def _previous(request: CutRequest) -> list[PreviousCut]:
    markers = []
    for machine in request.machines:
        for disk in machine.disks:
            cut_id = request.previous_cut(machine.machine_id, disk.disk_id)
            if cut_id:
                markers.append(PreviousCut(machine.machine_id, disk.disk_id, cut_id))
    return markers


def _cut(answer: Row) -> Cut:
    head = one_row(answer.data.get("Cut"), f"{answer.where}: Cut")
    achieved = head.text("Consistency")
    return Cut(
        cut_id=head.text("CutId"),
        taken_at=head.number("TakenAt"),
        consistency=Consistency.APP if achieved == "Application" else Consistency.CRASH,
        disks=tuple(_disk_changes(row) for row in answer.rows("Disks")),
        note=head.optional_text("Note"),
    )


def _disk_changes(row: Row) -> DiskChanges:
    mode = _MODES.get(row.text("Mode"))
    if mode is None:
        raise HostileResponse(f"{row.where}: unknown change mode {row.text('Mode')!r}")
    return DiskChanges(
        machine_id=row.text("VMId").lower(),
        disk_id=row.text("DiskId").lower(),
        capacity=row.integer("Capacity"),
        mode=mode,
        extents=parse_extents(row.optional_text("Extents"), row.where),
        reason=row.optional_text("Reason"),
    )


def parse_extents(text: str, where: str) -> tuple[tuple[int, int], ...]:
    """``o:l,o:l`` into byte extents; anything else is refused."""
    if not text:
        return ()
    extents = []
    for item in text.split(","):
        offset, sep, length = item.partition(":")
        if not (sep and offset.isdigit() and length.isdigit()):
            raise HostileResponse(f"{where}: malformed extent {item!r:.40}")
        extents.append((int(offset), int(length)))
    return tuple(extents)


def read_extents(
    client: HyperVClient,
    cut: Cut,
    machine_id: str,
    disk_id: str,
    extents: Sequence[tuple[int, int]],
) -> Iterator[ExtentData]:
    """The extents' bytes at the cut, one batch per call, streamed in order."""
    for batch in _batches(_pieces(extents)):
        data = _read_batch(client, cut.cut_id, machine_id, disk_id, batch)
        position = 0
        for offset, length in batch:
            yield ExtentData(offset, data[position : position + length])
            position += length


def _pieces(extents: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    for offset, length in extents:
        if offset < 0 or length <= 0:
            raise ValidationError(f"extent ({offset}, {length}) is not a byte range")
        for start in range(offset, offset + length, READ_BATCH_BYTES):
            yield start, min(READ_BATCH_BYTES, offset + length - start)


def _batches(pieces: Iterable[tuple[int, int]]) -> Iterator[list[tuple[int, int]]]:
    batch: list[tuple[int, int]] = []
    size = 0
    for piece in pieces:
        if batch and (size + piece[1] > READ_BATCH_BYTES or len(batch) == READ_BATCH_EXTENTS):
            yield batch
            batch, size = [], 0
        batch.append(piece)
        size += piece[1]
    if batch:
        yield batch


def _read_batch(
    client: HyperVClient, cut_id: str, vm_id: str, disk_id: str, batch: list[tuple[int, int]]
) -> bytes:
    script = scripts.read_cut_extents(cut_id, vm_id, disk_id, batch)
    row = one_row(client.query(script), f"{client.host}: {script.command}")
    return _decode(row, "Data", sum(length for _, length in batch))


def _decode(row: Row, key: str, expected: int) -> bytes:
    try:
        data = base64.b64decode(row.text(key), validate=True)
    except binascii.Error as exc:
        raise HostileResponse(f"{row.where}: field {key!r} is not base64: {exc}") from exc
    if len(data) != expected:
        raise HostileResponse(f"{row.where}: {key} holds {len(data)} bytes, expected {expected}")
    return data


def block_digests(
    client: HyperVClient, cut: Cut, machine_id: str, disk_id: str, block_size: int
) -> Iterator[BlockDigest]:
    """SHA-256 of every block of the disk at the cut, a page of digests per call."""
    if block_size <= 0:
        raise ValidationError(f"block size must be positive, got {block_size}")
    capacity = _capacity(cut, machine_id, disk_id)
    if capacity % block_size:
        raise ValidationError(
            f"disk {disk_id!r} of {capacity} bytes is not made of whole {block_size}-byte blocks"
        )
    blocks = capacity // block_size
    for first in range(0, blocks, DIGEST_PAGE_BLOCKS):
        count = min(DIGEST_PAGE_BLOCKS, blocks - first)
        offset = first * block_size
        page = _digest_page(client, cut.cut_id, machine_id, disk_id, block_size, offset, count)
        for index in range(count):
            digest = page[index * DIGEST_BYTES : (index + 1) * DIGEST_BYTES]
            yield BlockDigest(offset + index * block_size, digest)


def _capacity(cut: Cut, machine_id: str, disk_id: str) -> int:
    try:
        return cut.disk(machine_id, disk_id).capacity
    except KeyError as exc:
        raise ValidationError(f"cut {cut.cut_id!r} has no disk {machine_id}/{disk_id}") from exc


def _digest_page(
    client: HyperVClient,
    cut_id: str,
    vm_id: str,
    disk_id: str,
    block_size: int,
    offset: int,
    count: int,
) -> bytes:
    script = scripts.block_digests(cut_id, vm_id, disk_id, block_size, offset, count)
    row = one_row(client.query(script), f"{client.host}: {script.command}")
    return _decode(row, "Digests", count * DIGEST_BYTES)


def release_cut(client: HyperVClient, cut: Cut, confirmed: bool) -> None:
    """Release the cut's snapshot; confirmed makes its changes the next base.

    Unconfirmed, the agent carries the cut's changes into the next cut, so an
    abandoned cycle loses nothing. Both are no-ops when repeated, so they are
    retried freely.
    """
    script = scripts.confirm_cut(cut.cut_id) if confirmed else scripts.remove_cut(cut.cut_id)
    client.query(script)


def write_extents(
    client: HyperVClient, machine: Machine, disk_id: str, extents: Sequence[ExtentData]
) -> None:
    """Write the extents to one disk of the VM (which must be off), a bounded piece per call.

    Writing the same bytes again is harmless, so a transient failure is
    retried like a query; the VM is named by id, never by a reusable name.
    """
    for extent in extents:
        if extent.offset < 0:
            raise ValidationError(f"extent at offset {extent.offset} is not on the disk")
        for start in range(0, len(extent.data), WRITE_BATCH_BYTES):
            piece = extent.data[start : start + WRITE_BATCH_BYTES]
            _write_piece(client, machine.machine_id, disk_id, extent.offset + start, piece)


def _write_piece(client: HyperVClient, vm_id: str, disk_id: str, offset: int, data: bytes) -> None:
    script = scripts.write_disk_extent(vm_id, disk_id, offset, data)
    row = one_row(client.query(script), f"{client.host}: {script.command}")
    answer = (row.integer("Offset"), row.integer("Length"), row.text("Sha256").lower())
    expected = (offset, len(data), hashlib.sha256(data).hexdigest())
    if answer != expected:
        raise HostileResponse(
            f"{row.where}: wrote (offset, length, sha256) {answer}, expected {expected}"
        )
