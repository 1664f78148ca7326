"""Read batching (<= 4 MiB, <= 256 extents per call), digest paging, answer checks."""

from __future__ import annotations

import base64

import pytest

from plugins.hyperv import scripts
from plugins.hyperv.client import HyperVClient, RetryPolicy
from plugins.hyperv.sync import (
    DIGEST_PAGE_BLOCKS,
    READ_BATCH_BYTES,
    block_digests,
    parse_extents,
    read_extents,
)
from provider.contracts.replica import ChangeMode, Cut, DiskChanges
from provider.errors import HostileResponse, ValidationError
from provider.model.recovery import Consistency
from tests.plugins.hyperv.hvplugin_testkit import Scripted, ok

MIB = 1 << 20
CAPACITY = 64 * MIB


def cut() -> Cut:
    disk = DiskChanges("vm-1", "d-1", CAPACITY, ChangeMode.FULL)
    return Cut("c1", 1.0, Consistency.CRASH, (disk,))


_CYCLE = bytes(range(251))


def pattern(offset: int, length: int) -> bytes:
    """Byte ``i`` of the disk is ``i % 251``: every slice is recognisable."""
    start = offset % 251
    return (_CYCLE * (length // 251 + 2))[start : start + length]


def data_answer(batch: list[tuple[int, int]]) -> object:
    data = b"".join(pattern(offset, length) for offset, length in batch)
    return ok([{"Data": base64.b64encode(data).decode()}])


def client(transport: Scripted) -> HyperVClient:
    return HyperVClient("hv01", transport, RetryPolicy(1, 0, 0))


def test_long_extents_are_split_and_batches_hold_at_most_4_mib() -> None:
    extents = [(0, 5 * MIB), (5 * MIB + 4096, 4096)]
    batches = [[(0, 4 * MIB)], [(4 * MIB, MIB), (5 * MIB + 4096, 4096)]]
    transport = Scripted(*(data_answer(batch) for batch in batches))  # type: ignore[arg-type]
    got = list(read_extents(client(transport), cut(), "vm-1", "d-1", extents))
    assert [(item.offset, len(item.data)) for item in got] == [
        (0, 4 * MIB),
        (4 * MIB, MIB),
        (5 * MIB + 4096, 4096),
    ]
    assert all(item.data == pattern(item.offset, len(item.data)) for item in got)
    assert transport.scripts == [
        scripts.read_cut_extents("c1", "vm-1", "d-1", batch).text for batch in batches
    ]
    assert max(sum(length for _, length in batch) for batch in batches) == READ_BATCH_BYTES


def test_many_small_extents_are_batched_by_count() -> None:
    extents = [(index * 8192, 512) for index in range(300)]
    batches = [extents[:256], extents[256:]]
    transport = Scripted(*(data_answer(batch) for batch in batches))  # type: ignore[arg-type]
    got = list(read_extents(client(transport), cut(), "vm-1", "d-1", extents))
    assert [(item.offset, item.data) for item in got] == [
        (offset, pattern(offset, length)) for offset, length in extents
    ]
    assert len(transport.scripts) == 2


def test_reads_are_lazy() -> None:
    transport = Scripted(data_answer([(0, 4 * MIB)]))  # type: ignore[arg-type]
    stream = read_extents(client(transport), cut(), "vm-1", "d-1", [(0, 8 * MIB)])
    assert transport.scripts == []
    next(stream)
    assert len(transport.scripts) == 1


def test_short_or_garbage_data_is_refused() -> None:
    short = ok([{"Data": base64.b64encode(b"abc").decode()}])
    with pytest.raises(HostileResponse) as caught:
        list(read_extents(client(Scripted(short)), cut(), "vm-1", "d-1", [(0, 4)]))
    assert str(caught.value) == "hv01: Read-SrpCutExtent: Data holds 3 bytes, expected 4"
    garbage = ok([{"Data": "***"}])
    with pytest.raises(HostileResponse, match=r"^hv01: Read-SrpCutExtent: field 'Data' is not"):
        list(read_extents(client(Scripted(garbage)), cut(), "vm-1", "d-1", [(0, 4)]))


def test_bad_extent_is_refused_before_any_call() -> None:
    with pytest.raises(ValidationError, match=r"^extent \(0, 0\) is not a byte range$"):
        list(read_extents(client(Scripted()), cut(), "vm-1", "d-1", [(0, 0)]))


def test_block_digests_are_paged() -> None:
    block = 4096
    small = Cut(
        "c1",
        1.0,
        Consistency.CRASH,
        (DiskChanges("vm-1", "d-1", (DIGEST_PAGE_BLOCKS + 1) * block, ChangeMode.FULL),),
    )
    pages = [bytes([1]) * 32 * DIGEST_PAGE_BLOCKS, bytes([2]) * 32]
    transport = Scripted(*(ok([{"Digests": base64.b64encode(page).decode()}]) for page in pages))
    got = list(block_digests(client(transport), small, "vm-1", "d-1", block))
    assert len(got) == DIGEST_PAGE_BLOCKS + 1
    assert got[-1].offset == DIGEST_PAGE_BLOCKS * block and got[-1].digest == bytes([2]) * 32
    assert got[0].offset == 0 and got[0].digest == bytes([1]) * 32
    assert transport.scripts == [
        scripts.block_digests("c1", "vm-1", "d-1", block, 0, DIGEST_PAGE_BLOCKS).text,
        scripts.block_digests("c1", "vm-1", "d-1", block, DIGEST_PAGE_BLOCKS * block, 1).text,
    ]


def test_parse_extents() -> None:
    assert parse_extents("0:4096,8192:512", "w") == ((0, 4096), (8192, 512))
    assert parse_extents("", "w") == ()
    with pytest.raises(HostileResponse, match=r"^w: malformed extent '1:-2'$"):
        parse_extents("1:-2", "w")
