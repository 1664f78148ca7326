"""Per-file keys, frame sealing and the key check value of an encrypted HRL.

The vault key is never used directly: each file draws a random 16-byte salt
and derives its own AES-256-GCM key and HMAC key with HKDF-SHA256. A frame
nonce is then just the frame index, unique under that file's key, so no
nonce can repeat across files however many HRLs one vault key encrypts (a
random 4-byte salt per file would collide after about 2**16 files).
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from provider.errors import ValidationError
from provider.hrl.layout import KCV_SIZE, KEY_SIZE, MAC_SIZE, U64

_SUBKEYS_INFO = b"srp-hrl/1 subkeys"
_KEY_CHECK_LABEL = b"srp-hrl/1 key check\x00"
_TRAILER_LABEL = b"srp-hrl/1 trailer\x00"
_NONCE_PREFIX = b"\x00\x00\x00\x00"

__all__ = ["FileCipher", "InvalidTag", "check_key"]


def check_key(key: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise ValidationError(f"HRL key must be {KEY_SIZE} bytes (AES-256), got {len(key)}")


class FileCipher:
    """The keys of one HRL file, derived from the vault key and the file salt."""

    def __init__(self, key: bytes, salt: bytes) -> None:
        check_key(key)
        derived = HKDF(SHA256(), 2 * KEY_SIZE, salt, _SUBKEYS_INFO).derive(key)
        self._aead = AESGCM(derived[:KEY_SIZE])
        self._mac_key = derived[KEY_SIZE:]

    def key_check(self, header_prefix: bytes) -> bytes:
        """A value only the right key reproduces: a wrong key fails at open."""
        return self._mac(_KEY_CHECK_LABEL + header_prefix, KCV_SIZE)

    def trailer_mac(self, trailer_prefix: bytes) -> bytes:
        """Authenticates the counts and the file digest, so frames cannot be dropped."""
        return self._mac(_TRAILER_LABEL + trailer_prefix, MAC_SIZE)

    def seal(self, index: int, plain: bytes | memoryview, aad: bytes) -> bytes:
        return self._aead.encrypt(_nonce(index), plain, aad)

    def open(self, index: int, stored: bytes | memoryview, aad: bytes) -> bytes:
        """Decrypt and authenticate; raises :class:`InvalidTag` on any mismatch."""
        return self._aead.decrypt(_nonce(index), stored, aad)

    def _mac(self, message: bytes, size: int) -> bytes:
        return hmac.new(self._mac_key, message, hashlib.sha256).digest()[:size]


def _nonce(index: int) -> bytes:
    return _NONCE_PREFIX + U64.pack(index)
