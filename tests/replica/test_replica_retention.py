"""Retention: undo logs only needed for older points go; leased points stay."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provider.contracts.transfer import RetentionResult
from provider.replica import ReplicaStore
from tests.replica.replica_testkit import (
    DISK,
    ITEM,
    HrlChain,
    SourceDisk,
    build_history,
    disk_ref,
    sha,
)


@pytest.fixture
def history(tmp_path: Path) -> tuple[ReplicaStore, SourceDisk]:
    (tmp_path / "hrls").mkdir()
    chain, source = HrlChain(tmp_path / "hrls"), SourceDisk(seed=5)
    store = ReplicaStore(tmp_path / "disk", disk_ref())
    build_history(source, chain, cycles=6)
    for sequence in range(1, 7):
        store.store_hrl(sequence, chain.paths[sequence])
        store.apply(sequence)
    return store, source


def undo_sizes(store: ReplicaStore, sequences: range) -> int:
    return sum(os.stat(store.layout.undo(s)).st_size for s in sequences)


def test_retention_deletes_undo_logs_up_to_the_oldest_kept_point(
    history: tuple[ReplicaStore, SourceDisk],
) -> None:
    store, source = history
    freed = undo_sizes(store, range(1, 4))
    result = store.apply_retention(3)
    assert result == RetentionResult(
        (f"{ITEM}/{DISK}@0", f"{ITEM}/{DISK}@1", f"{ITEM}/{DISK}@2"), freed
    )
    assert store.points() == range(3, 7)
    for sequence in range(3, 7):
        assert store.point_digest(sequence) == sha(source.cuts[sequence])
    assert store.apply_retention(3) == RetentionResult((), 0)


def test_retention_never_goes_past_the_latest_point(
    history: tuple[ReplicaStore, SourceDisk],
) -> None:
    store, source = history
    result = store.apply_retention(100)
    assert len(result.pruned_points) == 6
    assert store.points() == range(6, 7)
    assert store.point_digest(6) == sha(source.cuts[6])
    assert store.image_path.read_bytes() == source.cuts[6]


def test_a_leased_view_keeps_the_logs_it_needs(
    history: tuple[ReplicaStore, SourceDisk],
) -> None:
    store, source = history
    with store.open_view(2) as view:
        result = store.apply_retention(5)
        assert result.pruned_points == (f"{ITEM}/{DISK}@0", f"{ITEM}/{DISK}@1")
        assert view.read(0, len(source.cuts[2])) == source.cuts[2]
        assert store.points() == range(2, 7)
    result = store.apply_retention(5)
    assert result.pruned_points == (f"{ITEM}/{DISK}@2", f"{ITEM}/{DISK}@3", f"{ITEM}/{DISK}@4")
    assert store.points() == range(5, 7)


def test_retention_of_an_empty_disk_prunes_nothing(tmp_path: Path) -> None:
    store = ReplicaStore(tmp_path / "disk", disk_ref())
    assert store.apply_retention(10) == RetentionResult((), 0)


def test_an_unnamed_view_of_a_dead_process_stops_holding_retention(
    history: tuple[ReplicaStore, SourceDisk],
) -> None:
    store, _source = history
    pid = os.fork()
    if pid == 0:  # a reader that dies with its view open
        try:
            store.open_view(1)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    store.open_view(2, view_id="drill")  # named: survives its process
    assert store.apply_retention(5).pruned_points == (f"{ITEM}/{DISK}@0", f"{ITEM}/{DISK}@1")
    assert [p.name for p in store.layout.leases_dir.iterdir()] == ["drill.json"]
