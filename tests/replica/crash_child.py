"""Run by the crash tests in a subprocess: store or apply HRLs, dying at the k-th write.

Usage: ``python crash_child.py <disk dir> <k> apply <sequence>...`` or
``python crash_child.py <disk dir> <k> store <sequence> <hrl path>``.

Every file-changing ``os`` call (write, pwrite, fsync, replace, unlink,
ftruncate) is counted; the k-th one kills the process with SIGKILL, after
writing half its bytes when it is a write, so torn writes are exercised
too. k = 0 never kills. Exit status 0 means the work finished.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from provider.replica import ReplicaStore
from tests.replica.replica_testkit import disk_ref

_COUNTED = ("write", "pwrite", "fsync", "replace", "unlink", "ftruncate")


def arm(kill_at: int) -> None:
    calls = [0]

    def counted(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            calls[0] += 1
            if calls[0] == kill_at:
                if name in ("write", "pwrite"):
                    real(args[0], args[1][: len(args[1]) // 2], *args[2:])
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args)

        return call

    for name in _COUNTED:
        setattr(os, name, counted(name, getattr(os, name)))


def main(argv: list[str]) -> None:
    root, kill_at, action = Path(argv[0]), int(argv[1]), argv[2]
    store = ReplicaStore(root, disk_ref())
    arm(kill_at)
    if action == "apply":
        for sequence in argv[3:]:
            store.apply(int(sequence))
    else:
        store.store_hrl(int(argv[3]), Path(argv[4]))


if __name__ == "__main__":
    main(sys.argv[1:])
