"""Every damaged, truncated, foreign-keyed or tampered HRL is refused."""

from __future__ import annotations

import hashlib
import struct
import tempfile
import zlib
from pathlib import Path

import pytest
import zstandard
from hrl_testkit import (
    KEY,
    OTHER_KEY,
    make_header,
    small_multi_frame_extents,
    small_plain_extents,
    verify,
    write_hrl,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from provider.errors import (
    HrlBadMagic,
    HrlBadVersion,
    HrlCorrupt,
    HrlError,
    HrlTruncated,
    HrlWrongKey,
    NotFound,
)
from provider.hrl import HrlReader

DAMAGED = "the file was damaged in transit or at rest; discard it and ship the cycle again"
KEY_HINT = "fetch the key with id 'vault-key-1' from the vault and pass it to the reader"
TRAILER = 84

# (key, compress, extents) for the small files cut and flipped at every byte.
SMALL_FILES = {
    "multi-frame-encrypted": (KEY, True, small_multi_frame_extents()),
    "multi-frame-compressed": (None, True, small_multi_frame_extents()),
    "plain": (None, False, small_plain_extents()),
    "plain-encrypted": (KEY, False, small_plain_extents()),
    "empty-encrypted": (KEY, True, []),
}


def _header_size(data: bytes) -> int:
    body_length: int = struct.unpack_from("<I", data, 12)[0]
    return 16 + body_length + 20


def _frame_spans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each frame, walked from the documented layout."""
    spans, position = [], _header_size(data)
    while data[position : position + 1] == b"F":
        stored = struct.unpack_from("<I", data, position + 16)[0]
        spans.append((position, position + 28 + stored))
        position += 28 + stored
    return spans


def _write_small(directory: Path, name: str) -> Path:
    key, compress, extents = SMALL_FILES[name]
    path = directory / f"{name}.hrl"
    write_hrl(path, extents, key=key, compress=compress)
    return path


def _expected_flip_errors(data: bytes, position: int) -> tuple[type[HrlError], ...]:
    if position < 8:
        return (HrlBadMagic,)
    if position < 10:
        return (HrlBadVersion,)
    if 12 <= position < 16:  # body length: a longer claim may run off the end
        return (HrlCorrupt, HrlTruncated)
    return (HrlCorrupt,)


@pytest.mark.parametrize("name", SMALL_FILES)
def test_truncation_at_every_byte_is_detected(tmp_path: Path, name: str) -> None:
    path = _write_small(tmp_path, name)
    key = SMALL_FILES[name][0]
    whole = path.read_bytes()
    cut = tmp_path / "cut.hrl"
    for size in range(len(whole)):
        cut.write_bytes(whole[:size])
        with pytest.raises(HrlTruncated):
            verify(cut, key=key)


def test_truncation_exactly_at_a_frame_boundary_names_the_missing_trailer(tmp_path: Path) -> None:
    path = _write_small(tmp_path, "multi-frame-encrypted")
    data = path.read_bytes()
    end = _frame_spans(data)[1][1]
    path.write_bytes(data[:end])
    with pytest.raises(HrlTruncated) as caught:
        verify(path, key=KEY)
    assert str(caught.value) == (
        f"HRL {path}: file ends after 2 frame(s) at byte {end}, without a trailer "
        "(the copy is incomplete; transfer the file again)"
    )


@pytest.mark.parametrize("name", SMALL_FILES)
def test_every_single_byte_flip_is_detected(tmp_path: Path, name: str) -> None:
    path = _write_small(tmp_path, name)
    key = SMALL_FILES[name][0]
    whole = path.read_bytes()
    flipped = tmp_path / "flipped.hrl"
    for position in range(len(whole)):
        for mask in (0x01, 0xFF):
            damaged = bytearray(whole)
            damaged[position] ^= mask
            flipped.write_bytes(damaged)
            with pytest.raises(_expected_flip_errors(whole, position)):
                verify(flipped, key=key)


@settings(max_examples=150, deadline=None)
@given(
    extents=st.lists(
        st.tuples(st.integers(0, 2**40), st.binary(min_size=1, max_size=3000)), max_size=12
    ),
    encrypted=st.booleans(),
    compress=st.booleans(),
    data=st.data(),
)
def test_random_byte_flip_is_always_detected(
    extents: list[tuple[int, bytes]], encrypted: bool, compress: bool, data: st.DataObject
) -> None:
    key = KEY if encrypted else None
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "r.hrl"
        write_hrl(path, extents, key=key, compress=compress)
        whole = bytearray(path.read_bytes())
        position = data.draw(st.integers(0, len(whole) - 1), label="position")
        whole[position] ^= data.draw(st.integers(1, 255), label="mask")
        path.write_bytes(whole)
        with pytest.raises(_expected_flip_errors(bytes(whole), position)):
            verify(path, key=key)


def test_bad_magic(tmp_path: Path) -> None:
    path = tmp_path / "zip.hrl"
    path.write_bytes(b"PK\x03\x04" + bytes(200))
    with pytest.raises(HrlBadMagic) as caught:
        HrlReader(path)
    assert str(caught.value) == (
        f"HRL {path}: does not start with the HRL magic (not an srp HRL, or mangled by "
        "a text-mode transfer; transfer it again in binary)"
    )


def test_text_mode_line_ending_conversion_breaks_the_magic(tmp_path: Path) -> None:
    path = _write_small(tmp_path, "plain")
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n"))
    with pytest.raises(HrlBadMagic):
        HrlReader(path)


def test_unknown_version(tmp_path: Path) -> None:
    path = _write_small(tmp_path, "plain")
    data = bytearray(path.read_bytes())
    data[8:10] = struct.pack("<H", 2)
    path.write_bytes(data)
    with pytest.raises(HrlBadVersion) as caught:
        HrlReader(path)
    assert str(caught.value) == (
        f"HRL {path}: format version 2, this reader knows version 1 (the file was written "
        "by another srp release; read it with a matching srp)"
    )


def test_missing_key_is_reported_at_open(tmp_path: Path) -> None:
    path = _write_small(tmp_path, "multi-frame-encrypted")
    with pytest.raises(HrlWrongKey) as caught:
        HrlReader(path)
    assert str(caught.value) == f"HRL {path}: is encrypted and no key was given ({KEY_HINT})"


def test_wrong_key_is_reported_at_open_before_any_frame(tmp_path: Path) -> None:
    path = _write_small(tmp_path, "multi-frame-encrypted")
    with pytest.raises(HrlWrongKey) as caught:
        HrlReader(path, key=OTHER_KEY)
    assert str(caught.value) == (
        f"HRL {path}: was encrypted with another key than the one given (key check mismatch) "
        f"({KEY_HINT})"
    )


def test_flipped_byte_in_an_encrypted_frame_is_corruption_not_a_wrong_key(tmp_path: Path) -> None:
    path = _write_small(tmp_path, "multi-frame-encrypted")
    data = bytearray(path.read_bytes())
    start, end = _frame_spans(bytes(data))[1]
    data[(start + 28 + end) // 2] ^= 0x10
    path.write_bytes(data)
    with pytest.raises(HrlCorrupt) as caught:
        verify(path, key=KEY)
    assert str(caught.value) == f"HRL {path}: frame 1 checksum mismatch ({DAMAGED})"


def _recompute_frame_crcs(data: bytearray, start: int, end: int) -> None:
    data[start + 20 : start + 24] = struct.pack("<I", zlib.crc32(data[start + 28 : end]))
    data[start + 24 : start + 28] = struct.pack("<I", zlib.crc32(data[start : start + 24]))


def test_tampered_frame_with_a_recomputed_checksum_fails_authentication(tmp_path: Path) -> None:
    path = _write_small(tmp_path, "multi-frame-encrypted")
    data = bytearray(path.read_bytes())
    start, end = _frame_spans(bytes(data))[0]
    data[start + 30] ^= 0x01
    _recompute_frame_crcs(data, start, end)
    path.write_bytes(data)
    with pytest.raises(HrlWrongKey) as caught:
        verify(path, key=KEY)
    assert str(caught.value) == (
        f"HRL {path}: frame 0 has a good checksum but does not authenticate with the given "
        f"key (wrong key, or the frame was rewritten with a new checksum) ({KEY_HINT})"
    )


def test_frame_moved_from_another_file_fails_authentication(tmp_path: Path) -> None:
    first = _write_small(tmp_path, "multi-frame-encrypted")
    second = tmp_path / "second.hrl"
    write_hrl(second, small_multi_frame_extents(), key=KEY)
    ours, theirs = bytearray(first.read_bytes()), second.read_bytes()
    (start, end), (other_start, other_end) = _frame_spans(bytes(ours))[0], _frame_spans(theirs)[0]
    ours[start:end] = theirs[other_start:other_end]
    first.write_bytes(ours)
    with pytest.raises(HrlWrongKey, match="frame 0 has a good checksum"):
        verify(first, key=KEY)


def test_swapped_frames_are_detected(tmp_path: Path) -> None:
    path = _write_small(tmp_path, "multi-frame-compressed")
    data = path.read_bytes()
    (a_start, a_end), (b_start, b_end) = _frame_spans(data)[:2]
    path.write_bytes(data[:a_start] + data[b_start:b_end] + data[a_start:a_end] + data[b_end:])
    with pytest.raises(HrlCorrupt) as caught:
        verify(path)
    assert str(caught.value) == (
        f"HRL {path}: frame 0: carries index 1 (frames moved or reordered) ({DAMAGED})"
    )


def _drop_last_frame_and_forge_trailer(data: bytes) -> bytes:
    """What an attacker without the key can do: cut a frame, redo every CRC and digest."""
    start, _end = _frame_spans(data)[-1]
    kept = data[:start]
    frames, records, payload = struct.unpack_from("<IQQ", data, len(data) - TRAILER + 4)
    body = struct.pack(
        "<c3sIQQ32s", b"T", bytes(3), frames - 1, records - 1, payload - 100,
        hashlib.sha256(kept).digest(),
    )  # fmt: skip
    mac = data[-TRAILER + 56 : -TRAILER + 72]
    return kept + body + mac + struct.pack("<I", zlib.crc32(body + mac)) + data[-8:]


def test_dropped_frame_with_forged_trailer_is_caught_by_the_trailer_mac(tmp_path: Path) -> None:
    path = _write_small(tmp_path, "multi-frame-encrypted")
    path.write_bytes(_drop_last_frame_and_forge_trailer(path.read_bytes()))
    with pytest.raises(HrlCorrupt) as caught:
        verify(path, key=KEY)
    assert str(caught.value) == (
        f"HRL {path}: trailer MAC does not authenticate the file digest ({DAMAGED})"
    )


def test_trailer_counts_must_match_the_frames(tmp_path: Path) -> None:
    path = _write_small(tmp_path, "multi-frame-compressed")
    data = bytearray(path.read_bytes())
    position = len(data) - TRAILER
    data[position + 8 : position + 16] = struct.pack("<Q", 5)
    data[position + 72 : position + 76] = struct.pack(
        "<I", zlib.crc32(data[position : position + 72])
    )
    path.write_bytes(data)
    with pytest.raises(HrlCorrupt) as caught:
        verify(path)
    assert str(caught.value) == (
        f"HRL {path}: trailer says 3 frames, 5 records, 180100 bytes, the file holds "
        f"3 frames, 4 records, 180100 bytes ({DAMAGED})"
    )


def test_bytes_after_the_trailer_are_refused(tmp_path: Path) -> None:
    path = _write_small(tmp_path, "plain")
    size = path.stat().st_size
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(HrlCorrupt) as caught:
        verify(path)
    assert str(caught.value) == (
        f"HRL {path}: unexpected bytes after the trailer at byte {size} ({DAMAGED})"
    )


def test_extents_stop_at_the_first_bad_frame(tmp_path: Path) -> None:
    path = _write_small(tmp_path, "multi-frame-encrypted")
    data = bytearray(path.read_bytes())
    start, _end = _frame_spans(bytes(data))[1]
    data[start + 29] ^= 0x01
    path.write_bytes(data)
    seen = []
    with HrlReader(path, key=KEY) as reader, pytest.raises(HrlCorrupt):
        for extent in reader.extents():
            seen.append(extent.offset)
    assert seen == [0]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as caught:
        HrlReader(tmp_path / "nope.hrl")
    assert str(caught.value) == (
        f"HRL {tmp_path / 'nope.hrl'}: no such file (check the path and the transfer)"
    )


def test_plain_file_read_with_a_key_is_still_read(tmp_path: Path) -> None:
    path = _write_small(tmp_path, "plain")
    with HrlReader(path, key=KEY) as reader:
        assert not reader.encrypted
        assert reader.verify().extents == 3


def test_header_of_wrong_encrypted_flag_is_corrupt(tmp_path: Path) -> None:
    header = make_header(encrypted=True)
    path = tmp_path / "flag.hrl"
    write_hrl(path, [], key=KEY, header=header)
    data = bytearray(path.read_bytes())
    data[10] &= 0xFD  # clear the encrypted flag, then make the header CRC agree
    end = _header_size(bytes(data))
    data[end - 4 : end] = struct.pack("<I", zlib.crc32(data[: end - 4]))
    path.write_bytes(data)
    with pytest.raises(HrlCorrupt) as caught:
        HrlReader(path)
    assert str(caught.value) == (
        f"HRL {path}: the encrypted flag and the key id disagree ({DAMAGED})"
    )


def test_frame_spliced_from_another_plain_file_breaks_the_file_digest(tmp_path: Path) -> None:
    first, second = tmp_path / "first.hrl", tmp_path / "second.hrl"
    write_hrl(first, [(0, b"a" * 70_000), (1 << 20, b"tail")], compress=False)
    write_hrl(second, [(0, b"b" * 70_000), (1 << 20, b"tail")], compress=False)
    ours, theirs = bytearray(first.read_bytes()), second.read_bytes()
    (start, end), (other_start, other_end) = _frame_spans(bytes(ours))[0], _frame_spans(theirs)[0]
    ours[start:end] = theirs[other_start:other_end]
    first.write_bytes(ours)
    with pytest.raises(HrlCorrupt) as caught:
        verify(first)
    assert str(caught.value) == f"HRL {first}: file digest mismatch ({DAMAGED})"


def test_malformed_records_behind_good_checksums_are_corrupt(tmp_path: Path) -> None:
    """A buggy or hostile writer: checksums fine, a record length runs off the frame."""
    path = _write_small(tmp_path, "plain")
    data = bytearray(path.read_bytes())
    start, end = _frame_spans(bytes(data))[0]
    data[start + 28 + 8 : start + 28 + 12] = struct.pack("<I", 10_000)
    _recompute_frame_crcs(data, start, end)
    path.write_bytes(data)
    with pytest.raises(HrlCorrupt) as caught:
        verify(path)
    assert str(caught.value) == (
        f"HRL {path}: frame 0: record of length 10000 does not fit the frame ({DAMAGED})"
    )


def test_zstd_frame_claiming_another_size_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "z.hrl"
    write_hrl(path, [(0, b"A" * 1000)], compress=True)
    data = bytearray(path.read_bytes())
    start, end = _frame_spans(bytes(data))[0]
    raw_length = struct.unpack_from("<I", data, start + 12)[0]
    packed = zstandard.ZstdCompressor().compress(b"B" * (raw_length - 1))
    data[start + 16 : start + 20] = struct.pack("<I", len(packed))
    data[start + 28 : end] = packed
    _recompute_frame_crcs(data, start, start + 28 + len(packed))
    path.write_bytes(data)
    with pytest.raises(HrlCorrupt) as caught:
        verify(path)
    assert str(caught.value) == f"HRL {path}: frame 0 decompresses to a wrong size ({DAMAGED})"
