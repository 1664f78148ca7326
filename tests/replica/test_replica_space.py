"""A full target: refused before writing (quota) or mid-write (ENOSPC), nothing partial."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from provider.errors import TargetFull
from provider.replica import Quota, ReplicaStore
from provider.replica.durable import write_all
from tests.replica.replica_testkit import HrlChain, SourceDisk, build_history, disk_ref


@pytest.fixture
def chain(tmp_path: Path) -> HrlChain:
    (tmp_path / "hrls").mkdir()
    chain = HrlChain(tmp_path / "hrls")
    build_history(SourceDisk(seed=9), chain, cycles=3)
    return chain


def test_a_quota_refuses_a_store_before_writing_anything(tmp_path: Path, chain: HrlChain) -> None:
    root = tmp_path / "account"
    root.mkdir()
    quota = Quota(root, 0, "target 't1'")
    store = ReplicaStore(root / "disk", disk_ref(), space=quota)
    quota.limit = quota.used() + 10
    size = os.stat(chain.paths[1]).st_size
    with pytest.raises(TargetFull) as caught:
        store.store_hrl(1, chain.paths[1])
    assert caught.value.message == (
        f"target 't1' is full: storing HRL 1 ({size} bytes) needs {size} bytes, "
        f"{quota.used()} of the {quota.limit}-byte quota are used"
    )
    assert list(store.layout.incoming_dir.iterdir()) == []
    quota.limit = 10 * 1024 * 1024  # space returns
    store.store_hrl(1, chain.paths[1])
    assert store.holdings().stored == (1,)


def test_a_quota_refuses_an_apply_before_it_writes(tmp_path: Path, chain: HrlChain) -> None:
    root = tmp_path / "account"
    root.mkdir()
    quota = Quota(root, 10 * 1024 * 1024, "target 't1'")
    store = ReplicaStore(root / "disk", disk_ref(), space=quota)
    store.store_hrl(1, chain.paths[1])
    quota.limit = quota.used() + 100
    with pytest.raises(TargetFull, match=r"^target 't1' is full: applying HRL 1 needs"):
        store.apply(1)
    assert not store.image_path.exists()
    assert list(store.layout.undo_dir.iterdir()) == []
    quota.limit = 10 * 1024 * 1024
    store.apply(1)
    assert store.holdings().applied_sequence == 1


def _cross_device(source: object, destination: object) -> None:
    """The HRL comes from another filesystem, so it must be copied in."""
    raise OSError(errno.EXDEV, "Invalid cross-device link")


def test_a_stored_hrl_on_the_same_filesystem_is_linked_not_rewritten(
    tmp_path: Path, chain: HrlChain
) -> None:
    store = ReplicaStore(tmp_path / "disk", disk_ref())
    store.store_hrl(1, chain.paths[1])
    assert store.layout.incoming(1).stat().st_ino == chain.paths[1].stat().st_ino


def test_enospc_while_storing_leaves_no_partial_file(
    tmp_path: Path, chain: HrlChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ReplicaStore(tmp_path / "disk", disk_ref())
    real = write_all

    def disk_full(fd: int, data: bytes) -> None:
        real(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("provider.replica.incoming.write_all", disk_full)
    monkeypatch.setattr("provider.replica.incoming.os.link", _cross_device)
    with pytest.raises(TargetFull) as caught:
        store.store_hrl(1, chain.paths[1])
    assert caught.value.message == (
        f"replica store {store.layout.root} is full: storing HRL 1 failed: No space left on device"
    )
    assert list(store.layout.incoming_dir.iterdir()) == []
    monkeypatch.setattr("provider.replica.incoming.write_all", real)
    store.store_hrl(1, chain.paths[1])
    assert store.layout.incoming(1).read_bytes() == chain.paths[1].read_bytes()
