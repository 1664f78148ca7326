"""WinRM message encryption over HTTP with an NTLM session ([MS-WSMV] 2.2.9.1.1).

The framing mirrors pywinrm's ``winrm/encryption.py`` byte for byte::

    --Encrypted Boundary\\r\\n
    \\tContent-Type: application/HTTP-SPNEGO-session-encrypted\\r\\n
    \\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=<n>\\r\\n
    --Encrypted Boundary\\r\\n
    \\tContent-Type: application/octet-stream\\r\\n
    <signature length, int32 LE><signature><sealed message>
    --Encrypted Boundary--\\r\\n

NTLM sealing is RC4, so the sealed message is exactly ``n`` bytes long; the
reader takes that many bytes rather than searching for the closing boundary,
which could occur by chance inside the ciphertext.
"""

from __future__ import annotations

import re
import struct
from typing import Protocol

PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
CONTENT_TYPE = f'multipart/encrypted;protocol="{PROTOCOL}";boundary="Encrypted Boundary"'
_BOUNDARY = b"--Encrypted Boundary"
_PART_HEADER = _BOUNDARY + b"\r\n\tContent-Type: " + PROTOCOL.encode() + b"\r\n"
_LENGTH_LINE = re.compile(rb"\tOriginalContent: type=[^\r\n]*?;Length=(\d+)\r\n")
_OCTET_STREAM = _BOUNDARY + b"\r\n\tContent-Type: application/octet-stream\r\n"
_END = _BOUNDARY + b"--\r\n"
# An NTLM signature is 16 bytes; a longer one is not an NTLM-sealed message.
_NTLM_SIGNATURE_BYTES = 16


class SealingError(Exception):
    """A sealed body that is malformed or does not verify; answered with HTTP 400."""


class SessionContext(Protocol):
    """The part of a completed pyspnego context that seals and unseals WinRM messages."""

    def wrap_winrm(self, data: bytes) -> WinRMWrapped: ...

    def unwrap_winrm(self, header: bytes, data: bytes) -> bytes: ...


class WinRMWrapped(Protocol):
    """pyspnego's ``WinRMWrapResult``: the signature (``header``) and the sealed data."""

    @property
    def header(self) -> bytes: ...

    @property
    def data(self) -> bytes: ...


def is_sealed(content_type: str | None) -> bool:
    """Whether a request's ``Content-Type`` announces an SPNEGO-sealed body."""
    lowered = (content_type or "").lower()
    return lowered.startswith("multipart/encrypted") and PROTOCOL.lower() in lowered


def seal(message: bytes, context: SessionContext) -> bytes:
    """The framed, sealed form of a clear-text answer."""
    wrapped = context.wrap_winrm(message)
    signature, sealed = wrapped.header, wrapped.data
    return b"".join(
        (
            _PART_HEADER,
            b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=",
            str(len(message)).encode(),
            b"\r\n",
            _OCTET_STREAM,
            struct.pack("<i", len(signature)),
            signature,
            sealed,
            _END,
        )
    )


def unseal(body: bytes, context: SessionContext) -> bytes:
    """The clear text of a sealed request; :class:`SealingError` if anything is off."""
    length, rest = _read_header_part(body)
    signature, sealed, tail = _read_payload(rest, length)
    if tail != _END:
        raise SealingError("the sealed body does not end with the closing boundary")
    try:
        message = context.unwrap_winrm(signature, sealed)
    except Exception as exc:
        # pyspnego raises its own SpnegoError family; any of them means "does not verify".
        raise SealingError(f"the sealed body does not verify: {exc}") from exc
    if len(message) != length:
        raise SealingError("the unsealed length differs from OriginalContent's Length")
    return message


def _read_header_part(body: bytes) -> tuple[int, bytes]:
    if not body.startswith(_PART_HEADER):
        raise SealingError("the body does not start with the SPNEGO-encrypted part header")
    match = _LENGTH_LINE.match(body, len(_PART_HEADER))
    if match is None:
        raise SealingError("the OriginalContent line with the Length is missing")
    rest = body[match.end() :]
    if not rest.startswith(_OCTET_STREAM):
        raise SealingError("the application/octet-stream part is missing")
    return int(match.group(1)), rest[len(_OCTET_STREAM) :]


def _read_payload(rest: bytes, length: int) -> tuple[bytes, bytes, bytes]:
    if len(rest) < 4:
        raise SealingError("the sealed part is truncated")
    (signature_length,) = struct.unpack("<i", rest[:4])
    if signature_length != _NTLM_SIGNATURE_BYTES:
        raise SealingError(f"unexpected signature length {signature_length}")
    end_of_message = 4 + signature_length + length
    if len(rest) < end_of_message:
        raise SealingError("the sealed part is shorter than its Length")
    signature = rest[4 : 4 + signature_length]
    return signature, rest[4 + signature_length : end_of_message], rest[end_of_message:]
