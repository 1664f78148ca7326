"""The HRL header: what an HRL is about, and its byte encoding."""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass

from provider.errors import ValidationError
from provider.hrl import faults
from provider.hrl.layout import (
    CONSISTENCY_CODES,
    CONSISTENCY_NAMES,
    DIGEST_SIZE,
    F64,
    FLAG_ENCRYPTED,
    FORMAT_VERSION,
    HEADER_END,
    KNOWN_FLAGS,
    MAGIC,
    MAX_BODY_SIZE,
    MAX_FRAME_SIZE,
    MAX_TEXT_BYTES,
    MAX_U32,
    MAX_U64,
    MIN_FRAME_SIZE,
    PRELUDE,
    SALT_SIZE,
    U8,
    U16,
    U32,
    U64,
)

ZERO_DIGEST = bytes(DIGEST_SIZE)


@dataclass(frozen=True)
class HrlHeader:
    """Which disk an HRL changes, and where it sits in that disk's chain."""

    item_id: str
    machine_id: str
    disk_id: str
    sequence: int
    from_cut: str
    to_cut: str
    block_size: int
    consistency: str
    created_at: float
    prev_digest: bytes
    key_id: str = ""
    version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        for name in ("item_id", "machine_id", "disk_id"):
            _check_text(name, getattr(self, name), allow_empty=False)
        for name in ("from_cut", "to_cut", "key_id"):
            _check_text(name, getattr(self, name), allow_empty=True)
        _check_range("sequence", self.sequence, 1, MAX_U64)
        _check_range("block_size", self.block_size, 1, MAX_U32)
        problem = self._value_problem()
        if problem:
            raise ValidationError(f"HRL header: {problem}")

    def _value_problem(self) -> str:
        if self.consistency not in CONSISTENCY_CODES:
            return f"consistency {self.consistency!r} is not 'crash' or 'app'"
        if not math.isfinite(self.created_at):
            return f"created_at {self.created_at} is not a finite time"
        if len(self.prev_digest) != DIGEST_SIZE:
            return f"prev_digest must be {DIGEST_SIZE} bytes, not {len(self.prev_digest)}"
        if self.version != FORMAT_VERSION:
            return f"version {self.version}: only format version {FORMAT_VERSION} is written"
        return ""


def _check_text(name: str, value: str, *, allow_empty: bool) -> None:
    if not value and not allow_empty:
        raise ValidationError(f"HRL header: {name} must not be empty")
    if len(value.encode("utf-8")) > MAX_TEXT_BYTES:
        raise ValidationError(f"HRL header: {name} is over {MAX_TEXT_BYTES} bytes of UTF-8")


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValidationError(f"HRL header: {name} {value} is outside [{low}, {high}]")


@dataclass(frozen=True)
class StoredHeader:
    """The header as stored: the user's fields plus what the codec needs."""

    header: HrlHeader
    flags: int
    frame_size: int
    salt: bytes

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & FLAG_ENCRYPTED)


def pack_prefix(stored: StoredHeader) -> bytes:
    """Prelude and body: the bytes the key check value authenticates."""
    body = _pack_body(stored)
    return PRELUDE.pack(MAGIC, FORMAT_VERSION, stored.flags, len(body)) + body


def seal(prefix: bytes, key_check: bytes) -> bytes:
    """Append the key check value and the header CRC32."""
    tail = prefix + key_check
    return tail + U32.pack(zlib.crc32(tail))


def _pack_body(stored: StoredHeader) -> bytes:
    h = stored.header
    return b"".join(
        (
            _text(h.item_id),
            _text(h.machine_id),
            _text(h.disk_id),
            U64.pack(h.sequence),
            _text(h.from_cut),
            _text(h.to_cut),
            U32.pack(h.block_size),
            U8.pack(CONSISTENCY_CODES[h.consistency]),
            F64.pack(h.created_at),
            _text(h.key_id),
            h.prev_digest,
            U32.pack(stored.frame_size),
            stored.salt,
        )
    )


def _text(value: str) -> bytes:
    encoded = value.encode("utf-8")
    return U16.pack(len(encoded)) + encoded


def parse_prelude(path: str, prelude: bytes) -> tuple[int, int]:
    """Check magic and version; return (flags, body length)."""
    if not MAGIC.startswith(prelude[: len(MAGIC)]):
        raise faults.bad_magic(path)
    if len(prelude) < PRELUDE.size:
        raise faults.truncated(path, f"inside the header prelude (at byte {len(prelude)})")
    _magic, version, flags, body_length = PRELUDE.unpack(prelude)
    if version != FORMAT_VERSION:
        raise faults.bad_version(path, version, FORMAT_VERSION)
    if flags & ~KNOWN_FLAGS:
        raise faults.corrupt(path, f"unknown header flags {flags:#06x}")
    if body_length > MAX_BODY_SIZE:
        raise faults.corrupt(path, f"header body length {body_length} is over {MAX_BODY_SIZE}")
    return flags, body_length


def check_sealed(path: str, prelude: bytes, rest: bytes) -> bytes:
    """Verify the header CRC32 over prelude + body + key check; return the key check."""
    key_check, crc = HEADER_END.unpack_from(rest, len(rest) - HEADER_END.size)
    if zlib.crc32(prelude + rest[: -U32.size]) != crc:
        raise faults.corrupt(path, "header checksum mismatch")
    return bytes(key_check)


def parse_body(path: str, flags: int, body: bytes) -> StoredHeader:
    """Decode a body whose checksum already matched; malformed means corrupt."""
    try:
        return _decode_body(_Cursor(body), flags)
    except (_Malformed, ValidationError, UnicodeDecodeError) as exc:
        raise faults.corrupt(path, f"header body is malformed: {exc}") from exc


def _decode_body(cursor: _Cursor, flags: int) -> StoredHeader:
    ids = cursor.text(), cursor.text(), cursor.text()
    sequence = cursor.unpack(U64)
    cuts = cursor.text(), cursor.text()
    block_size = cursor.unpack(U32)
    consistency = CONSISTENCY_NAMES.get(cursor.unpack(U8), "unknown")
    created_at = cursor.unpack_float(F64)
    key_id, prev_digest = cursor.text(), cursor.take(DIGEST_SIZE)
    frame_size, salt = cursor.unpack(U32), cursor.take(SALT_SIZE)
    cursor.finish()
    if not MIN_FRAME_SIZE <= frame_size <= MAX_FRAME_SIZE:
        raise _Malformed(f"frame size {frame_size} is outside [{MIN_FRAME_SIZE}, {MAX_FRAME_SIZE}]")
    header = HrlHeader(
        *ids, sequence, *cuts, block_size, consistency, created_at, prev_digest, key_id
    )
    return StoredHeader(header, flags, frame_size, salt)


class _Malformed(ValueError):
    """A header body field runs past the end or is out of range."""


class _Cursor:
    """Sequential reads from a header body that fail loudly at the end."""

    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def take(self, size: int) -> bytes:
        end = self._pos + size
        if end > len(self._data):
            raise _Malformed("a field runs past the end of the body")
        chunk, self._pos = self._data[self._pos : end], end
        return chunk

    def unpack(self, codec: struct.Struct) -> int:
        value: int = codec.unpack(self.take(codec.size))[0]
        return value

    def unpack_float(self, codec: struct.Struct) -> float:
        value: float = codec.unpack(self.take(codec.size))[0]
        return value

    def text(self) -> str:
        return self.take(self.unpack(U16)).decode("utf-8")

    def finish(self) -> None:
        if self._pos != len(self._data):
            raise _Malformed(f"{len(self._data) - self._pos} unexpected bytes after the last field")
