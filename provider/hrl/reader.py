"""Streaming HRL reader: every frame is checked before any of it is handed out."""

from __future__ import annotations

import hashlib
import hmac
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import zstandard

from provider.errors import ValidationError
from provider.hrl import faults
from provider.hrl.crypto import FileCipher, InvalidTag
from provider.hrl.frames import FrameHeader, MalformedFrame, parse_records, unpack_frame_header
from provider.hrl.header import (
    HrlHeader,
    StoredHeader,
    check_sealed,
    parse_body,
    parse_prelude,
)
from provider.hrl.layout import (
    FLAG_COMPRESSED,
    FRAME_HEADER_SIZE,
    GCM_TAG_SIZE,
    HEADER_END,
    KIND_FRAME,
    KIND_TRAILER,
    PRELUDE,
    RECORD,
    TRAILER_SIZE,
)
from provider.hrl.trailer import MalformedTrailer, Trailer, unpack_trailer
from provider.hrl.values import Extent, HrlSummary

#: One checked frame: its raw record bytes and their (offset, start, length).
_Frame = tuple[memoryview, list[tuple[int, int, int]]]


class HrlReader:
    """Opens an HRL, validates its header and, when encrypted, the key.

    :meth:`extents` yields a frame's extents only once that frame's checksum
    (and GCM tag) matched; the trailer and the file digest are checked after
    the last frame, so a caller that must not touch a replica before the
    whole file is known good calls :meth:`verify` first. Each call makes one
    fresh pass over the file.
    """

    def __init__(self, path: Path, *, key: bytes | None = None) -> None:
        self.path = Path(path)
        self._name = str(self.path)
        self._file = _open(self.path)
        try:
            self._stored, self._header_bytes, key_check = self._read_header()
            self._cipher = self._unlock(key, key_check)
        except BaseException:
            self._file.close()
            raise
        self._decompressor = zstandard.ZstdDecompressor()
        self._summary: HrlSummary | None = None

    @property
    def header(self) -> HrlHeader:
        return self._stored.header

    @property
    def encrypted(self) -> bool:
        return self._stored.encrypted

    @property
    def compressed(self) -> bool:
        return bool(self._stored.flags & FLAG_COMPRESSED)

    @property
    def frame_size(self) -> int:
        return self._stored.frame_size

    def __enter__(self) -> HrlReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def extents(self) -> Iterator[Extent]:
        """Every stored extent in write order; raises at the first fault."""
        for offset, data in self.extent_views():
            yield Extent(offset, bytes(data))

    def extent_views(self) -> Iterator[tuple[int, memoryview]]:
        """``(offset, data)`` of every stored extent, like :meth:`extents` without a copy.

        ``data`` is a read-only view into its frame's decoded bytes, handed
        out under the same checks as :meth:`extents`; each view keeps its
        frame (at most one frame size) alive while it is referenced. For
        appliers that only write the bytes out: one memory copy less per byte.
        """
        for raw, records in self._frames():
            for offset, start, length in records:
                yield offset, raw[start : start + length]

    def verify(self) -> HrlSummary:
        """Check the whole file in one pass without keeping any data."""
        for _frame in self._frames():
            pass
        assert self._summary is not None  # set when a pass reaches a good trailer
        return self._summary

    @property
    def summary(self) -> HrlSummary | None:
        """What the last complete pass found, once it reached a good trailer.

        A caller that consumes :meth:`extent_views` to the end and then finds
        this set has verified the whole file in that same pass.
        """
        return self._summary

    def declared_payload(self) -> int | None:
        """The payload bytes the trailer declares, read without a pass.

        Only the trailer's own CRC32 (and MAC when encrypted) is checked, not
        the frames: this sizes work (a quota) before the pass that verifies
        the file. None when the trailer does not check out; a pass then
        names the fault exactly.
        """
        size = os.fstat(self._file.fileno()).st_size
        if size < len(self._header_bytes) + TRAILER_SIZE:
            return None
        self._file.seek(size - TRAILER_SIZE)
        mac = self._cipher.trailer_mac if self._cipher else None
        try:
            return unpack_trailer(self._read(TRAILER_SIZE), mac).payload_bytes
        except MalformedTrailer:
            return None

    # -- header ---------------------------------------------------------

    def _read_header(self) -> tuple[StoredHeader, bytes, bytes]:
        prelude = self._read(PRELUDE.size)
        flags, body_length = parse_prelude(self._name, prelude)
        rest = self._read_exact(body_length + HEADER_END.size, "inside the header")
        key_check = check_sealed(self._name, prelude, rest)
        stored = parse_body(self._name, flags, rest[:body_length])
        if stored.encrypted != bool(stored.header.key_id):
            raise faults.corrupt(self._name, "the encrypted flag and the key id disagree")
        return stored, prelude + rest, key_check

    def _unlock(self, key: bytes | None, key_check: bytes) -> FileCipher | None:
        """Derive the file's keys and prove the key right before any frame."""
        key_id = self._stored.header.key_id
        if not self._stored.encrypted:
            return None
        if key is None:
            raise faults.wrong_key(self._name, "is encrypted and no key was given", key_id)
        cipher = FileCipher(key, self._stored.salt)
        prefix = self._header_bytes[: -HEADER_END.size]
        if not hmac.compare_digest(cipher.key_check(prefix), key_check):
            what = "was encrypted with another key than the one given (key check mismatch)"
            raise faults.wrong_key(self._name, what, key_id)
        return cipher

    # -- frames ---------------------------------------------------------

    def _frames(self) -> Iterator[_Frame]:
        if self._file.closed:
            raise ValidationError(f"HRL {self._name}: the reader is closed")
        self._summary = None
        self._file.seek(len(self._header_bytes))
        digest = hashlib.sha256(self._header_bytes)
        counts = [0, 0, 0]  # frames, records, payload bytes
        while (kind := self._read_kind(counts[0])) == KIND_FRAME:
            raw, records = self._next_frame(counts[0], digest)
            yield raw, records
            counts[0] += 1
            counts[1] += len(records)
            counts[2] += sum(length for _offset, _start, length in records)
        self._finish(kind, Trailer(counts[0], counts[1], counts[2], digest.digest()))

    def _read_kind(self, index: int) -> bytes:
        position = self._file.tell()
        kind = self._read_exact(1, f"after {index} frame(s) at byte {position}, without a trailer")
        if kind not in (KIND_FRAME, KIND_TRAILER):
            raise faults.corrupt(self._name, f"unknown block kind {kind!r} at byte {position}")
        return kind

    def _next_frame(self, index: int, digest: hashlib._Hash) -> _Frame:
        head = KIND_FRAME + self._read_exact(FRAME_HEADER_SIZE - 1, f"inside frame {index} header")
        frame, body_crc = self._check_frame_header(head, index)
        stored = self._read_exact(frame.stored_length, f"inside frame {index}")
        if zlib.crc32(stored) != body_crc:
            raise faults.corrupt(self._name, f"frame {index} checksum mismatch")
        digest.update(head)
        digest.update(stored)
        raw = memoryview(self._decode(frame, stored))
        try:
            return raw, parse_records(raw, frame.records)
        except MalformedFrame as exc:
            raise faults.corrupt(self._name, f"frame {index}: {exc}") from exc

    def _check_frame_header(self, head: bytes, index: int) -> tuple[FrameHeader, int]:
        try:
            frame, body_crc = unpack_frame_header(head)
        except MalformedFrame as exc:
            raise faults.corrupt(self._name, f"frame {index}: {exc}") from exc
        problem = self._frame_problem(frame, index)
        if problem:
            raise faults.corrupt(self._name, f"frame {index}: {problem}")
        return frame, body_crc

    def _frame_problem(self, frame: FrameHeader, index: int) -> str:
        overhead = GCM_TAG_SIZE if self._cipher else 0
        if frame.index != index:
            return f"carries index {frame.index} (frames moved or reordered)"
        if not RECORD.size < frame.raw_length <= self._stored.frame_size:
            return f"raw length {frame.raw_length} is outside the frame size"
        if not 0 < frame.records <= frame.raw_length // (RECORD.size + 1):
            return f"record count {frame.records} does not fit {frame.raw_length} bytes"
        if frame.compressed and not self.compressed:
            return "is compressed in a file whose header says uncompressed"
        payload = frame.stored_length - overhead
        # Incompressible frames are stored raw, so zstd output is never larger.
        limit = frame.raw_length - 1 if frame.compressed else frame.raw_length
        low = 1 if frame.compressed else frame.raw_length
        if not low <= payload <= limit:
            return f"stored length {frame.stored_length} does not fit raw {frame.raw_length}"
        return ""

    def _decode(self, frame: FrameHeader, stored: bytes) -> bytes:
        payload = self._decrypt(frame, stored)
        if not frame.compressed:
            return payload
        wrong_size = faults.corrupt(self._name, f"frame {frame.index} decompresses to a wrong size")
        try:
            # Size first: zstd allocates what the frame claims, so a hostile
            # claim must be refused before decompressing.
            if zstandard.frame_content_size(payload) != frame.raw_length:
                raise wrong_size
            raw = self._decompressor.decompress(payload, max_output_size=frame.raw_length)
        except zstandard.ZstdError as exc:
            raise faults.corrupt(self._name, f"frame {frame.index} does not decompress") from exc
        if len(raw) != frame.raw_length:
            raise wrong_size
        return raw

    def _decrypt(self, frame: FrameHeader, stored: bytes) -> bytes:
        if self._cipher is None:
            return stored
        try:
            return self._cipher.open(frame.index, stored, self._header_bytes + frame.prefix())
        except InvalidTag as exc:
            what = (
                f"frame {frame.index} has a good checksum but does not authenticate with "
                "the given key (wrong key, or the frame was rewritten with a new checksum)"
            )
            raise faults.wrong_key(self._name, what, self.header.key_id) from exc

    # -- trailer --------------------------------------------------------

    def _finish(self, kind: bytes, computed: Trailer) -> None:
        data = kind + self._read_exact(TRAILER_SIZE - 1, "inside the trailer")
        mac = self._cipher.trailer_mac if self._cipher else None
        try:
            stored = unpack_trailer(data, mac)
        except MalformedTrailer as exc:
            raise faults.corrupt(self._name, str(exc)) from exc
        if stored.digest != computed.digest:
            raise faults.corrupt(self._name, "file digest mismatch")
        if stored != computed:
            what = f"trailer says {_counts(stored)}, the file holds {_counts(computed)}"
            raise faults.corrupt(self._name, what)
        size = self._file.tell()
        if self._read(1):
            raise faults.corrupt(self._name, f"unexpected bytes after the trailer at byte {size}")
        self._summary = HrlSummary(
            computed.digest, size, computed.records, computed.payload_bytes, computed.frames
        )

    # -- file access ----------------------------------------------------

    def _read(self, size: int) -> bytes:
        try:
            return self._file.read(size)
        except OSError as exc:
            raise faults.io_failure(self._name, "read", exc) from exc

    def _read_exact(self, size: int, where: str) -> bytes:
        data = self._read(size)
        if len(data) != size:
            raise faults.truncated(self._name, where)
        return data


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise faults.io_failure(str(path), "open", exc) from exc


def _counts(trailer: Trailer) -> str:
    return f"{trailer.frames} frames, {trailer.records} records, {trailer.payload_bytes} bytes"
