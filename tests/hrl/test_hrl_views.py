"""Zero-copy extent views: the same bytes and the same checks as ``extents()``."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hrl_testkit import KEY, read_all, small_multi_frame_extents, small_plain_extents, write_hrl

from provider.errors import HrlCorrupt, HrlTruncated
from provider.hrl import HrlReader

MODES: dict[str, tuple[bytes | None, bool]] = {
    "plain": (None, False),
    "compressed": (None, True),
    "encrypted": (KEY, True),
    "encrypted-uncompressed": (KEY, False),
}


def views(path: Path, key: bytes | None) -> list[tuple[int, memoryview]]:
    with HrlReader(path, key=key) as reader:
        return list(reader.extent_views())


def second_frame_start(data: bytes) -> int:
    header = 16 + struct.unpack_from("<I", data, 12)[0] + 20
    first_stored = struct.unpack_from("<I", data, header + 16)[0]
    return header + 28 + first_stored


@pytest.mark.parametrize("mode", MODES)
def test_views_hold_exactly_what_extents_hold(tmp_path: Path, mode: str) -> None:
    key, compress = MODES[mode]
    path = tmp_path / "a.hrl"
    write_hrl(path, small_multi_frame_extents() + small_plain_extents(), key=key, compress=compress)
    seen = views(path, key)
    assert [(offset, bytes(data)) for offset, data in seen] == [
        (extent.offset, extent.data) for extent in read_all(path, key=key)
    ]
    assert all(isinstance(data, memoryview) and data.readonly for _offset, data in seen)


def test_views_stop_at_the_first_bad_frame(tmp_path: Path) -> None:
    path = tmp_path / "a.hrl"
    write_hrl(path, small_multi_frame_extents(), key=KEY)
    data = bytearray(path.read_bytes())
    data[second_frame_start(bytes(data)) + 29] ^= 0x01
    path.write_bytes(bytes(data))
    seen = []
    with HrlReader(path, key=KEY) as reader, pytest.raises(HrlCorrupt):
        for offset, _data in reader.extent_views():
            seen.append(offset)
    assert seen == [0]


def test_views_check_the_trailer_after_the_last_frame(tmp_path: Path) -> None:
    path = tmp_path / "a.hrl"
    write_hrl(path, small_multi_frame_extents(), key=KEY)
    path.write_bytes(path.read_bytes()[:-10])
    with HrlReader(path, key=KEY) as reader, pytest.raises(HrlTruncated):
        for _view in reader.extent_views():
            pass
