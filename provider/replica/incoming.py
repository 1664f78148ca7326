"""Stored, not yet applied HRLs: ``incoming/<sequence>.hrl``.

A file is copied under a temporary name, fsynced and renamed, so a stored
sequence is always a whole file (whether it is a *valid* HRL is checked at
apply time, which has the key). It is removed once its apply commits.
"""

from __future__ import annotations

import os
from pathlib import Path

from provider.errors import NotFound
from provider.replica.durable import (
    create_exclusive,
    opened,
    publish,
    remove_durably,
    remove_quietly,
    temp_path,
    write_all,
)
from provider.replica.layout import DiskLayout, parse_sequence
from provider.replica.space import SpaceGuard

_CHUNK = 1 << 20


def stored_sequences(layout: DiskLayout) -> list[int]:
    found = (parse_sequence(name, ".hrl") for name in os.listdir(layout.incoming_dir))
    return sorted(sequence for sequence in found if sequence is not None)


def store_file(layout: DiskLayout, sequence: int, source: Path, space: SpaceGuard) -> None:
    """Copy ``source`` in as stored sequence ``sequence``; nothing partial remains on failure."""
    size = _size_of(source)
    space.reserve(size, f"storing HRL {sequence} ({size} bytes)")
    final = layout.incoming(sequence)
    temp = temp_path(final.parent, final.name)
    try:
        _link_or_copy(source, temp)
        publish(temp, final)
    except BaseException:
        remove_quietly(temp)
        raise


def remove_applied(layout: DiskLayout, applied: int) -> None:
    """Drop stored HRLs whose sequence is already in the image."""
    for sequence in stored_sequences(layout):
        if sequence <= applied:
            remove_durably(layout.incoming(sequence))


def _size_of(source: Path) -> int:
    try:
        return os.stat(source).st_size
    except FileNotFoundError as exc:
        raise NotFound(
            f"HRL file {source} to store does not exist",
            hint="write the cycle's HRL again before storing it",
        ) from exc


def _link_or_copy(source: Path, temp: Path) -> None:
    # An HRL is never rewritten once closed, so when the sender's file is on
    # the same filesystem (a process server beside its storage account) a
    # hard link stores it without writing and syncing its bytes a second time.
    try:
        os.link(source, temp)
    except OSError:
        _copy(source, temp)


def _copy(source: Path, temp: Path) -> None:
    source_fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    with opened(source_fd) as src, opened(create_exclusive(temp)) as dst:
        while chunk := os.read(src, _CHUNK):
            write_all(dst, chunk)
        os.fsync(dst)
