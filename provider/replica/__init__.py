"""The replica store on the target: replica images, undo logs and recovery points.

See :mod:`provider.replica.store` for the files a disk keeps and
:mod:`provider.replica.apply` for the crash-safe apply protocol.
"""

from __future__ import annotations

from provider.replica.space import Quota, SpaceGuard, Unlimited, allocated_bytes
from provider.replica.state import DiskState
from provider.replica.store import ReplicaStore
from provider.replica.view import PointView

__all__ = [
    "DiskState",
    "PointView",
    "Quota",
    "ReplicaStore",
    "SpaceGuard",
    "Unlimited",
    "allocated_bytes",
]
