"""SecretBox: AES-256-GCM sealing of secrets under the vault's master key.

Every blob is ``version (1 byte) | nonce (12 random bytes) | ciphertext+tag``.
The associated data is the id of the record that owns the secret, so a blob
copied into another record's row does not open: the tag check fails.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from provider.contracts.connection import Secret
from provider.errors import CredentialsError, ValidationError
from provider.vault.keys import KEY_SIZE

_VERSION = b"\x01"
_NONCE_SIZE = 12
_TAG_SIZE = 16
_AAD_LABEL = b"srp-secret/1\x00"


class SecretBox:
    """Seals texts and bytes for one owning record; opens only for that record."""

    __slots__ = ("_aead",)

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_SIZE:
            raise ValidationError(f"a vault master key is {KEY_SIZE} bytes, got {len(master_key)}")
        self._aead = AESGCM(master_key)

    def seal(self, plaintext: str, aad: str) -> bytes:
        """Encrypt a secret text for the record named by ``aad``."""
        return self.seal_bytes(plaintext.encode("utf-8"), aad)

    def open(self, blob: bytes, aad: str) -> Secret:
        """Decrypt a secret sealed for ``aad``; CredentialsError when it does not open."""
        return Secret(self.open_bytes(blob, aad).decode("utf-8"))

    def seal_bytes(self, plaintext: bytes, aad: str) -> bytes:
        nonce = os.urandom(_NONCE_SIZE)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, _associated(aad))

    def open_bytes(self, blob: bytes, aad: str) -> bytes:
        if len(blob) < 1 + _NONCE_SIZE + _TAG_SIZE or blob[:1] != _VERSION:
            raise CredentialsError(
                f"the sealed secret of {aad} is malformed or of an unknown version"
            )
        nonce, ciphertext = blob[1 : 1 + _NONCE_SIZE], blob[1 + _NONCE_SIZE :]
        try:
            return self._aead.decrypt(nonce, ciphertext, _associated(aad))
        except InvalidTag as exc:
            raise CredentialsError(
                f"the sealed secret of {aad} does not open with this vault's master key: "
                "it was sealed for another record, or the master key is not this vault's"
            ) from exc

    def __repr__(self) -> str:
        return "SecretBox(<master key>)"


def _associated(aad: str) -> bytes:
    return _AAD_LABEL + aad.encode("utf-8")
