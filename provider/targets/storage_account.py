"""The cloud target's storage account: a directory that plays Azure Storage's role.

Layout under the account's ``path``::

    account.json                              which target owns the directory
    items/<item_id>/disks/<disk_id>/...       one replica store per disk
                                              (see provider.replica.store)

The account's optional ``quota_bytes`` caps the bytes its files really
occupy (sparse images count only what is written), so tests and drills can
fill a target without filling a disk. Ids are validated before they become
path components, so no id can reach outside the account.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from provider.contracts.connection import TargetConnection
from provider.contracts.transfer import DiskRef, TargetInfo
from provider.errors import TargetUnavailable, ValidationError
from provider.replica import Quota, ReplicaStore, SpaceGuard, Unlimited
from provider.replica.durable import read_small, write_atomic
from provider.replica.layout import safe_component
from provider.replica.space import mapped_os_errors

KIND = "cloud"
ACCOUNT_VERSION = "1"
_MARKER = "account.json"


class StorageAccount:
    """A directory-backed storage account owned by one target."""

    def __init__(self, root: Path, target_id: str, *, quota_bytes: int | None = None) -> None:
        self.root = Path(root)
        self.target_id = target_id
        self.label = f"cloud target {target_id!r} ({self.root})"
        self.quota = Quota(self.root, quota_bytes, self.label) if quota_bytes is not None else None

    @classmethod
    def from_connection(cls, target: TargetConnection) -> StorageAccount:
        """The account a target connection names: option ``path`` (else the location)."""
        path = target.option("path") or target.location
        return cls(Path(path), target.target_id, quota_bytes=_quota(target))

    def open(self) -> TargetInfo:
        """Create the account directory if its parent exists, claim it, report free space."""
        with mapped_os_errors(self.label, "opening the storage account"):
            if not self.root.exists() and self.root.parent.is_dir():
                self.root.mkdir()
            self._check_reachable()
            if read_small(self.root / _MARKER) is None:
                record = {"target_id": self.target_id, "version": ACCOUNT_VERSION}
                write_atomic(self.root / _MARKER, json.dumps(record).encode("utf-8"))
            return TargetInfo(self.target_id, KIND, self.free_bytes(), ACCOUNT_VERSION)

    def free_bytes(self) -> int:
        if self.quota is not None:
            return min(self.quota.free(), shutil.disk_usage(self.root).free)
        return shutil.disk_usage(self.root).free

    def disk(self, ref: DiskRef) -> ReplicaStore:
        """The replica store of one disk (created on first use)."""
        item = safe_component("item id", ref.item_id)
        disk = safe_component("disk id", ref.disk_id)
        self._check_reachable()
        root = self.root / "items" / item / "disks" / disk
        space: SpaceGuard = self.quota if self.quota is not None else Unlimited()
        return ReplicaStore(root, ref, space=space, label=self.label)

    def _check_reachable(self) -> None:
        if not self.root.is_dir():
            raise TargetUnavailable(
                f"{self.label}: the storage account directory does not exist",
                hint="check the target's path (and that its volume is mounted)",
            )
        owner = _owner(self.root / _MARKER)
        if owner is not None and owner != self.target_id:
            raise TargetUnavailable(
                f"{self.label}: the directory belongs to target {owner!r}",
                hint="give each target its own path",
            )


def _quota(target: TargetConnection) -> int | None:
    text = target.option("quota_bytes")
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ValidationError(
            f"target {target.target_id!r}: quota_bytes must be a whole number of bytes, "
            f"got {text!r}"
        )
    return value


def _owner(marker: Path) -> str | None:
    raw = read_small(marker)
    if raw is None:
        return None
    try:
        return str(json.loads(raw)["target_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TargetUnavailable(
            f"storage account marker {marker} is unreadable: {exc}",
            hint="restore the file or point the target at a fresh directory",
        ) from exc
