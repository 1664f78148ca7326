"""Virtual disks: byte-exact data, change tracking, copy-on-write cuts, fault switches."""

from __future__ import annotations

import errno
import hashlib
import os
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes.disk import (
    ChangesUntrusted,
    DiskClosed,
    DiskRangeError,
    DuplicateCut,
    SnapshotReleased,
    VirtualDisk,
    zero_digest,
)

KIB = 1024
SMALL = 64 * KIB  # 16 blocks of 4 KiB

DiskFactory = Callable[..., VirtualDisk]


@pytest.fixture(params=["memory", "sparse"])
def make_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DiskFactory]:
    """Build disks of either kind; every disk is closed at teardown."""
    made: list[VirtualDisk] = []

    def factory(capacity: int = SMALL, **options: object) -> VirtualDisk:
        if request.param == "memory":
            disk = VirtualDisk.in_memory(capacity, **options)  # type: ignore[arg-type]
        else:
            path = tmp_path / f"disk{len(made)}.img"
            disk = VirtualDisk.sparse_file(path, capacity, **options)  # type: ignore[arg-type]
        made.append(disk)
        return disk

    yield factory
    for disk in made:
        disk.close()


def tracked(make_disk: DiskFactory, **options: object) -> VirtualDisk:
    disk = make_disk(**options)
    disk.enable_tracking()
    return disk


# -- data ---------------------------------------------------------------------


def test_never_written_reads_zeros(make_disk: DiskFactory) -> None:
    disk = make_disk()
    assert disk.read(0, SMALL) == bytes(SMALL)
    assert disk.read(SMALL, 0) == b""


def test_unaligned_write_across_blocks_reads_back_byte_exact(make_disk: DiskFactory) -> None:
    disk = make_disk()
    data = bytes(range(256)) * 40  # 10240 bytes spanning blocks 0..3
    disk.write(3000, data)
    assert disk.read(3000, len(data)) == data
    assert disk.read(0, 3000) == bytes(3000)
    assert disk.read(2990, 20) == bytes(10) + data[:10]
    disk.write(3001, b"\xaa\xbb")
    assert disk.read(3000, 4) == bytes([0, 0xAA, 0xBB, 3])


def test_identity_and_geometry(make_disk: DiskFactory) -> None:
    disk = make_disk(block_size=16 * KIB, name="data", disk_id="d-1")
    assert (disk.disk_id, disk.name) == ("d-1", "data")
    assert (disk.capacity, disk.block_size, disk.block_count) == (SMALL, 16 * KIB, 4)


def test_write_past_end_is_refused(make_disk: DiskFactory) -> None:
    disk = make_disk(name="os")
    with pytest.raises(DiskRangeError) as caught:
        disk.write(SMALL - 2, b"abc")
    assert str(caught.value) == (
        "write of 3 bytes at offset 65534 ends at 65537, past the end of disk 'os' (65536 bytes)"
    )
    assert disk.read(SMALL - 2, 2) == b"\x00\x00"


def test_read_past_end_and_negative_offset_are_refused(make_disk: DiskFactory) -> None:
    disk = make_disk(name="os")
    with pytest.raises(DiskRangeError, match=r"^read of 2 bytes at offset 65535 ends at 65537,"):
        disk.read(SMALL - 1, 2)
    with pytest.raises(ValueError) as caught:
        disk.read(-1, 1)
    assert str(caught.value) == ("read on disk 'os': offset -1 and length 1 must not be negative")


@pytest.mark.parametrize(
    ("capacity", "block_size", "message"),
    [
        (SMALL, 1000, "block size must be a positive multiple of 512, got 1000"),
        (
            SMALL + 512,
            4096,
            "capacity must be a positive multiple of the block size 4096, got 66048",
        ),
        (0, 4096, "capacity must be a positive multiple of the block size 4096, got 0"),
    ],
)
def test_bad_geometry_is_refused(capacity: int, block_size: int, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        VirtualDisk.in_memory(capacity, block_size=block_size)
    assert str(caught.value) == message


def test_allocated_extents_are_written_blocks_coalesced(make_disk: DiskFactory) -> None:
    disk = make_disk()
    disk.write(4096, bytes(4096))  # zeros still allocate the block
    disk.write(8192 + 100, b"x")
    disk.write(40960, b"y" * 5000)  # blocks 10 and 11
    assert disk.allocated_extents() == [(4096, 8192), (40960, 8192)]


# -- change tracking and cuts -----------------------------------------------------


def test_changed_extents_are_exactly_the_written_blocks_coalesced(make_disk: DiskFactory) -> None:
    disk = tracked(make_disk)
    base = disk.snapshot("c0")
    disk.write(4096, b"a" * 4096)
    disk.write(8192, b"b")
    disk.write(12288 + 4095, b"c")  # last byte of block 3
    disk.write(28672, b"d" * 10)  # block 7
    disk.write(36864 + 4000, b"e" * 200)  # straddles blocks 9 and 10
    cut = disk.snapshot("c1")
    assert cut.incremental
    assert cut.previous_cut_id == "c0"
    assert cut.changed_extents() == [(4096, 12288), (28672, 4096), (36864, 8192)]
    assert cut.changed_bytes == 6 * 4096
    base.release()
    cut.release()


def naive_extents(blocks: set[int], block_size: int) -> list[tuple[int, int]]:
    """Coalesce a set of block numbers one block at a time, the slow obvious way."""
    extents: list[tuple[int, int]] = []
    for block in sorted(blocks):
        if extents and extents[-1][0] + extents[-1][1] == block * block_size:
            extents[-1] = (extents[-1][0], extents[-1][1] + block_size)
        else:
            extents.append((block * block_size, block_size))
    return extents


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2 * 1024 * 1024 - 1), st.integers(1, 20000)), max_size=40))
def test_changed_and_allocated_extents_match_a_naive_model(writes: list[tuple[int, int]]) -> None:
    capacity, block_size = 2 * 1024 * 1024, 512  # 4096 blocks: bitmap words of many bytes
    disk = VirtualDisk.in_memory(capacity, block_size=block_size)
    disk.enable_tracking()
    disk.snapshot("c0").release()
    blocks: set[int] = set()
    for offset, length in writes:
        length = min(length, capacity - offset)
        disk.write(offset, b"w" * length)
        blocks.update(range(offset // block_size, (offset + length - 1) // block_size + 1))
    with disk.snapshot("c1") as cut:
        if len(blocks) * block_size > capacity // 2:
            assert cut.resync_required
        else:
            assert cut.changed_extents() == naive_extents(blocks, block_size)
        assert cut.allocated_extents() == naive_extents(blocks, block_size)


def test_cut_resets_the_changed_set(make_disk: DiskFactory) -> None:
    disk = tracked(make_disk)
    disk.snapshot("c0").release()
    disk.write(0, b"1")
    disk.snapshot("c1").release()
    assert disk.changed_bytes == 0
    disk.write(20480, b"2")
    assert disk.changed_bytes == 4096
    with disk.snapshot("c2") as cut:
        assert cut.changed_extents() == [(20480, 4096)]


def test_snapshot_keeps_content_of_the_cut_after_later_writes(make_disk: DiskFactory) -> None:
    disk = tracked(make_disk)
    disk.write(0, b"A" * 6000)
    before = disk.read(0, SMALL)
    cut = disk.snapshot("c0")
    disk.write(100, b"B" * 50)  # partial overwrite of a preserved block
    disk.write(4096, b"C" * 8192)  # overwrites the tail of the data and a fresh block
    disk.write(SMALL - 10, b"D" * 10)  # a block never written before the cut
    assert cut.read(0, SMALL) == before
    assert cut.read(5990, 20) == b"A" * 10 + bytes(10)
    assert disk.read(5990, 20) == b"C" * 20
    second = disk.snapshot("c1")
    disk.write(0, b"E" * SMALL)
    assert cut.read(0, SMALL) == before
    assert second.read(100, 50) == b"B" * 50
    assert second.read(SMALL - 10, 10) == b"D" * 10
    cut.release()
    second.release()


def test_snapshot_allocated_extents_ignore_blocks_first_written_after_the_cut(
    make_disk: DiskFactory,
) -> None:
    disk = tracked(make_disk)
    disk.write(0, b"x" * 8192)
    cut = disk.snapshot("c0")
    disk.write(8192, b"y")
    disk.write(32768, b"z")
    assert cut.allocated_extents() == [(0, 8192)]
    assert disk.allocated_extents() == [(0, 12288), (32768, 4096)]
    cut.release()


def test_first_cut_is_not_incremental(make_disk: DiskFactory) -> None:
    disk = tracked(make_disk, name="os", disk_id="d-7")
    disk.write(0, b"x")
    cut = disk.snapshot("c0")
    assert (cut.incremental, cut.resync_required, cut.tracking_lost) == (False, False, False)
    assert cut.previous_cut_id is None
    assert cut.tracking_id == "d-7:rct-1"
    assert (
        cut.reason
        == "no previous cut in tracking epoch 1 of disk 'os'; copy allocated_extents() instead"
    )
    with pytest.raises(ChangesUntrusted) as caught:
        cut.changed_extents()
    assert str(caught.value) == f"cut 'c0' is not incremental: {cut.reason}"
    assert cut.allocated_extents() == [(0, 4096)]
    cut.release()


def test_cut_without_tracking_is_not_incremental(make_disk: DiskFactory) -> None:
    disk = make_disk(name="os")
    first = disk.snapshot("c0")
    second = disk.snapshot("c1")
    assert disk.tracking_id is None
    assert second.tracking_id is None
    assert second.reason == "change tracking is not enabled on disk 'os'"
    assert (second.incremental, second.resync_required) == (False, True)
    first.release()
    second.release()


def test_lose_tracking_changes_the_id_and_marks_the_next_cut(make_disk: DiskFactory) -> None:
    disk = tracked(make_disk, name="os", disk_id="d-1")
    disk.snapshot("c0").release()
    disk.write(0, b"before the loss")
    old_id = disk.tracking_id
    disk.lose_tracking()
    assert (old_id, disk.tracking_id, disk.tracking_epoch) == ("d-1:rct-1", "d-1:rct-2", 2)
    disk.write(8192, b"after the loss")
    lost = disk.snapshot("c1")
    assert (lost.incremental, lost.tracking_lost, lost.resync_required) == (False, True, True)
    assert lost.reason == "change tracking was lost"
    with pytest.raises(ChangesUntrusted, match=r"^cut 'c1' is not incremental: change tracking"):
        lost.changed_extents()
    disk.write(16384, b"next")
    with disk.snapshot("c2") as after:
        assert (after.incremental, after.tracking_lost) == (True, False)
        assert after.changed_extents() == [(16384, 4096)]
    lost.release()


def test_unclean_stop_loses_tracking_with_its_reason(make_disk: DiskFactory) -> None:
    disk = tracked(make_disk)
    disk.snapshot("c0").release()
    disk.unclean_stop()
    with disk.snapshot("c1") as cut:
        assert cut.tracking_lost and cut.resync_required
        assert cut.reason == "the disk was stopped uncleanly; change tracking restarted"


def test_disable_then_enable_starts_a_new_epoch(make_disk: DiskFactory) -> None:
    disk = tracked(make_disk)
    disk.snapshot("c0").release()
    disk.disable_tracking()
    disk.write(0, b"untracked")
    assert (disk.tracking_enabled, disk.changed_bytes) == (False, 0)
    disk.enable_tracking()
    disk.enable_tracking()  # idempotent: still epoch 2
    assert disk.tracking_epoch == 2
    with disk.snapshot("c1") as cut:
        assert (cut.incremental, cut.resync_required, cut.previous_cut_id) == (False, True, "c0")


def test_overflow_past_half_the_disk_requires_resync(make_disk: DiskFactory) -> None:
    disk = tracked(make_disk, name="os")
    disk.snapshot("c0").release()
    disk.write(0, b"h" * (SMALL // 2))  # exactly half: still incremental
    with disk.snapshot("c1") as half:
        assert half.incremental
        assert half.changed_extents() == [(0, SMALL // 2)]
    disk.write(0, b"o" * (SMALL // 2 + 1))  # 9 of 16 blocks
    with disk.snapshot("c2") as over:
        assert (over.incremental, over.resync_required, over.tracking_lost) == (False, True, False)
        assert over.reason == (
            "tracked changes (36864 bytes) exceed half the size of disk 'os' (32768 bytes); "
            "resynchronize"
        )
    disk.write(0, b"n")
    with disk.snapshot("c3") as after:
        assert after.changed_extents() == [(0, 4096)]


def test_coarse_tracking_granularity(make_disk: DiskFactory) -> None:
    disk = tracked(make_disk, capacity=1024 * KIB, block_size=64 * KIB)
    disk.snapshot("c0").release()
    disk.write(70000, b"q" * 10)
    with disk.snapshot("c1") as cut:
        assert cut.changed_extents() == [(65536, 65536)]
        assert cut.allocated_extents() == [(65536, 65536)]


def test_duplicate_cut_id_is_refused(make_disk: DiskFactory) -> None:
    disk = tracked(make_disk, name="os")
    disk.snapshot("c0").release()
    with pytest.raises(DuplicateCut) as caught:
        disk.snapshot("c0")
    assert str(caught.value) == "cut 'c0' was already taken on disk 'os'"


def test_release_drops_the_view(make_disk: DiskFactory) -> None:
    disk = tracked(make_disk, name="os")
    cut = disk.snapshot("c0")
    assert disk.open_snapshots == 1
    cut.release()
    cut.release()
    assert cut.released and disk.open_snapshots == 0
    with pytest.raises(SnapshotReleased) as caught:
        cut.read(0, 1)
    assert str(caught.value) == "a snapshot of disk 'os' was released"
    disk.write(0, b"no copy-on-write once released")


# -- digests --------------------------------------------------------------------


def test_digest_is_sha256_of_the_whole_content(make_disk: DiskFactory) -> None:
    disk = make_disk()
    disk.write(5000, b"payload" * 100)
    assert disk.digest() == hashlib.sha256(disk.read(0, SMALL)).digest()
    assert make_disk().digest() == hashlib.sha256(bytes(SMALL)).digest()


def test_memory_and_sparse_disks_with_same_content_have_same_digest(tmp_path: Path) -> None:
    memory = VirtualDisk.in_memory(SMALL)
    with VirtualDisk.sparse_file(tmp_path / "d.img", SMALL, block_size=8 * KIB) as sparse:
        for disk in (memory, sparse):
            disk.write(123, b"same bytes")
            disk.write(50000, b"\x01" * 3000)
        assert memory.digest() == sparse.digest()
        sparse.write(60000, b"!")
        assert memory.digest() != sparse.digest()


def test_snapshot_digest_is_of_the_cut(make_disk: DiskFactory) -> None:
    disk = make_disk()
    disk.write(0, b"cut content")
    expected = hashlib.sha256(disk.read(0, SMALL)).digest()
    with disk.snapshot("c0") as cut:
        disk.write(0, b"later content")
        disk.write(40000, b"more")
        assert cut.digest() == expected
    assert disk.digest() != expected


def test_block_digests_hash_each_block_and_skip_sparse_ones(make_disk: DiskFactory) -> None:
    disk = make_disk()
    disk.write(9000, b"k" * 100)
    with disk.snapshot("c0") as cut:
        digests = list(cut.block_digests(8 * KIB))
        content = cut.read(0, SMALL)
    assert [offset for offset, _ in digests] == list(range(0, SMALL, 8 * KIB))
    expected = [
        hashlib.sha256(content[at : at + 8 * KIB]).digest() for at in range(0, SMALL, 8 * KIB)
    ]
    assert [digest for _, digest in digests] == expected
    assert digests[0][1] == zero_digest(8 * KIB) == hashlib.sha256(bytes(8 * KIB)).digest()
    assert digests[1][1] != zero_digest(8 * KIB)


def test_block_digests_end_with_a_short_block(make_disk: DiskFactory) -> None:
    disk = make_disk()
    disk.write(SMALL - 1, b"\x01")
    with disk.snapshot("c0") as cut:
        digests = list(cut.block_digests(24 * KIB))
        with pytest.raises(ValueError, match=r"^digest block size must be positive, got 0$"):
            cut.block_digests(0)
    assert [offset for offset, _ in digests] == [0, 24 * KIB, 48 * KIB]
    assert digests[0][1] == zero_digest(24 * KIB)
    assert digests[2][1] == hashlib.sha256(bytes(16 * KIB - 1) + b"\x01").digest()


# -- fault switches ----------------------------------------------------------------


def test_corrupt_flips_bytes_without_recording_a_change(make_disk: DiskFactory) -> None:
    disk = tracked(make_disk)
    twin = make_disk()
    for target in (disk, twin):
        target.write(0, b"\x0f\x00\xff")
    cut = disk.snapshot("c0")
    disk.corrupt(1, 2)
    disk.corrupt(20480, 1)  # corrupting a sparse area allocates it
    assert disk.read(0, 3) == b"\x0f\xff\x00"
    assert disk.read(20480, 1) == b"\xff"
    assert cut.read(0, 3) == b"\x0f\x00\xff"
    assert disk.changed_bytes == 0
    assert disk.allocated_extents() == [(0, 4096), (20480, 4096)]
    assert cut.digest() == twin.digest() != disk.digest()
    cut.release()
    with disk.snapshot("c1") as after:
        assert after.changed_extents() == []


def test_read_error_switch_fails_reads_with_eio(make_disk: DiskFactory) -> None:
    disk = make_disk(name="os")
    disk.write(0, b"data")
    cut = disk.snapshot("c0")
    disk.set_read_error(True)
    for read in (disk.read, cut.read):
        with pytest.raises(OSError) as caught:
            read(4096, 10)
        assert caught.value.errno == errno.EIO
        assert caught.value.strerror == "I/O error reading disk 'os' at offset 4096"
    disk.write(8, b"writes still work")
    disk.set_read_error(False)
    assert cut.read(0, 4) == b"data"
    cut.release()


def test_closed_disk_refuses_operations(make_disk: DiskFactory) -> None:
    disk = make_disk(name="os")
    cut = disk.snapshot("c0")
    disk.close()
    disk.close()
    with pytest.raises(DiskClosed, match=r"^disk 'os' is closed$"):
        disk.read(0, 1)
    with pytest.raises(DiskClosed):
        cut.read(0, 1)
    assert cut.released


def test_sparse_file_must_not_exist(tmp_path: Path) -> None:
    path = tmp_path / "taken.img"
    path.write_bytes(b"someone else's data")
    with pytest.raises(FileExistsError):
        VirtualDisk.sparse_file(path, SMALL)
    assert path.read_bytes() == b"someone else's data"


# -- concurrency -------------------------------------------------------------------


def test_cuts_are_consistent_while_another_thread_writes(make_disk: DiskFactory) -> None:
    disk = tracked(make_disk)
    stop = threading.Event()
    progress = threading.Condition()
    writes = [0]

    def writer() -> None:
        while not stop.is_set():
            stamp = (writes[0] + 1).to_bytes(4, "little")
            disk.write(2048, stamp * 2048)  # 8 KiB straddling three blocks in one write
            with progress:
                writes[0] += 1
                progress.notify_all()

    def wait_for_writes(count: int) -> None:
        with progress:
            assert progress.wait_for(lambda: writes[0] >= count, timeout=10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for number in range(100):
            with disk.snapshot(f"c{number}") as cut:
                first = cut.read(2048, 8192)
                assert first == first[:4] * 2048  # never a torn write
                wait_for_writes(writes[0] + 2)  # overwrite the blocks under the open cut
                assert disk.read(2048, 4) != first[:4]
                assert cut.read(2048, 8192) == first
    finally:
        stop.set()
        thread.join()


# -- large sparse disks --------------------------------------------------------------


def test_eight_gib_sparse_disk_with_one_percent_changed_stays_small(tmp_path: Path) -> None:
    capacity = 8 * 1024**3
    path = tmp_path / "big.img"
    stride, chunk = 100 * 64 * KIB, 64 * KIB  # 1% of the disk, as 1311 separate runs
    payload = b"\x5a" * chunk
    tracemalloc.start()
    try:
        with VirtualDisk.sparse_file(path, capacity) as disk:
            disk.enable_tracking()
            disk.snapshot("c0").release()
            for offset in range(0, capacity, stride):
                disk.write(offset, payload)
            with disk.snapshot("c1") as cut:
                extents = cut.changed_extents()
                disk.write(0, b"after")
                assert cut.read(0, 5) == b"\x5a" * 5
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(extents) == len(range(0, capacity, stride)) == 1311
    assert extents[:2] == [(0, chunk), (stride, chunk)]
    assert peak < 4 * 1024**2
    used = os.stat(path).st_blocks * 512
    assert os.stat(path).st_size == capacity
    assert used < 2 * 1311 * chunk
