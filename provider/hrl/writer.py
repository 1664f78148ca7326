"""Streaming HRL writer: memory stays O(frame size) whatever the disk size."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import zstandard

from provider.errors import ValidationError
from provider.hrl import faults
from provider.hrl.crypto import FileCipher, check_key
from provider.hrl.frames import FrameBuilder, FrameHeader
from provider.hrl.header import HrlHeader, StoredHeader, pack_prefix, seal
from provider.hrl.layout import (
    DEFAULT_FRAME_SIZE,
    FLAG_COMPRESSED,
    FLAG_ENCRYPTED,
    FRAME_ZSTD,
    GCM_TAG_SIZE,
    KCV_SIZE,
    MAX_FRAME_SIZE,
    MAX_U32,
    MAX_U64,
    MIN_FRAME_SIZE,
    SALT_SIZE,
)
from provider.hrl.trailer import Trailer
from provider.hrl.values import HrlSummary


class HrlWriter:
    """Writes one HRL to a temporary name and renames it into place on close.

    A reader therefore never sees a half-written file under the final name.
    Use as a context manager: an exception inside the block discards the file.
    """

    def __init__(
        self,
        path: Path,
        header: HrlHeader,
        *,
        key: bytes | None = None,
        frame_size: int = DEFAULT_FRAME_SIZE,
        level: int = 1,
        compress: bool = True,
    ) -> None:
        _check_options(header, key, frame_size, level)
        self.path = Path(path)
        salt = os.urandom(SALT_SIZE) if key is not None else bytes(SALT_SIZE)
        self._cipher = FileCipher(key, salt) if key is not None else None
        flags = (FLAG_COMPRESSED if compress else 0) | (FLAG_ENCRYPTED if key is not None else 0)
        self._header_bytes = self._seal_header(StoredHeader(header, flags, frame_size, salt))
        self._compressor = zstandard.ZstdCompressor(level=level) if compress else None
        self._frame = FrameBuilder(frame_size)
        self._digest = hashlib.sha256()
        self._frames = self._records = self._payload = self._size = 0
        self._summary: HrlSummary | None = None
        self._file, self._temp_path = _open_temporary(self.path)
        self._guarded(self._emit, self._header_bytes)

    def _seal_header(self, stored: StoredHeader) -> bytes:
        prefix = pack_prefix(stored)
        key_check = self._cipher.key_check(prefix) if self._cipher else bytes(KCV_SIZE)
        return seal(prefix, key_check)

    def __enter__(self) -> HrlWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def add(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        """Record that ``data`` now sits at byte ``offset`` of the disk."""
        self._require_open()
        view = memoryview(data).cast("B")
        if offset < 0 or offset + len(view) > MAX_U64 + 1:
            raise ValidationError(f"HRL {self.path}: extent at {offset} is outside a u64 disk")
        while len(view) > 0:
            if len(view) > self._frame.room and (
                len(view) <= self._frame.max_data or self._frame.room <= 0
            ):
                self._guarded(self._flush)
            take = min(len(view), self._frame.room)
            self._frame.append(offset, view[:take])
            offset, view = offset + take, view[take:]
            self._payload += take

    def close(self) -> HrlSummary:
        """Flush, write the trailer, fsync, rename into place; idempotent."""
        if self._summary is None:
            self._require_open()
            self._guarded(self._finish)
        assert self._summary is not None  # set by _finish or the raise above
        return self._summary

    def abort(self) -> None:
        """Discard the temporary file; the final name is never created."""
        if self._file.closed and self._summary is not None:
            return
        self._file.close()
        self._temp_path.unlink(missing_ok=True)

    def _require_open(self) -> None:
        if self._file.closed:
            raise ValidationError(f"HRL {self.path}: the writer is already closed or aborted")

    def _flush(self) -> None:
        if self._frame.records == 0:
            return
        if self._frames >= MAX_U32:
            raise ValidationError(f"HRL {self.path}: {MAX_U32} frames is the most one file holds")
        raw = self._frame.contents()
        payload, flags = self._compressed(raw)
        tag = GCM_TAG_SIZE if self._cipher else 0
        frame = FrameHeader(self._frames, flags, self._frame.records, len(raw), len(payload) + tag)
        stored = self._sealed(frame, payload)
        self._emit(frame.pack(stored))
        self._emit(stored)
        self._frames += 1
        self._records += self._frame.records
        self._frame.reset()

    def _compressed(self, raw: memoryview) -> tuple[bytes | memoryview, int]:
        """zstd when it saves bytes; incompressible frames are stored raw."""
        if self._compressor is None:
            return raw, 0
        packed = self._compressor.compress(raw)
        return (packed, FRAME_ZSTD) if len(packed) < len(raw) else (raw, 0)

    def _sealed(self, frame: FrameHeader, payload: bytes | memoryview) -> bytes | memoryview:
        if self._cipher is None:
            return payload
        return self._cipher.seal(frame.index, payload, self._header_bytes + frame.prefix())

    def _emit(self, chunk: bytes | memoryview) -> None:
        self._file.write(chunk)
        self._digest.update(chunk)
        self._size += len(chunk)

    def _finish(self) -> None:
        self._flush()
        digest = self._digest.digest()
        mac = self._cipher.trailer_mac if self._cipher else None
        trailer = Trailer(self._frames, self._records, self._payload, digest).pack(mac)
        self._file.write(trailer)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._temp_path, self.path)
        _fsync_directory(self.path.parent)
        size = self._size + len(trailer)
        self._summary = HrlSummary(digest, size, self._records, self._payload, self._frames)

    def _guarded(self, action: Callable[..., None], *args: bytes) -> None:
        """Run a step that touches the file; on any failure discard the file."""
        try:
            action(*args)
        except OSError as exc:
            self.abort()
            raise faults.io_failure(str(self.path), "write", exc) from exc
        except BaseException:
            self.abort()
            raise


def _check_options(header: HrlHeader, key: bytes | None, frame_size: int, level: int) -> None:
    if not MIN_FRAME_SIZE <= frame_size <= MAX_FRAME_SIZE:
        raise ValidationError(
            f"HRL frame size {frame_size} is outside [{MIN_FRAME_SIZE}, {MAX_FRAME_SIZE}]"
        )
    if not 1 <= level <= 22:
        raise ValidationError(f"HRL zstd level {level} is outside [1, 22]")
    if key is not None:
        check_key(key)
    if (key is not None) != bool(header.key_id):
        raise ValidationError("HRL header: key_id must name the key exactly when a key is given")


def _open_temporary(path: Path) -> tuple[BinaryIO, Path]:
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as exc:
        raise faults.io_failure(str(path), "create a temporary file", exc) from exc
    return os.fdopen(fd, "wb"), Path(name)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable, not only the file's bytes."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
