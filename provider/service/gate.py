"""Which protected items are being cycled right now, so two cycles never overlap.

The scheduler and the initial-replication job both run cycles; an item is
claimed for the length of a cycle. The scheduler skips a claimed item (its
turn comes at the next tick); a job waits for it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


class ItemGate:
    """A set of claimed item ids, guarded by one condition variable."""

    def __init__(self) -> None:
        self._busy: set[str] = set()
        self._changed = threading.Condition()

    def try_claim(self, item_ids: Iterable[str]) -> bool:
        """Claim every item, or none when one is already claimed."""
        wanted = set(item_ids)
        with self._changed:
            if wanted & self._busy:
                return False
            self._busy |= wanted
            return True

    def release(self, item_ids: Iterable[str]) -> None:
        with self._changed:
            self._busy -= set(item_ids)
            self._changed.notify_all()

    @contextmanager
    def holding(self, item_ids: Iterable[str]) -> Iterator[None]:
        """Claim the items for the block, waiting while another holder has one."""
        wanted = list(item_ids)
        with self._changed:
            self._changed.wait_for(lambda: not set(wanted) & self._busy)
            self._busy |= set(wanted)
        try:
            yield
        finally:
            self.release(wanted)
