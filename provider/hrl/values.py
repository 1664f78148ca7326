"""Values an HRL writer and reader hand out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Extent:
    """Changed bytes of a disk: ``data`` goes at byte ``offset``."""

    offset: int
    data: bytes

    @property
    def length(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class HrlSummary:
    """What a complete HRL holds.

    ``extents`` counts stored records: an extent larger than a frame is
    stored, and read back, as several consecutive records.
    """

    digest: bytes
    size: int
    extents: int
    payload_bytes: int
    frames: int
