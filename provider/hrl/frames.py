"""Frames: batches of extent records, and their 28-byte frame headers."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from provider.hrl.layout import (
    FRAME_CHECKS,
    FRAME_PREFIX,
    FRAME_ZSTD,
    KIND_FRAME,
    RECORD,
    U32,
)


class MalformedFrame(ValueError):
    """A frame whose checksums matched but whose content breaks the format."""


@dataclass(frozen=True)
class FrameHeader:
    index: int
    flags: int
    records: int
    raw_length: int
    stored_length: int

    @property
    def compressed(self) -> bool:
        return bool(self.flags & FRAME_ZSTD)

    def prefix(self) -> bytes:
        """The 20 bytes that the AES-GCM associated data binds."""
        return FRAME_PREFIX.pack(
            KIND_FRAME, self.flags, 0, self.index, self.records,
            self.raw_length, self.stored_length,
        )  # fmt: skip

    def pack(self, stored: bytes | memoryview) -> bytes:
        """The full frame header: prefix, stored-bytes CRC32, header CRC32."""
        head = self.prefix() + U32.pack(zlib.crc32(stored))
        return head + U32.pack(zlib.crc32(head))


def unpack_frame_header(data: bytes) -> tuple[FrameHeader, int]:
    """Decode a frame header; return it and the stored bytes' CRC32.

    Raises :class:`MalformedFrame` when the header's own CRC32 does not match.
    """
    body_crc, header_crc = FRAME_CHECKS.unpack_from(data, FRAME_PREFIX.size)
    if zlib.crc32(data[: FRAME_PREFIX.size + 4]) != header_crc:
        raise MalformedFrame("frame header checksum mismatch")
    kind, flags, reserved, index, records, raw, stored = FRAME_PREFIX.unpack_from(data)
    if kind != KIND_FRAME or reserved != 0 or flags & ~FRAME_ZSTD:
        raise MalformedFrame(f"frame header has unknown kind, flags {flags:#04x} or reserved bits")
    return FrameHeader(index, flags, records, raw, stored), body_crc


class FrameBuilder:
    """Packs records into one preallocated buffer, so no frame ever reallocates."""

    def __init__(self, capacity: int) -> None:
        self._buffer = bytearray(capacity)
        self._view = memoryview(self._buffer)
        self.used = 0
        self.records = 0

    @property
    def max_data(self) -> int:
        """The largest extent one record of an empty frame can hold."""
        return len(self._buffer) - RECORD.size

    @property
    def room(self) -> int:
        """Data bytes one more record can hold in this frame (may be <= 0)."""
        return len(self._buffer) - self.used - RECORD.size

    def append(self, offset: int, data: memoryview) -> None:
        start = self.used + RECORD.size
        RECORD.pack_into(self._buffer, self.used, offset, len(data))
        self._view[start : start + len(data)] = data
        self.used = start + len(data)
        self.records += 1

    def contents(self) -> memoryview:
        """The packed records; valid until :meth:`reset`."""
        return self._view[: self.used]

    def reset(self) -> None:
        self.used = self.records = 0


def parse_records(raw: memoryview, expected: int) -> list[tuple[int, int, int]]:
    """Split a frame's raw bytes into (disk offset, start, length) records.

    The whole frame is parsed before any record is handed out, so a bad
    frame yields nothing.
    """
    records: list[tuple[int, int, int]] = []
    position, size = 0, len(raw)
    while position < size:
        if position + RECORD.size > size:
            raise MalformedFrame(f"a record header runs past the frame end at byte {position}")
        offset, length = RECORD.unpack_from(raw, position)
        position += RECORD.size
        if length == 0 or position + length > size:
            raise MalformedFrame(f"record of length {length} does not fit the frame")
        records.append((offset, position, length))
        position += length
    if len(records) != expected:
        raise MalformedFrame(f"frame holds {len(records)} records, its header says {expected}")
    return records
