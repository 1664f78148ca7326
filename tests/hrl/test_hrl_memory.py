"""Writing and reading a 64 MiB HRL keeps memory at a few frame sizes."""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from hrl_testkit import KEY, make_header

from provider.hrl import HrlReader, HrlWriter

MIB = 1 << 20
TOTAL = 64 * MIB
LIMIT = 16 * MIB
# Allocated before tracing starts; every extent is a view into it, so the
# traced peak is the writer's and reader's own memory.
BLOCK = random.Random(11).randbytes(MIB)
TEXT = (b"log line: replication cycle ok; " * 40_000)[:MIB]


def _peak(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _write(path: Path) -> None:
    view, text = memoryview(BLOCK), memoryview(TEXT)
    with HrlWriter(path, make_header(encrypted=True), key=KEY) as writer:
        for chunk in range(TOTAL // MIB):
            source = view if chunk % 2 else text
            for start in range(0, MIB, 48 * 1024):
                writer.add(chunk * MIB + start, source[start : start + 48 * 1024])


def _read(path: Path) -> int:
    total = 0
    with HrlReader(path, key=KEY) as reader:
        for extent in reader.extents():
            total += extent.length
    return total


def test_write_then_read_64_mib_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.hrl"
    assert _peak(lambda: _write(path)) < LIMIT
    totals: list[int] = []
    assert _peak(lambda: totals.append(_read(path))) < LIMIT
    assert totals == [TOTAL]
    with HrlReader(path, key=KEY) as reader:
        assert _peak(reader.verify) < LIMIT
