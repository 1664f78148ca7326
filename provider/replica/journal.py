"""``journal.json``: an apply in progress.

Written (atomically) after the undo log of HRL n is durable and before the
first byte of the replica image changes; removed after ``state.json`` says n.
Found on open with the state still at n-1, it means the image may hold any
mix of n-1 and n bytes in n's extents, and recovery rolls those extents
back from the undo log (which needs no key, unlike re-reading an encrypted
HRL). The stored HRL is kept until the state commits, so the pipeline then
simply applies n again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from provider.errors import ResyncRequired
from provider.replica.durable import read_small, remove_durably, write_atomic


@dataclass(frozen=True)
class Journal:
    """HRL ``sequence`` (file digest ``hrl_digest``) is being written into the image."""

    sequence: int
    hrl_digest: bytes


def load_journal(path: Path) -> Journal | None:
    raw = read_small(path)
    if raw is None:
        return None
    try:
        record = json.loads(raw)
        return Journal(int(record["applying"]), bytes.fromhex(record["hrl_digest"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ResyncRequired(
            f"apply journal {path} is unreadable: {exc}",
            hint="the target's files were damaged; resynchronize the disk",
        ) from exc


def save_journal(path: Path, journal: Journal) -> None:
    record = {"applying": journal.sequence, "hrl_digest": journal.hrl_digest.hex()}
    write_atomic(path, json.dumps(record, sort_keys=True).encode("utf-8"))


def clear_journal(path: Path) -> None:
    remove_durably(path)
