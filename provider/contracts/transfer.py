"""HRL transfer values: what the target holds, stores and applies."""

from __future__ import annotations

from dataclasses import dataclass

from provider.model.recovery import RecoveryPoint


@dataclass(frozen=True)
class TargetInfo:
    """A target as it answers when opened."""

    target_id: str
    kind: str
    free_bytes: int
    version: str = ""


@dataclass(frozen=True)
class DiskRef:
    """A replicated disk on a target: the protected item and the source disk."""

    item_id: str
    disk_id: str
    capacity: int = 0


@dataclass(frozen=True)
class Holdings:
    """What a target already holds for one disk, so transfers resume and never repeat.

    ``stored`` lists sequences received but not yet applied.
    """

    disk: DiskRef
    applied_sequence: int
    applied_digest: bytes
    stored: tuple[int, ...] = ()


@dataclass(frozen=True)
class AppliedHrl:
    """The result of applying one HRL: the disk's new sequence and content digest."""

    disk: DiskRef
    sequence: int
    hrl_digest: bytes


@dataclass(frozen=True)
class RetentionResult:
    """Recovery points a target pruned (and the bytes it freed)."""

    pruned_points: tuple[str, ...]
    freed_bytes: int


@dataclass(frozen=True)
class PointQuery:
    """Which retained point to materialise for one disk."""

    disk: DiskRef
    point: RecoveryPoint
