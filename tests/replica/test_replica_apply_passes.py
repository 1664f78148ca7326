"""An apply decodes its HRL twice (verify + undo, then write) and trusts no trailer blindly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from provider.errors import HrlCorrupt
from provider.hrl import HrlReader
from provider.hrl.layout import TRAILER_BODY, TRAILER_SIZE
from provider.hrl.trailer import Trailer
from provider.replica import ReplicaStore
from tests.replica.replica_testkit import (
    HrlChain,
    SourceDisk,
    build_history,
    disk_ref,
    image_bytes,
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


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many passes over an HRL's frames each apply made (one entry per pass)."""
    passes: list[int] = []
    original = HrlReader._frames

    def counted(self: HrlReader) -> Iterator[object]:
        passes.append(1)
        return original(self)  # type: ignore[return-value]

    monkeypatch.setattr(HrlReader, "_frames", counted)
    return passes


def test_a_later_apply_decodes_the_file_twice(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk, decodes: list[int]
) -> None:
    first, second = build_history(source, chain, cycles=2)
    store.store_hrl(1, first)
    store.apply(1)
    decodes.clear()
    store.store_hrl(2, second)
    store.apply(2)
    assert len(decodes) == 2
    assert image_bytes(store.layout.image) == source.cuts[2]


def test_the_first_apply_verifies_before_it_creates_the_image(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk, decodes: list[int]
) -> None:
    (first,) = build_history(source, chain, cycles=1)
    store.store_hrl(1, first)
    store.apply(1)
    assert len(decodes) == 3
    assert image_bytes(store.layout.image) == source.cuts[1]


def test_a_trailer_declaring_too_little_is_refused_before_the_extra_bytes(
    store: ReplicaStore, chain: HrlChain, source: SourceDisk
) -> None:
    for sequence, path in enumerate(build_history(source, chain, cycles=2), start=1):
        store.store_hrl(sequence, path)
        store.apply(sequence)
    path = chain.next([(0, b"a" * 3000), (8192, b"b" * 3000)])
    data = path.read_bytes()
    _kind, _reserved, frames, records, _payload, digest = TRAILER_BODY.unpack_from(
        data, len(data) - TRAILER_SIZE
    )
    # A plain file's trailer is only CRC-protected: anyone can rewrite it consistently.
    path.write_bytes(data[:-TRAILER_SIZE] + Trailer(frames, records, 3000, digest).pack(None))
    store.store_hrl(3, path)
    before = tree_snapshot(store.layout.root)
    with pytest.raises(HrlCorrupt) as caught:
        store.apply(3)
    assert caught.value.message == (
        f"HRL {store.layout.incoming(3)}: holds more than the 3000 payload bytes "
        "its trailer declares"
    )
    assert tree_snapshot(store.layout.root) == {
        name: content for name, content in before.items() if not name.startswith("incoming/")
    }
    assert image_bytes(store.layout.image) == source.cuts[2]
