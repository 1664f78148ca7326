"""The ``cloud`` target plugin: declaration, registration and the HRL transfer hooks."""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import entry_points
from pathlib import Path

import pluggy
import pytest

import provider.targets.cloud as cloud
from provider import hookspecs
from provider.contracts.connection import TargetConnection
from provider.contracts.declarations import DataPath, FailoverMode, ParameterType
from provider.contracts.replica import BlockDigest
from provider.contracts.transfer import (
    AppliedHrl,
    Holdings,
    PointQuery,
    RetentionResult,
    TargetInfo,
)
from provider.errors import (
    RecoveryPointUnavailable,
    TargetFull,
    TargetUnavailable,
    ValidationError,
)
from provider.hrl import ZERO_DIGEST
from provider.model.recovery import Consistency, DiskPoint, RecoveryPoint
from provider.replica import allocated_bytes
from tests.replica.replica_testkit import (
    CAPACITY,
    DISK,
    ITEM,
    HrlChain,
    SourceDisk,
    build_history,
    disk_ref,
    sha,
)

TRANSFER_HOOKS = {
    "srp_target_kinds",
    "srp_open_target",
    "srp_target_holdings",
    "srp_store_hrl",
    "srp_apply_hrl",
    "srp_replica_digests",
    "srp_point_digest",
    "srp_apply_retention",
}
FAILOVER_HOOKS = {
    "srp_target_networks",
    "srp_failover",
    "srp_commit_failover",
    "srp_cancel_failover",
    "srp_cleanup_test_failover",
    "srp_reverse_replication",
}
#: The replica machine served as the source of reverse replication (fabric kind cloud-replica).
REPLICA_SOURCE_HOOKS = {
    "srp_fabric_kinds",
    "srp_capture_cut",
    "srp_read_extents",
    "srp_block_digests",
    "srp_release_cut",
    "srp_prepare_failover",
    "srp_resume_source",
}


@pytest.fixture
def hook(tmp_path: Path) -> pluggy.HookRelay:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(cloud, name="cloud")
    manager.check_pending()
    return manager.hook


def target(path: Path, **options: str) -> TargetConnection:
    return TargetConnection(
        target_id="cloud-1",
        kind="cloud",
        location="westeurope",
        options=(("path", str(path)), *options.items()),
    )


@pytest.fixture
def history(tmp_path: Path) -> tuple[HrlChain, SourceDisk]:
    (tmp_path / "hrls").mkdir()
    chain, source = HrlChain(tmp_path / "hrls"), SourceDisk(seed=17)
    build_history(source, chain, cycles=4)
    return chain, source


def point(sequence: int, source: SourceDisk) -> RecoveryPoint:
    return RecoveryPoint(
        point_id=f"p{sequence}",
        item_id=ITEM,
        cut_id=f"cut-{sequence}",
        created_at=1.0,
        consistency=Consistency.CRASH,
        disks=(DiskPoint(DISK, sequence, sha(source.cuts[sequence])),),
    )


def test_the_plugin_is_registered_as_the_cloud_entry_point() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="srp")}
    assert found["cloud"] == "provider.targets.cloud"


def test_the_plugin_implements_exactly_the_transfer_failover_and_replica_source_hooks() -> None:
    implemented = {name for name in dir(cloud) if name.startswith("srp_")}
    assert implemented == TRANSFER_HOOKS | FAILOVER_HOOKS | REPLICA_SOURCE_HOOKS


def test_the_target_kind_declaration(hook: pluggy.HookRelay) -> None:
    (declared,) = hook.srp_target_kinds()
    assert declared == (cloud.TARGET_KIND,)
    kind = declared[0]
    assert (kind.kind, kind.title, kind.data_path) == (
        "cloud",
        "Cloud target (directory-backed storage account)",
        DataPath.HRL,
    )
    assert [(p.name, p.type, p.required) for p in kind.parameters] == [
        ("path", ParameterType.TEXT, True),
        ("networks", ParameterType.TEXT, False),
        ("quota_bytes", ParameterType.INTEGER, False),
    ]
    assert kind.failover_modes == (
        FailoverMode.TEST,
        FailoverMode.PLANNED,
        FailoverMode.UNPLANNED,
        FailoverMode.FAILBACK,
    )


def test_the_replica_source_kind_declaration(hook: pluggy.HookRelay) -> None:
    (declared,) = hook.srp_fabric_kinds()
    assert declared == (cloud.REPLICA_KIND,)
    assert declared[0].kind == "cloud-replica"
    assert declared[0].capabilities.failover_modes == (FailoverMode.PLANNED,)


def test_opening_creates_and_claims_the_account(tmp_path: Path, hook: pluggy.HookRelay) -> None:
    info = hook.srp_open_target(target=target(tmp_path / "account", quota_bytes="1000000"))
    marker = json.loads((tmp_path / "account" / "account.json").read_text())
    assert marker == {"target_id": "cloud-1", "version": "1"}
    used = allocated_bytes(tmp_path / "account")
    assert info == TargetInfo("cloud-1", "cloud", 1_000_000 - used, "1")


def test_a_path_whose_parent_is_missing_is_unavailable(
    tmp_path: Path, hook: pluggy.HookRelay
) -> None:
    path = tmp_path / "unmounted" / "account"
    with pytest.raises(TargetUnavailable) as caught:
        hook.srp_open_target(target=target(path))
    assert caught.value.message == (
        f"cloud target 'cloud-1' ({path}): the storage account directory does not exist"
    )
    assert not path.parent.exists()


def test_another_targets_directory_is_refused(tmp_path: Path, hook: pluggy.HookRelay) -> None:
    hook.srp_open_target(target=target(tmp_path))
    other = TargetConnection("cloud-2", "cloud", "x", options=(("path", str(tmp_path)),))
    with pytest.raises(TargetUnavailable, match="the directory belongs to target 'cloud-1'"):
        hook.srp_open_target(target=other)
    with pytest.raises(TargetUnavailable, match="belongs to target 'cloud-1'"):
        hook.srp_target_holdings(target=other, disk=disk_ref())


def test_a_malformed_quota_is_refused(tmp_path: Path, hook: pluggy.HookRelay) -> None:
    with pytest.raises(ValidationError) as caught:
        hook.srp_open_target(target=target(tmp_path, quota_bytes="lots"))
    assert caught.value.message == (
        "target 'cloud-1': quota_bytes must be a whole number of bytes, got 'lots'"
    )


def test_store_apply_and_prove_a_disk_through_the_hooks(
    tmp_path: Path, hook: pluggy.HookRelay, history: tuple[HrlChain, SourceDisk]
) -> None:
    chain, source = history
    conn = target(tmp_path / "account")
    hook.srp_open_target(target=conn)
    ref = disk_ref()
    assert hook.srp_target_holdings(target=conn, disk=ref) == Holdings(ref, 0, ZERO_DIGEST, ())
    for sequence in (1, 2, 3, 4):
        hook.srp_store_hrl(target=conn, disk=ref, sequence=sequence, path=chain.paths[sequence])
    holdings = hook.srp_target_holdings(target=conn, disk=ref)
    assert holdings == Holdings(ref, 0, ZERO_DIGEST, (1, 2, 3, 4))
    for sequence in (1, 2, 3, 4):
        applied = hook.srp_apply_hrl(target=conn, disk=ref, sequence=sequence, key=None)
        assert isinstance(applied, AppliedHrl) and applied.sequence == sequence
    assert hook.srp_target_holdings(target=conn, disk=ref).applied_digest == chain.last_digest
    for sequence in range(0, 5):
        query = PointQuery(ref, point(sequence, source))
        assert hook.srp_point_digest(target=conn, query=query) == sha(source.cuts[sequence])
    digests = list(hook.srp_replica_digests(target=conn, disk=ref, block_size=100_000))
    assert digests == [
        BlockDigest(o, hashlib.sha256(source.cuts[4][o : o + 100_000]).digest())
        for o in range(0, CAPACITY, 100_000)
    ]
    image = tmp_path / "account" / "items" / ITEM / "disks" / DISK / "replica.img"
    assert image.read_bytes() == source.cuts[4]


def test_retention_through_the_hook(
    tmp_path: Path, hook: pluggy.HookRelay, history: tuple[HrlChain, SourceDisk]
) -> None:
    chain, source = history
    conn, ref = target(tmp_path), disk_ref()
    for sequence in (1, 2, 3, 4):
        hook.srp_store_hrl(target=conn, disk=ref, sequence=sequence, path=chain.paths[sequence])
        hook.srp_apply_hrl(target=conn, disk=ref, sequence=sequence, key=None)
    result = hook.srp_apply_retention(target=conn, disk=ref, oldest_kept_sequence=2)
    assert isinstance(result, RetentionResult)
    assert result.pruned_points == (f"{ITEM}/{DISK}@0", f"{ITEM}/{DISK}@1")
    with pytest.raises(RecoveryPointUnavailable):
        hook.srp_point_digest(target=conn, query=PointQuery(ref, point(1, source)))
    assert hook.srp_point_digest(target=conn, query=PointQuery(ref, point(2, source))) == sha(
        source.cuts[2]
    )


def test_a_point_without_the_disk_is_unavailable(
    tmp_path: Path, hook: pluggy.HookRelay, history: tuple[HrlChain, SourceDisk]
) -> None:
    _chain, source = history
    query = PointQuery(disk_ref(disk_id="disk-1"), point(1, source))
    with pytest.raises(RecoveryPointUnavailable) as caught:
        hook.srp_point_digest(target=target(tmp_path), query=query)
    assert caught.value.message == "recovery point 'p1' has no disk 'disk-1'"


def test_a_full_target_refuses_then_resumes(
    tmp_path: Path, hook: pluggy.HookRelay, history: tuple[HrlChain, SourceDisk]
) -> None:
    chain, _source = history
    ref = disk_ref()
    roomy = target(tmp_path, quota_bytes=str(10 * 1024 * 1024))
    hook.srp_store_hrl(target=roomy, disk=ref, sequence=1, path=chain.paths[1])
    tight = target(tmp_path, quota_bytes=str(allocated_bytes(tmp_path) + 1))
    with pytest.raises(TargetFull, match=r"^cloud target 'cloud-1' \(.*\) is full: storing HRL 2"):
        hook.srp_store_hrl(target=tight, disk=ref, sequence=2, path=chain.paths[2])
    assert hook.srp_target_holdings(target=tight, disk=ref).stored == (1,)
    assert not list(tmp_path.rglob(".tmp-*"))
    hook.srp_store_hrl(target=roomy, disk=ref, sequence=2, path=chain.paths[2])
    assert hook.srp_target_holdings(target=roomy, disk=ref).stored == (1, 2)


@pytest.mark.parametrize(
    ("item_id", "disk_id"), [("../outside", DISK), (ITEM, "../../outside"), (ITEM, "..")]
)
def test_ids_cannot_escape_the_account(
    tmp_path: Path, hook: pluggy.HookRelay, item_id: str, disk_id: str
) -> None:
    account = tmp_path / "account"
    hook.srp_open_target(target=target(account))
    ref = disk_ref(item_id=item_id, disk_id=disk_id)
    with pytest.raises(ValidationError, match="cannot name a directory on the target"):
        hook.srp_target_holdings(target=target(account), disk=ref)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["account"]
    assert [p.name for p in account.iterdir()] == ["account.json"]
