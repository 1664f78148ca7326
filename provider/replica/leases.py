"""Leases: which recovery points open views still need.

A view at sequence m reads the undo logs of (m, latest]; retention must not
delete them while the view lives. Each view writes ``leases/<view id>.json``
(under the disk lock) and removes it when closed.

A *named* view's lease outlives a crashed process on purpose: a test
failover may span a service restart, so only an explicit release (cleanup)
frees it. An unnamed view (a digest, a resync scan) is bound to its
process: its lease records the pid, and once that process is gone the lease
is dropped, so a killed reader cannot block retention forever. A reused pid
only keeps such a lease longer, which is the safe direction.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from provider.replica.durable import read_small, remove_durably, write_atomic
from provider.replica.layout import DiskLayout

_SUFFIX = ".json"


@dataclass(frozen=True)
class Lease:
    """View ``view_id`` reads the disk as of ``sequence``."""

    view_id: str
    sequence: int
    writable: bool
    #: The owning process for an unnamed view; 0 for a named one.
    pid: int = 0

    @property
    def orphaned(self) -> bool:
        return self.pid != 0 and not _alive(self.pid)


def write_lease(layout: DiskLayout, lease: Lease) -> None:
    record = {"sequence": lease.sequence, "writable": lease.writable, "pid": lease.pid}
    write_atomic(layout.lease(lease.view_id), json.dumps(record).encode("utf-8"))


def remove_lease(layout: DiskLayout, view_id: str) -> bool:
    return remove_durably(layout.lease(view_id))


def read_leases(layout: DiskLayout) -> list[Lease]:
    leases = []
    for entry in sorted(os.scandir(layout.leases_dir), key=lambda e: e.name):
        if entry.name.endswith(_SUFFIX) and not entry.name.startswith("."):
            lease = _read(Path(entry.path), entry.name.removesuffix(_SUFFIX))
            if lease is not None:
                leases.append(lease)
    return leases


def _read(path: Path, view_id: str) -> Lease | None:
    raw = read_small(path)
    if raw is None:
        return None
    record = json.loads(raw)
    return Lease(
        view_id, int(record["sequence"]), bool(record["writable"]), int(record.get("pid", 0))
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
