"""Property tests: any extent list survives a write and a read unchanged."""

from __future__ import annotations

import operator
import tempfile
from pathlib import Path

from hrl_testkit import KEY, read_all, verify, write_hrl
from hypothesis import given, settings
from hypothesis import strategies as st

from provider.hrl import Extent

extent_lists = st.lists(
    st.tuples(
        st.integers(0, 2**64 - 200_000),
        st.one_of(
            st.binary(min_size=1, max_size=2000),
            # Long runs: extents over a frame, split into several records.
            st.builds(operator.mul, st.binary(min_size=1, max_size=4), st.integers(1, 40_000)),
        ),
    ),
    max_size=40,
)


def regrouped(records: list[Extent], lengths: list[int]) -> list[tuple[int, bytes]]:
    """Join the records of each written extent; an extent over a frame is split.

    Each record must continue the previous one exactly, so this also checks
    the split offsets.
    """
    out: list[tuple[int, bytes]] = []
    stream = iter(records)
    for length in lengths:
        first = next(stream)
        data = first.data
        while len(data) < length:
            record = next(stream)
            assert record.offset == first.offset + len(data)
            data += record.data
        out.append((first.offset, data))
    assert next(stream, None) is None
    return out


@settings(max_examples=120, deadline=None)
@given(extents=extent_lists, encrypted=st.booleans(), compress=st.booleans())
def test_round_trip_of_arbitrary_extents(
    extents: list[tuple[int, bytes]], encrypted: bool, compress: bool
) -> None:
    key = KEY if encrypted else None
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "p.hrl"
        summary = write_hrl(path, extents, key=key, compress=compress)
        records = read_all(path, key=key)
        assert regrouped(records, [len(data) for _offset, data in extents]) == extents
        assert verify(path, key=key) == summary
        assert summary.payload_bytes == sum(len(data) for _offset, data in extents)
        assert summary.extents == len(records)
        assert summary.size == path.stat().st_size
