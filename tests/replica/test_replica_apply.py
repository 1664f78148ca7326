"""Applying HRLs to a replica: byte-for-byte results, idempotence, refusals."""

from __future__ import annotations

import errno
from dataclasses import replace
from pathlib import Path

import pytest

from provider.contracts.transfer import AppliedHrl, Holdings
from provider.errors import (
    HrlCorrupt,
    HrlForeign,
    HrlGap,
    HrlReorder,
    HrlReplay,
    HrlTruncated,
    HrlWrongKey,
    NotFound,
    SrpError,
    TargetFull,
    TargetUnavailable,
    ValidationError,
)
from provider.hrl import ZERO_DIGEST
from provider.replica import ReplicaStore
from provider.replica.durable import pwrite_all
from tests.replica.replica_testkit import (
    CAPACITY,
    DISK,
    ITEM,
    KEY,
    HrlChain,
    SourceDisk,
    build_history,
    disk_ref,
    sha,
    tree_snapshot,
)


@pytest.fixture
def source() -> SourceDisk:
    return SourceDisk()


@pytest.fixture
def chain(tmp_path: Path) -> HrlChain:
    (tmp_path / "hrls").mkdir()
    return HrlChain(tmp_path / "hrls")


@pytest.fixture
def store(tmp_path: Path) -> ReplicaStore:
    return ReplicaStore(tmp_path / "disk", disk_ref())


def store_and_apply(store: ReplicaStore, chain: HrlChain, key: bytes | None = None) -> None:
    for sequence, path in sorted(chain.paths.items()):
        store.store_hrl(sequence, path)
        store.apply(sequence, key)


def test_each_apply_makes_the_image_equal_the_source_at_that_cut(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    build_history(source, chain, cycles=5)
    for sequence, path in sorted(chain.paths.items()):
        store.store_hrl(sequence, path)
        result = store.apply(sequence)
        assert result == AppliedHrl(disk_ref(), sequence, chain_digest(chain, sequence))
        assert store.image_path.read_bytes() == source.cuts[sequence]
    assert store.points() == range(0, 6)


def test_every_retained_point_materialises_the_source_at_its_cut(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    build_history(source, chain, cycles=6, extents_per_cycle=8)
    store_and_apply(store, chain)
    for sequence in range(0, 7):
        with store.open_view(sequence) as view:
            assert view.read(0, CAPACITY) == source.cuts[sequence]
        assert store.point_digest(sequence) == sha(source.cuts[sequence])


def test_encrypted_hrls_apply_with_the_key(tmp_path: Path, source: SourceDisk) -> None:
    (tmp_path / "hrls").mkdir()
    chain = HrlChain(tmp_path / "hrls", key=KEY)
    store = ReplicaStore(tmp_path / "disk", disk_ref())
    build_history(source, chain, cycles=3)
    store_and_apply(store, chain, key=KEY)
    assert store.image_path.read_bytes() == source.cuts[3]


def test_an_extent_larger_than_an_undo_record_round_trips(tmp_path: Path, chain: HrlChain) -> None:
    capacity = 3 * 1024 * 1024 + 123
    source = SourceDisk(capacity)
    store = ReplicaStore(tmp_path / "big", disk_ref(capacity))
    chain.next([source.write(10, source.rng.randbytes(capacity - 20))])
    source.cut()
    chain.next([source.write(5, source.rng.randbytes(2 * 1024 * 1024 + 7))])
    source.cut()
    store_and_apply(store, chain)
    assert store.image_path.read_bytes() == source.cuts[2]
    assert store.point_digest(1) == sha(source.cuts[1])


def test_holdings_track_stored_and_applied_sequences(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    build_history(source, chain, cycles=3)
    assert store.holdings() == Holdings(disk_ref(), 0, ZERO_DIGEST, ())
    for sequence in (1, 2, 3):
        store.store_hrl(sequence, chain.paths[sequence])
    assert store.holdings() == Holdings(disk_ref(), 0, ZERO_DIGEST, (1, 2, 3))
    store.apply(1)
    store.apply(2)
    assert store.holdings() == Holdings(disk_ref(), 2, chain_digest(chain, 2), (3,))
    assert sorted(p.name for p in store.layout.incoming_dir.iterdir()) == [
        "00000000000000000003.hrl"
    ]


def test_applying_the_last_applied_sequence_again_changes_nothing(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    build_history(source, chain, cycles=2)
    store_and_apply(store, chain)
    before = tree_snapshot(store.layout.root)
    store.store_hrl(2, chain.paths[2])  # already applied: a no-op
    assert store.apply(2) == AppliedHrl(disk_ref(), 2, chain_digest(chain, 2))
    assert tree_snapshot(store.layout.root) == before


def test_storing_a_held_sequence_again_keeps_the_first_file(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    build_history(source, chain, cycles=2)
    store.store_hrl(1, chain.paths[1])
    store.store_hrl(1, chain.paths[2])
    assert store.layout.incoming(1).read_bytes() == chain.paths[1].read_bytes()


def test_an_older_sequence_is_refused_as_a_replay(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    build_history(source, chain, cycles=3)
    store_and_apply(store, chain)
    with pytest.raises(HrlReplay) as caught:
        store.apply(2)
    assert caught.value.message == (
        f"HRL 2 of disk {DISK!r} was already applied (last applied is 3)"
    )


class TestRefusalsLeaveTheReplicaUntouched:
    """Every refused HRL leaves every file of the disk exactly as it was.

    The one exception is the refused HRL itself: it is dropped from
    ``incoming/`` so a sound one can be stored under the same sequence.
    """

    @pytest.fixture
    def applied(self, store: ReplicaStore, chain: HrlChain, source: SourceDisk) -> HrlChain:
        build_history(source, chain, cycles=2)
        store_and_apply(store, chain)
        return chain

    def refuse(
        self,
        store: ReplicaStore,
        path: Path,
        sequence: int,
        error: type[SrpError],
        *,
        dropped: bool = True,
    ) -> SrpError:
        store.store_hrl(sequence, path)
        before = tree_snapshot(store.layout.root)
        stored = next(name for name in before if name.startswith("incoming/"))
        with pytest.raises(error) as caught:
            store.apply(sequence)
        after = tree_snapshot(store.layout.root)
        if dropped:
            assert after == {name: data for name, data in before.items() if name != stored}
            assert store.holdings().stored == ()
        else:
            assert after == before
        assert not store.layout.journal.exists()
        return caught.value

    def test_a_flipped_byte(self, store: ReplicaStore, applied: HrlChain, tmp_path: Path) -> None:
        path = applied.next([(100, b"x" * 5000)])
        damaged = bytearray(path.read_bytes())
        damaged[len(damaged) // 2] ^= 0x40
        path.write_bytes(bytes(damaged))
        self.refuse(store, path, 3, HrlCorrupt)

    def test_a_truncated_file(self, store: ReplicaStore, applied: HrlChain) -> None:
        path = applied.next([(100, b"y" * 5000)])
        path.write_bytes(path.read_bytes()[:-10])
        self.refuse(store, path, 3, HrlTruncated)

    def test_a_gap(self, store: ReplicaStore, applied: HrlChain) -> None:
        applied.next([(0, b"a")])
        path = applied.next([(0, b"b")])
        error = self.refuse(store, path, 4, HrlGap)
        assert "HRLs 3..3 are missing" in str(error)

    def test_a_reorder(self, store: ReplicaStore, applied: HrlChain) -> None:
        path, _ = applied.write("fork.hrl", applied.header(3, b"\x01" * 32), [(0, b"c")])
        self.refuse(store, path, 3, HrlReorder)

    def test_another_disk(self, store: ReplicaStore, applied: HrlChain) -> None:
        header = applied.header(3, applied.last_digest, disk_id="disk-9")
        path, _ = applied.write("foreign.hrl", header, [(0, b"d")])
        error = self.refuse(store, path, 3, HrlForeign)
        assert error.message == f"HRL 3 is for item/disk {ITEM}/disk-9, not {ITEM}/{DISK}"

    def test_another_machine_of_the_item_continues_the_chain(
        self, store: ReplicaStore, applied: HrlChain
    ) -> None:
        # After a failback to an alternate location the item protects a new machine.
        header = applied.header(3, applied.last_digest, machine_id="vm-other")
        path, _ = applied.write("moved.hrl", header, [(0, b"d")])
        store.store_hrl(3, path)
        assert store.apply(3).sequence == 3

    def test_a_file_stored_under_another_sequence(
        self, store: ReplicaStore, applied: HrlChain
    ) -> None:
        path = applied.next([(0, b"e")])
        error = self.refuse(store, path, 4, HrlForeign)
        assert error.message == (
            f"the HRL stored as sequence 4 of disk {DISK!r} is HRL 3 by its header"
        )

    def test_an_extent_beyond_the_disk(self, store: ReplicaStore, applied: HrlChain) -> None:
        path = applied.next([(0, b"ok"), (CAPACITY - 2, b"four")])
        error = self.refuse(store, path, 3, HrlForeign)
        assert error.message == (
            f"HRL 3 of disk {DISK!r} writes bytes up to {CAPACITY + 2}, "
            f"beyond the replica's {CAPACITY} bytes"
        )

    def test_an_encrypted_file_without_its_key(
        self, store: ReplicaStore, applied: HrlChain
    ) -> None:
        encrypted = replace(applied, key=KEY)
        path = encrypted.next([(0, b"secret")])
        # The file may be sound: it stays, to be applied with the right key.
        self.refuse(store, path, 3, HrlWrongKey, dropped=False)


def test_applying_a_sequence_never_stored_is_not_found(store: ReplicaStore) -> None:
    with pytest.raises(NotFound) as caught:
        store.apply(1)
    assert caught.value.message == (
        f"HRL 1 of disk {DISK!r} of item {ITEM!r} is not stored on the target"
    )


def test_a_first_apply_needs_the_disk_capacity(tmp_path: Path, chain: HrlChain) -> None:
    store = ReplicaStore(tmp_path / "disk", disk_ref(capacity=0))
    store.store_hrl(1, chain.next([(0, b"z")]))
    with pytest.raises(ValidationError, match="its capacity is unknown"):
        store.apply(1)
    assert not store.image_path.exists()


def test_a_resized_source_disk_is_refused(
    tmp_path: Path, store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    build_history(source, chain, cycles=2)
    store.store_hrl(1, chain.paths[1])
    store.apply(1)
    bigger = ReplicaStore(store.layout.root, disk_ref(capacity=CAPACITY * 2))
    bigger.store_hrl(2, chain.paths[2])
    with pytest.raises(ValidationError, match="resizing a replicated disk is not supported"):
        bigger.apply(2)


@pytest.mark.parametrize(
    ("code", "error"), [(errno.ENOSPC, TargetFull), (errno.EIO, TargetUnavailable)]
)
def test_a_write_failure_mid_apply_rolls_the_image_back(
    store: ReplicaStore,
    chain: HrlChain,
    source: SourceDisk,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    error: type[Exception],
) -> None:
    build_history(source, chain, cycles=3)
    for sequence in (1, 2):
        store.store_hrl(sequence, chain.paths[sequence])
        store.apply(sequence)
    store.store_hrl(3, chain.paths[3])
    real = pwrite_all
    calls = []

    def failing(fd: int, data: bytes, offset: int) -> None:
        calls.append(offset)
        if len(calls) == 3:  # after two extents of HRL 3 reached the image
            raise OSError(code, "injected")
        real(fd, data, offset)

    monkeypatch.setattr("provider.replica.apply.pwrite_all", failing)
    with pytest.raises(error):
        store.apply(3)
    monkeypatch.setattr("provider.replica.apply.pwrite_all", real)
    assert store.image_path.read_bytes() == source.cuts[2]
    assert not store.layout.journal.exists()
    assert store.holdings().applied_sequence == 2
    store.apply(3)
    assert store.image_path.read_bytes() == source.cuts[3]


def chain_digest(chain: HrlChain, sequence: int) -> bytes:
    from provider.hrl import HrlReader

    with HrlReader(chain.paths[sequence], key=chain.key) as reader:
        return reader.verify().digest
