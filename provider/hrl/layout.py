"""Byte layout constants of HRL format version 1 (see ``docs/hrl-format.md``).

Every multi-byte integer is little-endian: the writers and readers we ship
run on little-endian machines, so ``struct`` does no byte swapping.
"""

from __future__ import annotations

import struct
from typing import Final

FORMAT_VERSION: Final = 1

#: PNG-style magic: the high byte catches 7-bit transports, CR LF catches
#: line-ending conversion, and ^Z stops a DOS ``type`` from dumping the file.
MAGIC: Final = b"\x89HRL\r\n\x1a\n"
#: Last eight bytes of a complete file, built the same way.
END_MARKER: Final = b"\x89END\r\n\x1a\n"

FLAG_COMPRESSED: Final = 0x0001
FLAG_ENCRYPTED: Final = 0x0002
KNOWN_FLAGS: Final = FLAG_COMPRESSED | FLAG_ENCRYPTED

#: Per-frame flag: the stored bytes are a zstd frame (else the raw records).
FRAME_ZSTD: Final = 0x01

KIND_FRAME: Final = b"F"
KIND_TRAILER: Final = b"T"

#: magic, version, flags, body length.
PRELUDE: Final = struct.Struct("<8sHHI")
#: key check value, then the CRC32 of everything before it.
HEADER_END: Final = struct.Struct("<16sI")
#: kind, flags, reserved, index, record count, raw length, stored length.
#: These 20 bytes are also bound into the AES-GCM associated data.
FRAME_PREFIX: Final = struct.Struct("<cBHIIII")
#: CRC32 of the stored bytes, then CRC32 of the 24 frame-header bytes before it.
FRAME_CHECKS: Final = struct.Struct("<II")
FRAME_HEADER_SIZE: Final = FRAME_PREFIX.size + FRAME_CHECKS.size
#: Per record: disk offset, data length.
RECORD: Final = struct.Struct("<QI")
#: kind, reserved, frame count, record count, payload bytes, file digest.
TRAILER_BODY: Final = struct.Struct("<c3sIQQ32s")
#: trailer MAC, CRC32 of the 72 trailer bytes before it, end marker.
TRAILER_END: Final = struct.Struct("<16sI8s")
TRAILER_SIZE: Final = TRAILER_BODY.size + TRAILER_END.size

U16: Final = struct.Struct("<H")
U32: Final = struct.Struct("<I")
U64: Final = struct.Struct("<Q")
F64: Final = struct.Struct("<d")
U8: Final = struct.Struct("<B")

DIGEST_SIZE: Final = 32
KEY_SIZE: Final = 32
SALT_SIZE: Final = 16
KCV_SIZE: Final = 16
MAC_SIZE: Final = 16
GCM_TAG_SIZE: Final = 16

MIN_FRAME_SIZE: Final = 64 * 1024
DEFAULT_FRAME_SIZE: Final = 1 << 20
#: A reader refuses larger frames so a damaged or hostile header cannot make
#: it allocate gigabytes.
MAX_FRAME_SIZE: Final = 64 << 20
MAX_BODY_SIZE: Final = 64 * 1024
MAX_TEXT_BYTES: Final = 1024
MAX_U32: Final = (1 << 32) - 1
MAX_U64: Final = (1 << 64) - 1

CONSISTENCY_CODES: Final = {"crash": 0, "app": 1}
CONSISTENCY_NAMES: Final = {code: name for name, code in CONSISTENCY_CODES.items()}
