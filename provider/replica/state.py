"""``state.json``: the last HRL applied to a disk's replica image (the chain head).

Written atomically (temporary file, fsync, rename, directory fsync) as the
very last step of an apply: its presence with sequence n *is* the commit of
HRL n. Absent means nothing was applied yet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provider.errors import ResyncRequired
from provider.hrl import ChainState
from provider.replica.durable import read_small, write_atomic

_FORMAT = 1


@dataclass(frozen=True)
class DiskState:
    """The replica image holds the disk as of HRL ``sequence`` (file digest ``digest``)."""

    item_id: str
    machine_id: str
    disk_id: str
    sequence: int
    digest: bytes
    capacity: int

    def chain(self) -> ChainState:
        return ChainState(self.item_id, self.machine_id, self.disk_id, self.sequence, self.digest)


def load_state(path: Path) -> DiskState | None:
    raw = read_small(path)
    if raw is None:
        return None
    try:
        return _decode(json.loads(raw))
    except (ValueError, KeyError, TypeError) as exc:
        raise ResyncRequired(
            f"replica state {path} is unreadable: {exc}",
            hint="the target's files were damaged; resynchronize the disk",
        ) from exc


def save_state(path: Path, state: DiskState) -> None:
    record = {
        "format": _FORMAT,
        "item_id": state.item_id,
        "machine_id": state.machine_id,
        "disk_id": state.disk_id,
        "sequence": state.sequence,
        "digest": state.digest.hex(),
        "capacity": state.capacity,
    }
    write_atomic(path, json.dumps(record, sort_keys=True).encode("utf-8"))


def _decode(record: dict[str, Any]) -> DiskState:
    if record["format"] != _FORMAT:
        raise ValueError(f"format {record['format']!r} is not {_FORMAT}")
    return DiskState(
        item_id=str(record["item_id"]),
        machine_id=str(record["machine_id"]),
        disk_id=str(record["disk_id"]),
        sequence=int(record["sequence"]),
        digest=bytes.fromhex(record["digest"]),
        capacity=int(record["capacity"]),
    )
