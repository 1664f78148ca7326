"""Durable file primitives, written against ``os`` calls on purpose.

Crash safety rests on three rules: data is fsynced before the name that
publishes it is renamed into place, the directory is fsynced after the
rename (so the rename itself survives a power cut), and temporary files are
dot-named so recovery can sweep them. Every write goes through ``os.write``,
``os.pwrite``, ``os.fsync``, ``os.replace`` or ``os.unlink``, which is also
what lets the crash tests kill a process at exactly the k-th such call.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from provider.errors import ReplicationError

TEMP_PREFIX = ".tmp-"
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


def temp_path(directory: Path, stem: str) -> Path:
    """A fresh temporary name in ``directory`` that recovery knows to sweep."""
    return directory / f"{TEMP_PREFIX}{stem}-{os.getpid()}-{secrets.token_hex(4)}"


def create_exclusive(path: Path) -> int:
    """Open a new file for writing; it must not exist yet."""
    return os.open(path, _WRITE_FLAGS, 0o644)


def open_read(path: Path) -> int:
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC)


def open_read_write(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CLOEXEC)


@contextmanager
def opened(fd: int) -> Iterator[int]:
    """Close a raw descriptor however the block ends."""
    try:
        yield fd
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def pwrite_all(fd: int, data: bytes | bytearray | memoryview, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def pread_exact(fd: int, length: int, offset: int, what: str) -> bytes:
    """Read exactly ``length`` bytes; a short file means damage, not zeros."""
    chunks: list[bytes] = []
    remaining = length
    while remaining:
        chunk = os.pread(fd, remaining, offset + length - remaining)
        if not chunk:
            raise ReplicationError(
                f"{what} ends before byte {offset + length}",
                hint="the replica files were damaged; resynchronize the disk",
            )
        chunks.append(chunk)
        remaining -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def fsync_dir(directory: Path) -> None:
    """Make renames and unlinks inside ``directory`` durable."""
    with opened(os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)) as fd:
        os.fsync(fd)


def publish(temp: Path, final: Path) -> None:
    """Rename a complete, fsynced temporary file into place, durably."""
    os.replace(temp, final)
    fsync_dir(final.parent)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: readers see the old or the new file, never a mix."""
    temp = temp_path(path.parent, path.name)
    try:
        with opened(create_exclusive(temp)) as fd:
            write_all(fd, data)
            os.fsync(fd)
        publish(temp, path)
    except BaseException:
        remove_quietly(temp)
        raise


def remove_durably(path: Path) -> bool:
    """Unlink ``path`` if present and make that durable; True when it existed."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    fsync_dir(path.parent)
    return True


def remove_quietly(path: Path) -> None:
    """Best-effort cleanup of a temporary file while another error propagates."""
    try:
        os.unlink(path)
    except OSError:
        return


def sweep_temporaries(directory: Path) -> None:
    """Remove what interrupted writers left behind (never a published file)."""
    for entry in os.scandir(directory):
        if entry.name.startswith(TEMP_PREFIX) and entry.is_file(follow_symlinks=False):
            os.unlink(entry.path)


def read_small(path: Path) -> bytes | None:
    """The whole content of a small metadata file, or None when absent."""
    try:
        with opened(open_read(path)) as fd:
            size = os.fstat(fd).st_size
            return pread_exact(fd, size, 0, str(path)) if size else b""
    except FileNotFoundError:
        return None
