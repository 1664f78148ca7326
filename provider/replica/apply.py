"""Applying a stored HRL to a disk's replica image, and recovering from a crash.

The steps, each durable before the next begins:

1. check the HRL's place in the chain, then, in one pass over the file,
   verify it (frames, trailer, file digest) while writing the undo log of n
   (the image's current bytes at n's extents) under a temporary name; the
   log is published only once the pass reached a good trailer, so any
   ``HrlError`` here leaves every file as it was;
2. publish the undo log;
3. write the journal "applying n";
4. write n's extents into the image, fsync;
5. write ``state.json`` = n (the commit point), remove the journal and the
   stored HRL.

A crash between 3 and 5 leaves the journal with the state at n-1; recovery
rolls n's extents back from the undo log, so the image is at n-1 again, and
the stored HRL, still there, is applied anew. The undo log stays: it holds
exactly what the image holds at those extents, so views reading through it
see the same bytes whether or not it exists (see :mod:`provider.replica.view`).
Writing an extent twice is harmless because an HRL carries the new bytes
themselves, not a difference, which is what makes re-applying idempotent.

The file is decoded twice (verify + undo, then write), not three times:
decoding (CRC32, AES-GCM, zstd, SHA-256) is most of an apply's CPU.
"""

from __future__ import annotations

import os
from pathlib import Path

from provider.contracts.transfer import AppliedHrl, DiskRef
from provider.errors import (
    HrlError,
    HrlForeign,
    HrlReplay,
    HrlWrongKey,
    NotFound,
    RecoveryPointUnavailable,
    ResyncRequired,
    ValidationError,
)
from provider.hrl import HrlHeader, HrlReader, HrlSummary, check_chain, faults
from provider.replica.durable import (
    create_exclusive,
    open_read_write,
    opened,
    publish,
    pwrite_all,
    remove_durably,
    remove_quietly,
    sweep_temporaries,
    temp_path,
)
from provider.replica.incoming import remove_applied
from provider.replica.journal import Journal, clear_journal, load_journal, save_journal
from provider.replica.layout import DiskLayout
from provider.replica.space import SpaceGuard
from provider.replica.state import DiskState, load_state, save_state
from provider.replica.undo import UndoLog, UndoWriter


def apply_stored(
    layout: DiskLayout, disk: DiskRef, space: SpaceGuard, sequence: int, key: bytes | None
) -> AppliedHrl:
    """Apply stored HRL ``sequence``; applying the last applied one again is a no-op."""
    state = load_state(layout.state)
    if state is not None and sequence <= state.sequence:
        return _already_applied(disk, state, sequence)
    path = _stored_path(layout, disk, sequence)
    try:
        return _apply_file(layout, disk, space, sequence, key, path, state)
    except HrlWrongKey:
        raise  # the file may be sound: keep it for the right key
    except HrlError:
        # A damaged or out-of-chain HRL is useless: drop it so the sender can
        # store a good one under the same sequence.
        remove_quietly(path)
        raise


def _apply_file(
    layout: DiskLayout,
    disk: DiskRef,
    space: SpaceGuard,
    sequence: int,
    key: bytes | None,
    path: Path,
    state: DiskState | None,
) -> AppliedHrl:
    with HrlReader(path, key=key) as reader:
        _check_header(reader.header, disk, state, sequence)
        payload = _payload_bound(reader)
        # The undo log and newly allocated image blocks are each at most the payload.
        space.reserve(2 * payload, f"applying HRL {sequence}")
        capacity = _capacity(layout, disk, state)
        if not layout.image.exists():
            reader.verify()  # the first HRL creates the image: only once it is known good
        with opened(_open_image(layout, capacity)) as image:
            summary = _verify_and_write_undo(reader, image, layout, capacity, payload)
            save_journal(layout.journal, Journal(sequence, summary.digest))
            _write_extents(reader, image, layout, sequence)
        header = reader.header
        ids = (header.item_id, header.machine_id, header.disk_id)
        save_state(layout.state, DiskState(*ids, sequence, summary.digest, capacity))
    clear_journal(layout.journal)
    remove_durably(path)
    return AppliedHrl(disk, sequence, summary.digest)


def recover(layout: DiskLayout) -> None:
    """Bring a disk back to a committed state after any crash (idempotent)."""
    for directory in (layout.root, layout.incoming_dir, layout.undo_dir, layout.leases_dir):
        sweep_temporaries(directory)
    journal = load_journal(layout.journal)
    if journal is not None:
        state = load_state(layout.state)
        if state is None or state.sequence < journal.sequence:
            with opened(open_read_write(layout.image)) as image:
                roll_back(layout, journal.sequence, image)
        else:
            clear_journal(layout.journal)  # crashed after the commit, before cleanup
    state = load_state(layout.state)
    if state is not None:
        remove_applied(layout, state.sequence)


def roll_back(layout: DiskLayout, sequence: int, image: int) -> None:
    """Put back what HRL ``sequence`` may have overwritten, then drop the journal."""
    try:
        with UndoLog(layout.undo(sequence), sequence) as log:
            for offset, data in log.records():
                pwrite_all(image, data, offset)
    except (FileNotFoundError, RecoveryPointUnavailable) as exc:
        raise ResyncRequired(
            f"the interrupted apply of HRL {sequence} in {layout.root} cannot be rolled back: "
            f"its undo log is missing or damaged ({exc})",
            hint="resynchronize the disk",
        ) from exc
    os.fsync(image)
    clear_journal(layout.journal)


def _already_applied(disk: DiskRef, state: DiskState, sequence: int) -> AppliedHrl:
    if sequence == state.sequence:
        return AppliedHrl(disk, sequence, state.digest)
    raise HrlReplay(
        f"HRL {sequence} of disk {disk.disk_id!r} was already applied "
        f"(last applied is {state.sequence})",
        hint="skip this HRL",
    )


def _stored_path(layout: DiskLayout, disk: DiskRef, sequence: int) -> Path:
    path = layout.incoming(sequence)
    if not path.exists():
        raise NotFound(
            f"HRL {sequence} of disk {disk.disk_id!r} of item {disk.item_id!r} is not stored "
            "on the target",
            hint="store it before applying it",
        )
    return path


def _check_header(header: HrlHeader, disk: DiskRef, state: DiskState | None, slot: int) -> None:
    if (header.item_id, header.disk_id) != (disk.item_id, disk.disk_id):
        raise HrlForeign(
            f"HRL {header.sequence} is for item/disk {header.item_id}/{header.disk_id}, "
            f"not {disk.item_id}/{disk.disk_id}",
            hint="apply it to the disk it was written for",
        )
    check_chain(header, state.chain() if state is not None else None)
    if header.sequence != slot:
        raise HrlForeign(
            f"the HRL stored as sequence {slot} of disk {disk.disk_id!r} is HRL "
            f"{header.sequence} by its header",
            hint="store each HRL under the sequence its header carries",
        )


def _capacity(layout: DiskLayout, disk: DiskRef, state: DiskState | None) -> int:
    known = state.capacity if state is not None else _image_size(layout)
    if known is None:
        if disk.capacity <= 0:
            raise ValidationError(
                f"disk {disk.disk_id!r} of item {disk.item_id!r} has no replica yet and its "
                "capacity is unknown",
                hint="give the disk's capacity in bytes with the first HRL",
            )
        return disk.capacity
    if disk.capacity and disk.capacity != known:
        raise ValidationError(
            f"disk {disk.disk_id!r} is {disk.capacity} bytes at the source but its replica is "
            f"{known} bytes; resizing a replicated disk is not supported",
            hint="resynchronize the disk into a new replica",
        )
    return known


def _image_size(layout: DiskLayout) -> int | None:
    try:
        return os.stat(layout.image).st_size
    except FileNotFoundError:
        return None


def _open_image(layout: DiskLayout, capacity: int) -> int:
    """Open the image, creating it as a sparse file of ``capacity`` zero bytes."""
    if not layout.image.exists():
        temp = temp_path(layout.root, layout.image.name)
        try:
            with opened(create_exclusive(temp)) as fd:
                os.ftruncate(fd, capacity)
                os.fsync(fd)
            publish(temp, layout.image)
        except BaseException:
            remove_quietly(temp)
            raise
    return open_read_write(layout.image)


def _payload_bound(reader: HrlReader) -> int:
    """The payload to reserve space for: the trailer's word, checked during the pass."""
    declared = reader.declared_payload()
    # A trailer that does not check out: a full pass raises the exact fault.
    return declared if declared is not None else reader.verify().payload_bytes


def _verify_and_write_undo(
    reader: HrlReader, image: int, layout: DiskLayout, capacity: int, payload: int
) -> HrlSummary:
    """Steps 1 and 2 in one decode: the log is published only if the file verified."""
    sequence, captured = reader.header.sequence, 0
    with UndoWriter(layout.undo(sequence), sequence) as writer:
        for offset, data in reader.extent_views():
            captured += len(data)
            _check_extent(reader, offset, len(data), capacity, captured, payload)
            writer.capture(image, offset, len(data))
        summary = reader.summary
        assert summary is not None  # the pass ended at a good trailer, or raised
        writer.commit()
    return summary


def _check_extent(
    reader: HrlReader, offset: int, length: int, capacity: int, captured: int, payload: int
) -> None:
    header = reader.header
    if offset + length > capacity:
        raise HrlForeign(
            f"HRL {header.sequence} of disk {header.disk_id!r} writes bytes up to "
            f"{offset + length}, beyond the replica's {capacity} bytes",
            hint="it was written for a larger disk; resynchronize the disk",
        )
    if captured > payload:
        # Found before the trailer would say so: the space reserved stays an upper bound.
        what = f"holds more than the {payload} payload bytes its trailer declares"
        raise faults.corrupt(str(reader.path), what)


def _write_extents(reader: HrlReader, image: int, layout: DiskLayout, sequence: int) -> None:
    """Step 4; any failure (even a file changed since step 1) rolls the image back."""
    try:
        for offset, data in reader.extent_views():
            pwrite_all(image, data, offset)
        os.fsync(image)
    except BaseException:
        roll_back(layout, sequence, image)
        raise
