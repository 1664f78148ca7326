"""The trailer's declared payload read without a pass, and the summary a pass leaves."""

from __future__ import annotations

from pathlib import Path

import pytest
from hrl_testkit import KEY, OTHER_KEY, small_multi_frame_extents, write_hrl

from provider.hrl import HrlReader
from provider.hrl.crypto import FileCipher
from provider.hrl.layout import TRAILER_BODY, TRAILER_SIZE
from provider.hrl.trailer import Trailer

PAYLOAD = sum(len(data) for _offset, data in small_multi_frame_extents())


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "encrypted"])
def test_the_declared_payload_is_the_trailers(tmp_path: Path, key: bytes | None) -> None:
    path = tmp_path / "a.hrl"
    write_hrl(path, small_multi_frame_extents(), key=key)
    with HrlReader(path, key=key) as reader:
        assert reader.declared_payload() == PAYLOAD == 180_100


def test_reading_the_declaration_does_not_disturb_a_pass(tmp_path: Path) -> None:
    path = tmp_path / "a.hrl"
    summary = write_hrl(path, small_multi_frame_extents())
    with HrlReader(path) as reader:
        assert reader.declared_payload() == PAYLOAD
        assert [offset for offset, _data in reader.extent_views()] == [0, 1 << 20, 5 << 20, 9 << 20]
        assert reader.summary == summary


def test_no_summary_before_a_pass_reaches_the_trailer(tmp_path: Path) -> None:
    path = tmp_path / "a.hrl"
    summary = write_hrl(path, small_multi_frame_extents())
    with HrlReader(path) as reader:
        assert reader.summary is None
        views = reader.extent_views()
        next(views)
        assert reader.summary is None
        assert len(list(views)) == 3
        assert reader.summary == summary


def test_a_trailer_with_a_bad_crc_declares_nothing(tmp_path: Path) -> None:
    path = tmp_path / "a.hrl"
    write_hrl(path, small_multi_frame_extents())
    data = bytearray(path.read_bytes())
    data[-TRAILER_SIZE + 10] ^= 0x01  # inside the record count
    path.write_bytes(bytes(data))
    with HrlReader(path) as reader:
        assert reader.declared_payload() is None


def test_a_truncated_file_declares_nothing(tmp_path: Path) -> None:
    path = tmp_path / "a.hrl"
    write_hrl(path, small_multi_frame_extents())
    path.write_bytes(path.read_bytes()[:-1])
    with HrlReader(path) as reader:
        assert reader.declared_payload() is None


def test_an_encrypted_trailer_forged_without_the_key_declares_nothing(tmp_path: Path) -> None:
    path = tmp_path / "a.hrl"
    write_hrl(path, small_multi_frame_extents(), key=KEY)
    data = path.read_bytes()
    _kind, _reserved, frames, records, _payload, digest = TRAILER_BODY.unpack_from(
        data, len(data) - TRAILER_SIZE
    )
    forged = Trailer(frames, records, 1, digest).pack(FileCipher(OTHER_KEY, bytes(16)).trailer_mac)
    path.write_bytes(data[:-TRAILER_SIZE] + forged)
    with HrlReader(path, key=KEY) as reader:
        assert reader.declared_payload() is None
