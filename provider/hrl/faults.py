"""The HRL errors, worded once: which file, what is wrong, what to do."""

from __future__ import annotations

from provider.errors import (
    HrlBadMagic,
    HrlBadVersion,
    HrlCorrupt,
    HrlTruncated,
    HrlWrongKey,
    NotFound,
    ReplicationError,
    SrpError,
)

_DAMAGED = "the file was damaged in transit or at rest; discard it and ship the cycle again"
_INCOMPLETE = "the copy is incomplete; transfer the file again"


def corrupt(path: str, what: str) -> HrlCorrupt:
    return HrlCorrupt(f"HRL {path}: {what}", hint=_DAMAGED)


def truncated(path: str, where: str) -> HrlTruncated:
    return HrlTruncated(f"HRL {path}: file ends {where}", hint=_INCOMPLETE)


def bad_magic(path: str) -> HrlBadMagic:
    return HrlBadMagic(
        f"HRL {path}: does not start with the HRL magic",
        hint="not an srp HRL, or mangled by a text-mode transfer; transfer it again in binary",
    )


def bad_version(path: str, version: int, known: int) -> HrlBadVersion:
    return HrlBadVersion(
        f"HRL {path}: format version {version}, this reader knows version {known}",
        hint="the file was written by another srp release; read it with a matching srp",
    )


def wrong_key(path: str, what: str, key_id: str) -> HrlWrongKey:
    return HrlWrongKey(
        f"HRL {path}: {what}",
        hint=f"fetch the key with id {key_id!r} from the vault and pass it to the reader",
    )


def io_failure(path: str, action: str, exc: OSError) -> SrpError:
    """Map an OS error met while reading or writing an HRL file."""
    if isinstance(exc, FileNotFoundError):
        return NotFound(f"HRL {path}: no such file", hint="check the path and the transfer")
    return ReplicationError(
        f"HRL {path}: cannot {action}: {exc.strerror or exc}",
        hint="check the disk space and permissions of the HRL directory",
    )
