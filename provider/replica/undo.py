"""Undo logs: the bytes each applied HRL overwrote.

``undo/<n>.undo`` holds, for every extent HRL n writes, what the replica
image held there just before (the disk as of n-1). It is what makes older
recovery points materialisable, and what rolls back an interrupted apply.

Byte layout (little endian)::

    head     magic b"SRPUNDO\\n" | u16 version (1) | u64 sequence
    data     the saved bytes of every record, back to back
    index    per record: u64 disk offset | u32 length | u32 CRC-32 of the bytes
             | u64 file position of the bytes
    trailer  u64 index position | u64 record count
             | u32 CRC-32 of head + index | b"UNDOEND\\n"

The index sits at the end so the log streams out in one pass with only the
index in memory (24 bytes per record). CRC-32 guards against rot at rest;
the file is written under a temporary name, fsynced, then renamed, so a
torn log is never mistaken for a whole one. Records are at most 1 MiB, so
a read verifies at most that much beyond what it needs.
"""

from __future__ import annotations

import bisect
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from provider.errors import RecoveryPointUnavailable
from provider.replica.durable import (
    create_exclusive,
    open_read,
    pread_exact,
    publish,
    remove_quietly,
    temp_path,
    write_all,
)

MAGIC = b"SRPUNDO\n"
END = b"UNDOEND\n"
VERSION = 1
HEAD = struct.Struct("<8sHQ")
ENTRY = struct.Struct("<QIIQ")
TRAILER = struct.Struct("<QQI8s")
MAX_RECORD = 1 << 20
_FLUSH_AT = 1 << 20


@dataclass(frozen=True)
class UndoRecord:
    """Saved bytes for disk range [offset, offset + length), at ``position`` in the log."""

    offset: int
    length: int
    crc: int
    position: int

    @property
    def end(self) -> int:
        return self.offset + self.length


class UndoWriter:
    """Builds one undo log at a temporary name; :meth:`commit` publishes it."""

    def __init__(self, final: Path, sequence: int) -> None:
        self.final = final
        self._temp = temp_path(final.parent, final.name)
        self._fd = create_exclusive(self._temp)
        self._head = HEAD.pack(MAGIC, VERSION, sequence)
        self._buffer = bytearray(self._head)
        self._index = bytearray()
        self._position = len(self._head)

    def __enter__(self) -> UndoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.discard()

    def capture(self, image_fd: int, offset: int, length: int) -> None:
        """Save what the image holds now at [offset, offset + length)."""
        while length > 0:
            take = min(length, MAX_RECORD)
            data = pread_exact(image_fd, take, offset, "the replica image")
            self._index += ENTRY.pack(offset, take, zlib.crc32(data), self._position)
            self._buffer += data
            self._position += take
            offset, length = offset + take, length - take
            if len(self._buffer) >= _FLUSH_AT:
                self._flush()

    def commit(self) -> int:
        """Write index and trailer, fsync, rename into place; returns the log's size."""
        count = len(self._index) // ENTRY.size
        crc = zlib.crc32(self._index, zlib.crc32(self._head))
        self._buffer += self._index
        self._buffer += TRAILER.pack(self._position, count, crc, END)
        size = self._position + len(self._index) + TRAILER.size
        self._flush()
        os.fsync(self._fd)
        self._close()
        publish(self._temp, self.final)
        return size

    def discard(self) -> None:
        self._close()
        remove_quietly(self._temp)

    def _flush(self) -> None:
        write_all(self._fd, self._buffer)
        self._buffer.clear()

    def _close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class UndoLog:
    """One undo log opened for reading: its index in memory, bytes read on demand."""

    def __init__(self, path: Path, sequence: int) -> None:
        self.path, self.sequence = path, sequence
        self._fd = open_read(path)
        try:
            self.size = os.fstat(self._fd).st_size
            self._records = self._load_index()
        except BaseException:
            os.close(self._fd)
            raise
        self._starts = [record.offset for record in self._records]
        self._longest = max((record.length for record in self._records), default=0)
        self._cached: tuple[UndoRecord, bytes] | None = None

    def __enter__(self) -> UndoLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def records(self) -> Iterator[tuple[int, bytes]]:
        """Every saved (offset, bytes), checked, in disk-offset order."""
        for record in self._records:
            yield record.offset, self._data(record)

    def overlay(self, start: int, buffer: bytearray) -> None:
        """Replace the parts of ``buffer`` (disk bytes from ``start``) this log saved."""
        end = start + len(buffer)
        first = bisect.bisect_left(self._starts, start - self._longest + 1)
        for record in self._records[first : bisect.bisect_left(self._starts, end)]:
            low, high = max(start, record.offset), min(end, record.end)
            if low < high:
                saved = memoryview(self._data(record))[low - record.offset : high - record.offset]
                buffer[low - start : high - start] = saved

    def _data(self, record: UndoRecord) -> bytes:
        if self._cached is not None and self._cached[0] == record:
            return self._cached[1]
        data = pread_exact(self._fd, record.length, record.position, str(self.path))
        if zlib.crc32(data) != record.crc:
            raise self._damaged(f"the bytes saved for offset {record.offset} fail their CRC")
        self._cached = (record, data)
        return data

    def _load_index(self) -> list[UndoRecord]:
        if self.size < HEAD.size + TRAILER.size:
            raise self._damaged(f"it is {self.size} bytes, shorter than an empty log")
        head = pread_exact(self._fd, HEAD.size, 0, str(self.path))
        self._check_head(*HEAD.unpack(head))
        index_at, count, crc, end = TRAILER.unpack(
            pread_exact(self._fd, TRAILER.size, self.size - TRAILER.size, str(self.path))
        )
        if (
            end != END
            or index_at < HEAD.size
            or index_at + count * ENTRY.size + TRAILER.size != (self.size)
        ):
            raise self._damaged("its trailer does not describe the file")
        index = pread_exact(self._fd, count * ENTRY.size, index_at, str(self.path))
        if zlib.crc32(index, zlib.crc32(head)) != crc:
            raise self._damaged("its index fails its CRC")
        return self._parse_index(index, count, index_at)

    def _check_head(self, magic: bytes, version: int, sequence: int) -> None:
        if magic != MAGIC or version != VERSION:
            raise self._damaged("it does not start with an undo log header of version 1")
        if sequence != self.sequence:
            raise self._damaged(f"it says it belongs to HRL {sequence}")

    def _parse_index(self, index: bytes, count: int, data_end: int) -> list[UndoRecord]:
        records = [UndoRecord(*ENTRY.unpack_from(index, i * ENTRY.size)) for i in range(count)]
        for record in records:
            if record.position < HEAD.size or record.position + record.length > data_end:
                raise self._damaged(f"its index points outside the data at {record.position}")
        return sorted(records, key=lambda record: record.offset)

    def _damaged(self, what: str) -> RecoveryPointUnavailable:
        return RecoveryPointUnavailable(
            f"undo log {self.path} of HRL {self.sequence} is damaged: {what}",
            hint=f"points before sequence {self.sequence} cannot be materialised; "
            "the latest point is unaffected",
        )
