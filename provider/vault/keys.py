"""The vault's master key file, ``<home>/vault.key``.

The file holds one line, ``srp-vault-key/1 <base64url of 32 random bytes>``,
readable by its owner only. It is written to a temporary name, flushed and
then linked into place, so a crash never leaves half a key, and an existing
key is never overwritten unless the caller forces it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import stat
from pathlib import Path

from provider.errors import AlreadyExists, CredentialsError

KEY_FILE = "vault.key"
KEY_SIZE = 32
_HEADER = "srp-vault-key/1"
_KEY_CHECK_LABEL = b"srp-vault/1 key check"


def key_path(home: Path) -> Path:
    return home / KEY_FILE


def new_key() -> bytes:
    """256 random bits from the operating system."""
    return os.urandom(KEY_SIZE)


def key_check(master_key: bytes) -> bytes:
    """A value stored in the vault that only its master key reproduces."""
    return hmac.new(master_key, _KEY_CHECK_LABEL, hashlib.sha256).digest()


def write_master_key(home: Path, key: bytes, *, force: bool = False) -> Path:
    """Write ``key`` to ``<home>/vault.key`` (mode 0600); AlreadyExists unless ``force``."""
    path = key_path(home)
    temporary = path.with_name(f".{KEY_FILE}.{os.getpid()}.tmp")
    try:
        _write_private(temporary, f"{_HEADER} {base64.urlsafe_b64encode(key).decode()}\n")
        _install(temporary, path, force=force)
        _sync_directory(home)
    except FileExistsError as exc:
        raise AlreadyExists(
            f"a vault master key already exists at {path}",
            hint="initialise with force to replace it; secrets sealed with it are then lost",
        ) from exc
    except OSError as exc:
        raise CredentialsError(
            f"the vault master key cannot be written to {path}: {exc.strerror or exc}"
        ) from exc
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _install(temporary: Path, path: Path, *, force: bool) -> None:
    if force:
        os.replace(temporary, path)
    else:
        # link() refuses an existing name atomically, unlike a rename.
        os.link(temporary, path)


def read_master_key(home: Path) -> bytes:
    """The master key; CredentialsError saying what is wrong with the file."""
    path = key_path(home)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except FileNotFoundError as exc:
        raise CredentialsError(
            f"no vault master key at {path}", hint="run `srp vault init` or set SRP_HOME"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialsError(f"the vault master key at {path} cannot be read: {exc}") from exc
    _refuse_shared(path, mode)
    return _decode(path, text)


def _decode(path: Path, text: str) -> bytes:
    header, _, encoded = text.strip().partition(" ")
    try:
        key = base64.urlsafe_b64decode(encoded.encode("ascii"))
    except (binascii.Error, ValueError):
        key = b""
    if header != _HEADER or len(key) != KEY_SIZE:
        raise CredentialsError(
            f"the file at {path} is not an srp vault master key "
            f"(expected '{_HEADER} <{KEY_SIZE} bytes in base64url>')"
        )
    return key


def _refuse_shared(path: Path, mode: int) -> None:
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CredentialsError(
            f"the vault master key at {path} is accessible to other users "
            f"(mode {stat.S_IMODE(mode):04o})",
            hint=f"run `chmod 600 {path}`",
        )


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
