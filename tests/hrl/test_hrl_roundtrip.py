"""Round trips, exact layout and writer behaviour of the HRL format."""

from __future__ import annotations

import hashlib
import random
import struct
import zlib
from pathlib import Path

import pytest
from hrl_testkit import (
    KEY,
    SMALL_FRAME,
    make_header,
    merged,
    read_all,
    small_multi_frame_extents,
    small_plain_extents,
    verify,
    write_hrl,
)

from provider.errors import ValidationError
from provider.hrl import FORMAT_VERSION, Extent, HrlReader, HrlSummary, HrlWriter

# mode: (key, compress)
MODES: dict[str, tuple[bytes | None, bool]] = {
    "plain": (None, False),
    "compressed": (None, True),
    "encrypted": (KEY, True),
    "encrypted-uncompressed": (KEY, False),
}


@pytest.mark.parametrize("mode", MODES)
def test_round_trip_returns_every_extent_in_order(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "a.hrl"
    extents = small_multi_frame_extents()
    key, compress = MODES[mode]
    summary = write_hrl(path, extents, key=key, compress=compress)
    assert [(e.offset, e.data) for e in read_all(path, key=key)] == extents
    assert summary == HrlSummary(
        digest=hashlib.sha256(path.read_bytes()[:-84]).digest(),
        size=path.stat().st_size,
        extents=4,
        payload_bytes=180_100,
        frames=3,
    )
    assert verify(path, key=key) == summary


@pytest.mark.parametrize("mode", MODES)
def test_header_fields_come_back_exactly(tmp_path: Path, mode: str) -> None:
    key, compress = MODES[mode]
    header = make_header(
        encrypted=key is not None,
        item_id="élément-ü",
        sequence=2**64 - 1,
        from_cut="cut-41",
        to_cut="cut-42",
        block_size=512,
        consistency="app",
        created_at=1_712_345_678.123456,
        prev_digest=bytes(range(32)),
    )
    path = tmp_path / "h.hrl"
    write_hrl(path, small_plain_extents(), header=header, key=key, compress=compress)
    with HrlReader(path, key=key) as reader:
        assert reader.header == header
        assert (reader.encrypted, reader.compressed) == (key is not None, compress)
        assert reader.frame_size == SMALL_FRAME


def test_empty_hrl_has_no_frames_and_a_good_trailer(tmp_path: Path) -> None:
    path = tmp_path / "empty.hrl"
    summary = write_hrl(path, [], key=KEY)
    assert read_all(path, key=KEY) == []
    assert (summary.frames, summary.extents, summary.payload_bytes) == (0, 0, 0)
    assert summary.size == path.stat().st_size
    assert verify(path, key=KEY) == summary


def test_extent_larger_than_a_frame_is_split_into_records(tmp_path: Path) -> None:
    path = tmp_path / "big.hrl"
    data = random.Random(1).randbytes(3 * SMALL_FRAME + 1234)
    summary = write_hrl(path, [(8192, data)], key=KEY)
    extents = read_all(path, key=KEY)
    assert [e.length for e in extents] == [SMALL_FRAME - 12] * 3 + [1234 + 3 * 12]
    assert merged((e.offset, e.data) for e in extents) == [(8192, data)]
    assert (summary.frames, summary.extents, summary.payload_bytes) == (4, 4, len(data))


def test_big_extent_first_fills_the_open_frame(tmp_path: Path) -> None:
    path = tmp_path / "fill.hrl"
    big = bytes(SMALL_FRAME * 2)
    write_hrl(path, [(0, b"head"), (100, big)])
    extents = read_all(path)
    first_room = SMALL_FRAME - 2 * 12 - 4
    assert [(e.offset, e.length) for e in extents[:2]] == [(0, 4), (100, first_room)]
    assert merged((e.offset, e.data) for e in extents[1:]) == [(100, big)]


def test_extents_that_fit_a_frame_are_never_split(tmp_path: Path) -> None:
    path = tmp_path / "whole.hrl"
    extents = [(i * 65536, bytes([i]) * 40_000) for i in range(5)]
    summary = write_hrl(path, extents)
    assert [(e.offset, e.data) for e in read_all(path)] == extents
    assert (summary.frames, summary.extents) == (5, 5)


def test_many_tiny_extents(tmp_path: Path) -> None:
    path = tmp_path / "tiny.hrl"
    extents = [(i * 4096, i.to_bytes(3, "little")) for i in range(20_000)]
    summary = write_hrl(path, extents, key=KEY)
    assert [(e.offset, e.data) for e in read_all(path, key=KEY)] == extents
    # 15 bytes per record, 65536 per frame: 4369 records fill a frame.
    assert (summary.frames, summary.extents, summary.payload_bytes) == (5, 20_000, 60_000)


def test_memoryview_and_bytearray_input(tmp_path: Path) -> None:
    path = tmp_path / "views.hrl"
    source = bytearray(b"0123456789" * 1000)
    with HrlWriter(path, make_header()) as writer:
        writer.add(10, memoryview(source)[5:505])
        writer.add(20_000, source)
        writer.add(30_000, memoryview(struct.pack("<4I", 1, 2, 3, 4)).cast("I"))
    assert [(e.offset, e.data) for e in read_all(path)] == [
        (10, bytes(source[5:505])),
        (20_000, bytes(source)),
        (30_000, struct.pack("<4I", 1, 2, 3, 4)),
    ]


def test_empty_add_writes_no_record(tmp_path: Path) -> None:
    path = tmp_path / "noop.hrl"
    summary = write_hrl(path, [(0, b""), (5, b"x")])
    assert read_all(path) == [Extent(5, b"x")]
    assert summary.extents == 1


def test_incompressible_frame_is_stored_raw(tmp_path: Path) -> None:
    path = tmp_path / "noise.hrl"
    noise = random.Random(3).randbytes(50_000)
    write_hrl(path, [(0, noise)], compress=True)
    header_size = 150  # this test header's prelude, body, key check and CRC32
    assert path.stat().st_size == header_size + 28 + 12 + len(noise) + 84
    assert path.read_bytes()[header_size + 1] == 0  # frame flags: not zstd


def _text(value: str) -> bytes:
    encoded = value.encode()
    return struct.pack("<H", len(encoded)) + encoded


def test_plain_file_matches_the_documented_layout_byte_for_byte(tmp_path: Path) -> None:
    """Rebuilds the file from docs/hrl-format.md, independently of the writer."""
    path = tmp_path / "spec.hrl"
    extents = small_plain_extents()
    write_hrl(path, extents, compress=False)
    ids = _text("item-7") + _text("vm-web-01") + _text("disk-0") + struct.pack("<Q", 1)
    cuts = _text("") + _text("cut-0001") + struct.pack("<IBd", 4096, 0, 1_700_000_000.25)
    body = ids + cuts + _text("") + bytes(32) + struct.pack("<I", SMALL_FRAME) + bytes(16)
    header = b"\x89HRL\r\n\x1a\n" + struct.pack("<HHI", 1, 0, len(body)) + body + bytes(16)
    header += struct.pack("<I", zlib.crc32(header))
    raw = b"".join(struct.pack("<QI", offset, len(data)) + data for offset, data in extents)
    frame = struct.pack("<cBHIIII", b"F", 0, 0, 0, 3, len(raw), len(raw))
    frame += struct.pack("<I", zlib.crc32(raw))
    frame += struct.pack("<I", zlib.crc32(frame)) + raw
    digest = hashlib.sha256(header + frame).digest()
    trailer = struct.pack("<c3sIQQ32s", b"T", bytes(3), 1, 3, 72, digest) + bytes(16)
    trailer += struct.pack("<I", zlib.crc32(trailer)) + b"\x89END\r\n\x1a\n"
    assert path.read_bytes() == header + frame + trailer
    assert FORMAT_VERSION == 1


def test_writer_leaves_only_the_final_file(tmp_path: Path) -> None:
    path = tmp_path / "final.hrl"
    with HrlWriter(path, make_header()) as writer:
        writer.add(0, b"data")
        assert not path.exists()
        assert len(list(tmp_path.iterdir())) == 1  # the temporary file
    assert list(tmp_path.iterdir()) == [path]


def test_exception_inside_the_block_discards_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.hrl"
    with pytest.raises(RuntimeError, match="source vanished"), HrlWriter(path, make_header()) as w:
        w.add(0, b"data" * 100_000)
        raise RuntimeError("source vanished")
    assert list(tmp_path.iterdir()) == []


def test_close_is_idempotent_and_add_after_close_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "closed.hrl"
    writer = HrlWriter(path, make_header())
    writer.add(0, b"x")
    assert writer.close() == writer.close()
    with pytest.raises(ValidationError) as caught:
        writer.add(1, b"y")
    assert str(caught.value) == f"HRL {path}: the writer is already closed or aborted"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"frame_size": 65535}, "HRL frame size 65535 is outside [65536, 67108864]"),
        ({"frame_size": (64 << 20) + 1}, "HRL frame size 67108865 is outside [65536, 67108864]"),
        ({"level": 0}, "HRL zstd level 0 is outside [1, 22]"),
        ({"key": b"short"}, "HRL key must be 32 bytes (AES-256), got 5"),
        ({"key": KEY}, "HRL header: key_id must name the key exactly when a key is given"),
    ],
)
def test_writer_refuses_bad_options(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        HrlWriter(tmp_path / "x.hrl", make_header(), **options)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert list(tmp_path.iterdir()) == []


def test_key_id_without_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="key_id must name the key"):
        HrlWriter(tmp_path / "x.hrl", make_header(encrypted=True))


def test_negative_offset_is_refused(tmp_path: Path) -> None:
    with HrlWriter(tmp_path / "x.hrl", make_header()) as writer:
        with pytest.raises(ValidationError) as caught:
            writer.add(-1, b"x")
        assert str(caught.value) == f"HRL {tmp_path / 'x.hrl'}: extent at -1 is outside a u64 disk"
        with pytest.raises(ValidationError):
            writer.add(2**64 - 1, b"xy")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"item_id": ""}, "HRL header: item_id must not be empty"),
        ({"sequence": 0}, "HRL header: sequence 0 is outside [1, 18446744073709551615]"),
        ({"consistency": "fuzzy"}, "HRL header: consistency 'fuzzy' is not 'crash' or 'app'"),
        ({"prev_digest": b"\x00"}, "HRL header: prev_digest must be 32 bytes, not 1"),
        ({"created_at": float("nan")}, "HRL header: created_at nan is not a finite time"),
        ({"to_cut": "c" * 1025}, "HRL header: to_cut is over 1024 bytes of UTF-8"),
        ({"version": 2}, "HRL header: version 2: only format version 1 is written"),
    ],
)
def test_header_refuses_bad_values(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_header(**changes)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_reader_passes_can_repeat(tmp_path: Path) -> None:
    path = tmp_path / "twice.hrl"
    summary = write_hrl(path, small_multi_frame_extents(), key=KEY)
    with HrlReader(path, key=KEY) as reader:
        assert reader.verify() == summary
        assert len(list(reader.extents())) == 4
        assert reader.verify() == summary
