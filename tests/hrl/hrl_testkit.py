"""Shared builders for the HRL tests (imported by name: tests/hrl is on sys.path)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from provider.hrl import ZERO_DIGEST, Extent, HrlHeader, HrlReader, HrlSummary, HrlWriter

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SMALL_FRAME = 64 * 1024

BASE_HEADER = HrlHeader(
    item_id="item-7",
    machine_id="vm-web-01",
    disk_id="disk-0",
    sequence=1,
    from_cut="",
    to_cut="cut-0001",
    block_size=4096,
    consistency="crash",
    created_at=1_700_000_000.25,
    prev_digest=ZERO_DIGEST,
)


def make_header(*, encrypted: bool = False, **changes: Any) -> HrlHeader:
    if encrypted:
        changes.setdefault("key_id", "vault-key-1")
    return replace(BASE_HEADER, **changes)


def write_hrl(
    path: Path,
    extents: Iterable[tuple[int, bytes]],
    *,
    key: bytes | None = None,
    compress: bool = True,
    frame_size: int = SMALL_FRAME,
    header: HrlHeader | None = None,
) -> HrlSummary:
    chosen = header or make_header(encrypted=key is not None)
    with HrlWriter(path, chosen, key=key, frame_size=frame_size, compress=compress) as writer:
        for offset, data in extents:
            writer.add(offset, data)
    return writer.close()


def read_all(path: Path, *, key: bytes | None = None) -> list[Extent]:
    with HrlReader(path, key=key) as reader:
        return list(reader.extents())


def verify(path: Path, *, key: bytes | None = None) -> HrlSummary:
    with HrlReader(path, key=key) as reader:
        return reader.verify()


def merged(extents: Iterable[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """Join consecutive (offset, data) pairs that continue each other."""
    out: list[tuple[int, bytes]] = []
    for offset, data in extents:
        if out and out[-1][0] + len(out[-1][1]) == offset:
            out[-1] = (out[-1][0], out[-1][1] + data)
        else:
            out.append((offset, data))
    return out


def small_multi_frame_extents() -> list[tuple[int, bytes]]:
    """Three compressible 60 KiB extents (three frames) and a little noise.

    With 64 KiB frames each big extent opens a new frame, yet the file stays
    a few hundred bytes, small enough to cut and flip at every byte.
    """
    noise = random.Random(7).randbytes(100)
    return [
        (0, b"A" * 60_000),
        (1 << 20, b"BC" * 30_000),
        (5 << 20, bytes(60_000)),
        (9 << 20, noise),
    ]


def small_plain_extents() -> list[tuple[int, bytes]]:
    return [(0, b"boot sector"), (4096, b"\x00\x01\x02" * 20), (1 << 40, b"z")]
