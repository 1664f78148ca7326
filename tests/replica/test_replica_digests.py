"""The latest point's digest from the block digest table every apply keeps.

Each test checks the digest against the source's bytes, and the table entry
by entry against the image, so a table that drifted from the image fails.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from provider.blockdigest import (
    DIGEST_BLOCK_SIZE,
    BlockDigestTable,
    data_extents,
    digest_of_bytes,
    disk_digest,
    zero_block_digest,
)
from provider.errors import ValidationError
from provider.replica import ReplicaStore
from provider.replica.store import LatestDigest
from tests.replica.replica_testkit import CAPACITY, HrlChain, SourceDisk, disk_ref, sha


@pytest.fixture
def source() -> SourceDisk:
    return SourceDisk(seed=5)


@pytest.fixture
def chain(tmp_path: Path) -> HrlChain:
    (tmp_path / "hrls").mkdir()
    return HrlChain(tmp_path / "hrls")


@pytest.fixture
def store(tmp_path: Path) -> ReplicaStore:
    return ReplicaStore(tmp_path / "disk", disk_ref())


def apply_next(store: ReplicaStore, chain: HrlChain, extents: list[tuple[int, bytes]]) -> int:
    path = chain.next(extents)
    store.store_hrl(chain.sequence, path)
    store.apply(chain.sequence)
    return chain.sequence


def apply_random(store: ReplicaStore, chain: HrlChain, source: SourceDisk, count: int) -> int:
    sequence = apply_next(store, chain, source.random_extents(count))
    source.cut()
    return sequence


def expected_table(image: bytes) -> bytes:
    return b"".join(
        hashlib.sha256(image[at : at + DIGEST_BLOCK_SIZE]).digest()
        for at in range(0, len(image), DIGEST_BLOCK_SIZE)
    )


def stamp(store: ReplicaStore) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(LatestDigest(store.layout).stamp_path.read_bytes())
    return loaded


def refuse_views(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any read of the disk through a view now fails the test."""

    def no_view(*args: object, **kwargs: object) -> None:
        raise AssertionError("the latest point's digest read the disk through a view")

    monkeypatch.setattr(ReplicaStore, "open_view", no_view)


def test_the_latest_digest_comes_from_the_table_without_reading_the_disk(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        apply_random(store, chain, source, 5)
    refuse_views(monkeypatch)
    assert store.point_digest(3) == sha(source.cuts[3])
    assert LatestDigest(store.layout).table_path.read_bytes() == expected_table(source.cuts[3])
    image = os.stat(store.image_path)
    assert stamp(store) == {
        "sequence": 3,
        "image_size": CAPACITY,
        "image_mtime_ns": image.st_mtime_ns,
        "root": sha(source.cuts[3]),
    }


def test_each_apply_rehashes_exactly_the_blocks_it_touched(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    apply_random(store, chain, source, 8)
    # One byte in the short last block and one across a block boundary.
    apply_next(store, chain, [source.write(CAPACITY - 1, b"\x01")])
    apply_next(store, chain, [source.write(DIGEST_BLOCK_SIZE - 2, b"\x02\x03\x04\x05")])
    source.cut()
    assert LatestDigest(store.layout).table_path.read_bytes() == expected_table(source.cuts[-1])
    assert store.point_digest(3) == sha(source.cuts[-1])
    assert stamp(store)["sequence"] == 3


def test_older_points_are_still_read_through_views(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    for _ in range(4):
        apply_random(store, chain, source, 4)
    assert [store.point_digest(s) for s in range(5)] == [sha(cut) for cut in source.cuts]


def test_an_image_changed_behind_the_store_is_rehashed_not_trusted(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    apply_random(store, chain, source, 6)
    with store.image_path.open("r+b") as image:
        image.seek(1000)
        image.write(b"tampered")
    os.utime(store.image_path, ns=(1, 1))  # a distinct mtime, however fast the write was
    tampered = store.image_path.read_bytes()
    assert store.point_digest(1) == sha(tampered) != sha(source.cuts[1])
    assert LatestDigest(store.layout).table_path.read_bytes() == expected_table(tampered)


def test_a_stamp_of_an_older_sequence_is_not_trusted(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    """As if a crash stopped an apply's table update after its commit."""
    apply_random(store, chain, source, 6)
    latest = LatestDigest(store.layout)
    old_stamp, old_table = latest.stamp_path.read_bytes(), latest.table_path.read_bytes()
    apply_random(store, chain, source, 6)
    latest.stamp_path.write_bytes(old_stamp)
    latest.table_path.write_bytes(old_table)
    assert store.point_digest(2) == sha(source.cuts[2])
    assert stamp(store)["sequence"] == 2
    apply_random(store, chain, source, 3)
    assert store.point_digest(3) == sha(source.cuts[3])
    assert latest.table_path.read_bytes() == expected_table(source.cuts[3])


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"sequence": 1}', b"[1, 2]"])
def test_a_damaged_or_missing_stamp_means_a_rebuild(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk, content: bytes
) -> None:
    apply_random(store, chain, source, 6)
    latest = LatestDigest(store.layout)
    latest.table_path.write_bytes(bytes(len(latest.table_path.read_bytes())))
    latest.stamp_path.write_bytes(content)
    assert store.point_digest(1) == sha(source.cuts[1])
    assert latest.table_path.read_bytes() == expected_table(source.cuts[1])


def test_a_missing_undo_log_falls_back_to_a_rebuild(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    apply_random(store, chain, source, 6)
    apply_random(store, chain, source, 6)
    store.layout.undo(2).unlink()
    assert LatestDigest(store.layout).advance(2, incremental=True) == sha(source.cuts[2])


def test_advance_refuses_a_sequence_that_is_not_the_latest(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    apply_random(store, chain, source, 2)
    with pytest.raises(ValidationError, match=r"HRL 2 is not the latest applied"):
        LatestDigest(store.layout).advance(2, incremental=False)


def test_a_new_table_holds_zero_block_digests_with_a_short_last_block(tmp_path: Path) -> None:
    capacity = 3 * DIGEST_BLOCK_SIZE + 100
    table = BlockDigestTable(tmp_path / "t.digests", capacity)
    assert table.path.read_bytes() == expected_table(bytes(capacity))
    assert list(table.digests())[-1] == zero_block_digest(100)


def test_rehash_reads_whole_blocks_around_each_extent(tmp_path: Path) -> None:
    capacity = 5 * DIGEST_BLOCK_SIZE
    image = bytearray(os.urandom(capacity))
    table = BlockDigestTable(tmp_path / "t.digests", capacity)
    asked: list[tuple[int, int]] = []

    def read(offset: int, length: int) -> bytes:
        asked.append((offset, length))
        return bytes(image[offset : offset + length])

    block = DIGEST_BLOCK_SIZE
    table.rehash([(block + 5, 10), (4 * block - 1, 2)], read)
    assert asked == [(block, block), (3 * block, 2 * block)]
    zero = zero_block_digest(block)
    digests = expected_table(bytes(image))
    assert list(table.digests()) == [zero, digests[32:64], zero, digests[96:128], digests[128:]]


def test_data_extents_finds_the_written_runs_of_a_sparse_file(tmp_path: Path) -> None:
    path = tmp_path / "sparse.img"
    size = 64 * 1024 * 1024
    with path.open("wb") as handle:
        handle.truncate(size)
        handle.seek(8 * 1024 * 1024)
        handle.write(b"x" * 5000)
        handle.seek(size - 1)
        handle.write(b"y")
    fd = os.open(path, os.O_RDONLY)
    try:
        runs = data_extents(fd, size)
    finally:
        os.close(fd)
    # The file system allocates whole blocks; each run covers its write.
    assert len(runs) == 2
    (first, first_length), (last, last_length) = runs
    assert first <= 8 * 1024 * 1024 and first + first_length >= 8 * 1024 * 1024 + 5000
    assert last <= size - 1 and last + last_length == size
    assert first_length <= 1024 * 1024 and last_length <= 1024 * 1024


def test_the_table_root_is_the_disk_digest_of_its_entries(tmp_path: Path) -> None:
    capacity = 2 * DIGEST_BLOCK_SIZE + 4096
    image = os.urandom(capacity)
    table = BlockDigestTable(tmp_path / "t.digests", capacity)
    table.rehash([(0, capacity)], lambda offset, length: image[offset : offset + length])
    assert table.root() == disk_digest(table.digests()) == digest_of_bytes(image)


def test_a_stamp_without_its_table_means_a_rebuild(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    apply_random(store, chain, source, 6)
    latest = LatestDigest(store.layout)
    latest.table_path.unlink()
    apply_random(store, chain, source, 6)
    assert latest.table_path.read_bytes() == expected_table(source.cuts[2])
    assert store.point_digest(2) == sha(source.cuts[2])


def test_view_digests_span_several_read_chunks(tmp_path: Path) -> None:
    """A disk larger than one digest read (4 MiB), with a short last block."""
    capacity = 4 * 1024 * 1024 + 3 * DIGEST_BLOCK_SIZE + 1000
    store = ReplicaStore(tmp_path / "big", disk_ref(capacity))
    (tmp_path / "hrls").mkdir()
    chain, source = HrlChain(tmp_path / "hrls"), SourceDisk(capacity, seed=9)
    edges = [4 * 1024 * 1024 - 3, capacity - 10, 100]
    for offset in edges:
        apply_next(store, chain, [source.write(offset, bytes([offset % 251 + 1]) * 10)])
        source.cut()
    assert [store.point_digest(s) for s in range(4)] == [sha(cut) for cut in source.cuts]
    with store.open_view(2) as view:
        blocks = list(view.block_digests(DIGEST_BLOCK_SIZE))
    assert [b.offset for b in blocks] == list(range(0, capacity, DIGEST_BLOCK_SIZE))
    assert b"".join(b.digest for b in blocks) == expected_table(source.cuts[2])
