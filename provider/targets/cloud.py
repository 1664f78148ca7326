"""The ``cloud`` target plugin: HRL transfer into a directory-backed storage account.

Registered as ``cloud`` in the ``srp`` entry-point group, like any third
party plugin. The hooks only translate between the hook contract and
:class:`~provider.targets.storage_account.StorageAccount`; the failover
hooks (compute simulation) arrive with a later issue.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from provider.contracts.connection import TargetConnection
from provider.contracts.declarations import (
    ConnectionParameter,
    DataPath,
    ParameterType,
    TargetKind,
)
from provider.contracts.replica import BlockDigest
from provider.contracts.transfer import (
    AppliedHrl,
    DiskRef,
    Holdings,
    PointQuery,
    RetentionResult,
    TargetInfo,
)
from provider.errors import RecoveryPointUnavailable
from provider.hookspecs import hookimpl
from provider.replica import ReplicaStore
from provider.targets.storage_account import KIND, StorageAccount

TARGET_KIND = TargetKind(
    kind=KIND,
    title="Cloud target (directory-backed storage account)",
    data_path=DataPath.HRL,
    # The compute side (failover hooks) is not served yet: declare no failover mode.
    failover_modes=(),
    parameters=(
        ConnectionParameter(
            "path", required=True, description="directory holding the storage account"
        ),
        ConnectionParameter(
            "quota_bytes",
            type=ParameterType.INTEGER,
            description="most bytes the account may occupy (empty: the volume's free space)",
        ),
    ),
)


@hookimpl
def srp_target_kinds() -> Sequence[TargetKind]:
    return (TARGET_KIND,)


@hookimpl
def srp_open_target(target: TargetConnection) -> TargetInfo:
    return StorageAccount.from_connection(target).open()


@hookimpl
def srp_target_holdings(target: TargetConnection, disk: DiskRef) -> Holdings:
    return _store(target, disk).holdings()


@hookimpl
def srp_store_hrl(target: TargetConnection, disk: DiskRef, sequence: int, path: Path) -> None:
    _store(target, disk).store_hrl(sequence, path)


@hookimpl
def srp_apply_hrl(
    target: TargetConnection, disk: DiskRef, sequence: int, key: bytes | None
) -> AppliedHrl:
    return _store(target, disk).apply(sequence, key)


@hookimpl
def srp_replica_digests(
    target: TargetConnection, disk: DiskRef, block_size: int
) -> Iterator[BlockDigest]:
    return _store(target, disk).block_digests(block_size)


@hookimpl
def srp_point_digest(target: TargetConnection, query: PointQuery) -> str:
    try:
        sequence = query.point.disk(query.disk.disk_id).sequence
    except KeyError as exc:
        raise RecoveryPointUnavailable(
            f"recovery point {query.point.point_id!r} has no disk {query.disk.disk_id!r}",
            hint="ask for a disk the point covers",
        ) from exc
    return _store(target, query.disk).point_digest(sequence)


@hookimpl
def srp_apply_retention(
    target: TargetConnection, disk: DiskRef, oldest_kept_sequence: int
) -> RetentionResult:
    return _store(target, disk).apply_retention(oldest_kept_sequence)


def _store(target: TargetConnection, disk: DiskRef) -> ReplicaStore:
    return StorageAccount.from_connection(target).disk(disk)
