"""Space on the target: a quota checked before writing, and ENOSPC mapped.

Two things can make a target full: an explicit quota (a storage account's
capacity, checked *before* bytes are written so nothing partial appears) and
the file system itself (``ENOSPC``/``EDQUOT`` met while writing, mapped to
:class:`TargetFull` after the partial file is removed by the caller).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from provider.errors import TargetFull, TargetUnavailable

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_FULL_HINT = "free space on the target or raise its quota; the cycle resumes once space returns"


class SpaceGuard(Protocol):
    """Refuses a write that would not fit, before it starts."""

    def reserve(self, nbytes: int, what: str) -> None:
        """Raise :class:`TargetFull` when ``nbytes`` more would not fit."""


class Unlimited:
    """No quota: only the file system's own limit applies."""

    def reserve(self, nbytes: int, what: str) -> None:
        return None


def allocated_bytes(root: Path) -> int:
    """Bytes the files under ``root`` really occupy (sparse holes are free)."""
    total = 0
    for directory, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_blocks * 512
            except FileNotFoundError:
                continue  # removed while we walked: it no longer uses space
    return total


class Quota:
    """A maximum number of allocated bytes under one directory tree."""

    def __init__(self, root: Path, limit: int, label: str) -> None:
        self.root, self.limit, self.label = root, limit, label

    def used(self) -> int:
        return allocated_bytes(self.root)

    def free(self) -> int:
        return max(0, self.limit - self.used())

    def reserve(self, nbytes: int, what: str) -> None:
        used = self.used()
        if used + nbytes > self.limit:
            raise TargetFull(
                f"{self.label} is full: {what} needs {nbytes} bytes, "
                f"{used} of the {self.limit}-byte quota are used",
                hint=_FULL_HINT,
            )


@contextmanager
def mapped_os_errors(label: str, what: str) -> Iterator[None]:
    """Turn an OS failure while doing ``what`` into the data path's errors."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _FULL_ERRNOS:
            raise TargetFull(
                f"{label} is full: {what} failed: {exc.strerror or exc}", hint=_FULL_HINT
            ) from exc
        raise TargetUnavailable(
            f"{label}: {what} failed: {exc.strerror or exc}",
            hint="check the target's storage (permissions, mount, health) and retry",
        ) from exc
