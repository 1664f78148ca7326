"""Point-in-time views: stable under later applies, copy-on-write, leased."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from provider.contracts.replica import BlockDigest
from provider.errors import AlreadyExists, RecoveryPointUnavailable, ValidationError
from provider.replica import ReplicaStore, allocated_bytes
from provider.replica.durable import pwrite_all
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


@pytest.fixture
def source() -> SourceDisk:
    return SourceDisk(seed=11)


@pytest.fixture
def chain(tmp_path: Path) -> HrlChain:
    (tmp_path / "hrls").mkdir()
    return HrlChain(tmp_path / "hrls")


@pytest.fixture
def store(tmp_path: Path) -> ReplicaStore:
    return ReplicaStore(tmp_path / "disk", disk_ref())


def apply_all(store: ReplicaStore, chain: HrlChain, sequences: range) -> None:
    for sequence in sequences:
        store.store_hrl(sequence, chain.paths[sequence])
        store.apply(sequence)


def test_a_view_keeps_its_point_while_later_hrls_apply(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    build_history(source, chain, cycles=6)
    apply_all(store, chain, range(1, 3))
    with store.open_view(1) as old, store.open_view(2) as latest:
        apply_all(store, chain, range(3, 7))
        assert old.read(0, CAPACITY) == source.cuts[1]
        assert latest.read(0, CAPACITY) == source.cuts[2]
        assert old.digest() == sha(source.cuts[1])
    assert store.image_path.read_bytes() == source.cuts[6]


def test_a_view_reads_its_point_at_every_write_of_an_apply(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads interleaved with the image writes of an apply never see a mix."""
    build_history(source, chain, cycles=3, extents_per_cycle=10)
    apply_all(store, chain, range(1, 3))
    store.store_hrl(3, chain.paths[3])
    real = pwrite_all
    seen: list[tuple[str, str]] = []
    with store.open_view(1) as old, store.open_view(2) as latest:

        def write_then_read(fd: int, data: bytes, offset: int) -> None:
            real(fd, data, offset)
            seen.append((old.digest(), latest.digest()))

        monkeypatch.setattr("provider.replica.apply.pwrite_all", write_then_read)
        store.apply(3)
    assert len(seen) == 10
    assert set(seen) == {(sha(source.cuts[1]), sha(source.cuts[2]))}


def test_partial_reads_match_the_source(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    build_history(source, chain, cycles=4, extents_per_cycle=12)
    apply_all(store, chain, range(1, 5))
    with store.open_view(2) as view:
        for offset, length in [(0, 1), (4095, 2), (12_345, 70_000), (CAPACITY - 7, 7), (0, 0)]:
            assert view.read(offset, length) == source.cuts[2][offset : offset + length]


def test_writes_go_to_the_overlay_never_to_the_image(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    build_history(source, chain, cycles=3)
    apply_all(store, chain, range(1, 4))
    expected = bytearray(source.cuts[2])
    with store.open_view(2, writable=True) as view, store.open_view(2) as reader:
        for offset, data in [(10, b"boot" * 3), (4090, b"across-a-block"), (8192, b"z" * 4096)]:
            view.write(offset, data)
            expected[offset : offset + len(data)] = data
        assert view.read(0, CAPACITY) == bytes(expected)
        assert reader.read(0, CAPACITY) == source.cuts[2]
        overlay = view.overlay_path
        assert overlay is not None and overlay.exists()
    assert store.image_path.read_bytes() == source.cuts[3]
    assert not overlay.exists()


def test_a_writable_view_of_the_latest_point_copies_nothing(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    """Failover to the latest point reads the image in place; only writes allocate."""
    capacity = 8 * 1024 * 1024
    big = ReplicaStore(store.layout.root.parent / "big", disk_ref(capacity))
    source = SourceDisk(capacity, seed=3)
    path = chain.next([source.write(0, source.rng.randbytes(capacity))])
    big.store_hrl(1, path)
    big.apply(1)
    with big.open_view(1, writable=True) as view:
        view.write(4096 * 5, b"x" * 100)
        view.write(capacity - 4096, b"y" * 4096)
        assert view.read(4096 * 5, 100) == b"x" * 100
        assert allocated_bytes(big.layout.views_dir) <= 4 * 4096
        overlay = view.overlay_path
        assert overlay is not None and os.stat(overlay).st_size == capacity
    assert big.image_path.read_bytes() == bytes(source.data)


def test_a_read_only_view_refuses_writes(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    build_history(source, chain, cycles=1)
    apply_all(store, chain, range(1, 2))
    with store.open_view(1, view_id="drill") as view, pytest.raises(ValidationError) as caught:
        view.write(0, b"x")
    assert caught.value.message == f"view 'drill' of {store.layout.root} is read-only"


def test_block_digests_of_the_latest_point(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    build_history(source, chain, cycles=2)
    apply_all(store, chain, range(1, 3))
    digests = list(store.block_digests(65536))
    expected = [
        BlockDigest(offset, hashlib.sha256(source.cuts[2][offset : offset + 65536]).digest())
        for offset in range(0, CAPACITY, 65536)
    ]
    assert digests == expected
    assert list(store.layout.leases_dir.iterdir()) == []


def test_a_point_outside_retention_is_unavailable(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    build_history(source, chain, cycles=4)
    apply_all(store, chain, range(1, 5))
    store.apply_retention(2)
    with pytest.raises(RecoveryPointUnavailable) as caught:
        store.open_view(1)
    assert caught.value.message == (
        f"disk {DISK!r} of item {ITEM!r} has no point at sequence 1: "
        "the target holds sequences 2..4"
    )
    with pytest.raises(RecoveryPointUnavailable):
        store.open_view(5)


def test_no_point_before_the_first_apply(store: ReplicaStore) -> None:
    with pytest.raises(RecoveryPointUnavailable, match="the target holds no point yet"):
        store.point_digest(0)


def test_a_view_holds_a_lease_until_closed(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    build_history(source, chain, cycles=2)
    apply_all(store, chain, range(1, 3))
    view = store.open_view(1, view_id="test-failover-1", writable=True)
    assert [p.name for p in store.layout.leases_dir.iterdir()] == ["test-failover-1.json"]
    with pytest.raises(AlreadyExists):
        store.open_view(2, view_id="test-failover-1")
    view.close()
    view.close()
    assert list(store.layout.leases_dir.iterdir()) == []
    assert list(store.layout.views_dir.iterdir()) == []


def test_release_view_cleans_what_a_crashed_process_left(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    build_history(source, chain, cycles=2)
    apply_all(store, chain, range(1, 3))
    store.open_view(1, view_id="orphan", writable=True)  # never closed
    store.release_view("orphan")
    assert list(store.layout.leases_dir.iterdir()) == []
    assert list(store.layout.views_dir.iterdir()) == []
