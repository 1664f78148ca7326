"""The 84-byte trailer that closes an HRL and carries its file digest."""

from __future__ import annotations

import hmac
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from provider.hrl.layout import (
    END_MARKER,
    KIND_TRAILER,
    MAC_SIZE,
    TRAILER_BODY,
    TRAILER_END,
    U32,
)

_NO_MAC = bytes(MAC_SIZE)
_RESERVED = bytes(3)

#: Computes the trailer MAC from the trailer body; None for plain files.
MacFunction = Callable[[bytes], bytes] | None


class MalformedTrailer(ValueError):
    """Trailer bytes that break the format or fail their checks."""


@dataclass(frozen=True)
class Trailer:
    frames: int
    records: int
    payload_bytes: int
    digest: bytes

    def pack(self, mac: MacFunction) -> bytes:
        body = TRAILER_BODY.pack(
            KIND_TRAILER, _RESERVED, self.frames, self.records, self.payload_bytes, self.digest
        )
        tag = mac(body) if mac is not None else _NO_MAC
        checked = body + tag
        return checked + U32.pack(zlib.crc32(checked)) + END_MARKER


def unpack_trailer(data: bytes, mac: MacFunction) -> Trailer:
    """Decode and check a trailer: CRC32, end marker, and MAC when encrypted."""
    body = data[: TRAILER_BODY.size]
    tag, crc, end = TRAILER_END.unpack_from(data, TRAILER_BODY.size)
    if zlib.crc32(data[: TRAILER_BODY.size + MAC_SIZE]) != crc:
        raise MalformedTrailer("trailer checksum mismatch")
    if end != END_MARKER:
        raise MalformedTrailer("trailer end marker is wrong")
    kind, reserved, frames, records, payload, digest = TRAILER_BODY.unpack(body)
    if kind != KIND_TRAILER or reserved != _RESERVED:
        raise MalformedTrailer("trailer kind or reserved bytes are wrong")
    expected_tag = mac(body) if mac is not None else _NO_MAC
    if not hmac.compare_digest(tag, expected_tag):
        raise MalformedTrailer("trailer MAC does not authenticate the file digest")
    return Trailer(frames, records, payload, digest)
