"""One writer per disk: an exclusive ``flock`` on the disk's lock file.

Every change (store, apply, recovery, retention, leases) holds it; readers
(point views) do not need it, because what they read is always consistent:
see :mod:`provider.replica.view`. ``flock`` locks belong to an open file
description, so two threads of one process exclude each other as well, and
the kernel drops the lock when a killed process's descriptors close.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def disk_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
