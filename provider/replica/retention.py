"""Which recovery points a disk can still materialise, and forgetting old ones.

Point m (the disk after HRL m) needs the undo logs of every s in (m, latest],
so the retained points are a contiguous range ending at the latest applied
sequence. Deleting undo(s) forgets point s-1 and everything older.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from provider.contracts.transfer import DiskRef, RetentionResult
from provider.replica.durable import remove_durably
from provider.replica.layout import DiskLayout, parse_sequence


def undo_sequences(layout: DiskLayout) -> list[int]:
    found = (parse_sequence(name, ".undo") for name in os.listdir(layout.undo_dir))
    return sorted(sequence for sequence in found if sequence is not None)


def retained_points(layout: DiskLayout, applied: int | None) -> range:
    """Sequences whose disk can be materialised; empty when nothing was applied."""
    if applied is None:
        return range(0)
    present = set(undo_sequences(layout))
    oldest = applied
    while oldest > 0 and oldest in present:
        oldest -= 1
    return range(oldest, applied + 1)


def prune(
    layout: DiskLayout, disk: DiskRef, oldest_kept: int, applied: int, leased: Iterable[int]
) -> RetentionResult:
    """Delete undo logs with sequence <= ``oldest_kept`` that no leased view needs.

    A view at m needs the logs above m, so the bound is lowered to the
    oldest leased point; it never goes past the latest applied sequence.
    """
    limit = min(oldest_kept, applied, *leased)
    pruned: list[str] = []
    freed = 0
    for sequence in undo_sequences(layout):
        if sequence > limit:
            break
        path = layout.undo(sequence)
        size = os.stat(path).st_size
        if remove_durably(path):
            pruned.append(f"{disk.item_id}/{disk.disk_id}@{sequence - 1}")
            freed += size
    return RetentionResult(tuple(pruned), freed)
