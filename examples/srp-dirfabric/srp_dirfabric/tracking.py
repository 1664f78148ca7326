"""Change tracking by block hashes, and consistent cuts as frozen image copies.

Each disk keeps, in the machine's ``.srp`` folder, a *manifest*: the id of
the last confirmed cut and the SHA-256 of every 4 KiB block at that cut. A
cut copies the image (so later guest writes cannot change what the cut
reads), hashes it, and reports the blocks whose hash differs from the
manifest. Only a confirmed release makes the cut's hashes the manifest, so
the changes of a cut released unconfirmed come again with the next one. A
missing manifest, or one from another cut than the engine's marker, means
tracking was lost: the disk is reported for resynchronization.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from provider.contracts.replica import ChangeMode, DiskChanges
from srp_dirfabric.host import DiskRecord, MachineRecord

TRACK_BLOCK = 4096
_DIGEST = 32
_ZERO_BLOCK = hashlib.sha256(bytes(TRACK_BLOCK)).digest()
_STATE = ".srp"


def state_folder(machine: MachineRecord) -> Path:
    return machine.folder / _STATE


def enable(machine: MachineRecord) -> None:
    (state_folder(machine) / "cuts").mkdir(parents=True, exist_ok=True)


def disable(machine: MachineRecord) -> None:
    shutil.rmtree(state_folder(machine), ignore_errors=True)


@dataclass(frozen=True)
class Manifest:
    """The block hashes of a disk at one cut."""

    cut_id: str
    digests: bytes

    def save(self, path: Path) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(self.cut_id.encode() + b"\n" + self.digests)
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path) -> Manifest | None:
        if not path.is_file():
            return None
        cut_id, _, digests = path.read_bytes().partition(b"\n")
        return cls(cut_id.decode(), digests)


def cut_disk(machine: MachineRecord, disk: DiskRecord, cut_id: str, previous: str) -> DiskChanges:
    """Freeze one disk at the cut and say what changed since ``previous``."""
    frozen = frozen_image(machine, cut_id, disk.disk_id)
    frozen.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(disk.image, frozen)
    current = Manifest(cut_id, b"".join(_hashes(frozen, TRACK_BLOCK)))
    current.save(frozen.with_suffix(".blocks"))
    mode, blocks, reason = _changes(machine, disk, current, previous)
    extents = _extents(blocks, disk.capacity)
    return DiskChanges(machine.machine_id, disk.disk_id, disk.capacity, mode, extents, reason)


def release(machine: MachineRecord, cut_id: str, disk_ids: Sequence[str], confirmed: bool) -> None:
    """Close a cut; a confirmed one becomes each disk's manifest."""
    if confirmed:
        for disk_id in disk_ids:
            pending = frozen_image(machine, cut_id, disk_id).with_suffix(".blocks")
            if pending.is_file():
                os.replace(pending, _manifest_path(machine, disk_id))
    shutil.rmtree(state_folder(machine) / "cuts" / cut_id, ignore_errors=True)


def frozen_image(machine: MachineRecord, cut_id: str, disk_id: str) -> Path:
    return state_folder(machine) / "cuts" / cut_id / f"{disk_id}.img"


def lose(machine: MachineRecord) -> None:
    """What a host crash does to tracking: every manifest is gone."""
    for manifest in state_folder(machine).glob("*.blocks"):
        manifest.unlink()


def block_digests(image: Path, block_size: int) -> Iterator[tuple[int, bytes]]:
    """(offset, SHA-256) of every block of a frozen image."""
    for index, digest in enumerate(_hashes(image, block_size)):
        yield index * block_size, digest


def _changes(
    machine: MachineRecord, disk: DiskRecord, current: Manifest, previous: str
) -> tuple[ChangeMode, list[int], str]:
    blocks = range(len(current.digests) // _DIGEST)
    if not previous:
        return ChangeMode.FULL, [b for b in blocks if _at(current, b) != _ZERO_BLOCK], ""
    base = Manifest.load(_manifest_path(machine, disk.disk_id))
    if base is None:
        return ChangeMode.RESYNC, [], "change tracking was lost (no block manifest)"
    if base.cut_id != previous:
        reason = f"previous cut {previous!r} is not the last confirmed cut {base.cut_id!r}"
        return ChangeMode.RESYNC, [], reason
    return ChangeMode.INCREMENTAL, [b for b in blocks if _at(current, b) != _at(base, b)], ""


def _at(manifest: Manifest, block: int) -> bytes:
    return manifest.digests[block * _DIGEST : (block + 1) * _DIGEST]


def _manifest_path(machine: MachineRecord, disk_id: str) -> Path:
    return state_folder(machine) / f"{disk_id}.blocks"


def _hashes(image: Path, block_size: int) -> Iterator[bytes]:
    with image.open("rb") as source:
        while block := source.read(block_size):
            yield hashlib.sha256(block).digest()


def _extents(blocks: list[int], capacity: int) -> tuple[tuple[int, int], ...]:
    """Coalesce changed block numbers into byte extents."""
    runs: list[list[int]] = []
    for block in blocks:
        if runs and runs[-1][1] == block:
            runs[-1][1] = block + 1
        else:
            runs.append([block, block + 1])
    return tuple(
        (start * TRACK_BLOCK, min(end * TRACK_BLOCK, capacity) - start * TRACK_BLOCK)
        for start, end in runs
    )
