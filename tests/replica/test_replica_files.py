"""Undo log files, id checks and the durable building blocks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provider.contracts.transfer import DiskRef
from provider.errors import RecoveryPointUnavailable, ValidationError
from provider.replica import ReplicaStore
from provider.replica.durable import create_exclusive, opened, pwrite_all
from provider.replica.layout import parse_sequence, safe_component, sequence_name
from provider.replica.undo import MAX_RECORD, UndoLog, UndoWriter
from tests.replica.replica_testkit import disk_ref


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "image"
    path.write_bytes(bytes(range(256)) * 12_000)
    return path


def write_undo(image: Path, final: Path, ranges: list[tuple[int, int]]) -> int:
    with opened(os.open(image, os.O_RDONLY)) as fd, UndoWriter(final, 7) as writer:
        for offset, length in ranges:
            writer.capture(fd, offset, length)
        return writer.commit()


def test_an_undo_log_saves_and_overlays_exact_bytes(image: Path, tmp_path: Path) -> None:
    content = image.read_bytes()
    ranges = [(100, 50), (120, 10), (5000, MAX_RECORD + 17), (0, 1)]
    size = write_undo(image, tmp_path / "7.undo", ranges)
    assert os.stat(tmp_path / "7.undo").st_size == size
    with UndoLog(tmp_path / "7.undo", 7) as log:
        saved = list(log.records())
        assert saved == [
            (0, content[0:1]),
            (100, content[100:150]),
            (120, content[120:130]),
            (5000, content[5000 : 5000 + MAX_RECORD]),
            (5000 + MAX_RECORD, content[5000 + MAX_RECORD : 5000 + MAX_RECORD + 17]),
        ]
        buffer = bytearray(b"-" * 300)
        log.overlay(0, buffer)
        assert buffer == content[0:1] + b"-" * 99 + content[100:150] + b"-" * 150


def test_a_damaged_undo_log_is_reported(image: Path, tmp_path: Path) -> None:
    path = tmp_path / "7.undo"
    write_undo(image, path, [(100, 50)])
    data = bytearray(path.read_bytes())
    data[30] ^= 1  # inside the saved bytes
    path.write_bytes(bytes(data))
    with UndoLog(path, 7) as log, pytest.raises(RecoveryPointUnavailable) as caught:
        list(log.records())
    assert caught.value.message == (
        f"undo log {path} of HRL 7 is damaged: the bytes saved for offset 100 fail their CRC"
    )


@pytest.mark.parametrize("cut", [1, 10, 29])
def test_a_truncated_undo_log_is_reported(image: Path, tmp_path: Path, cut: int) -> None:
    path = tmp_path / "7.undo"
    write_undo(image, path, [(100, 50)])
    path.write_bytes(path.read_bytes()[:-cut])
    with pytest.raises(RecoveryPointUnavailable, match="is damaged"):
        UndoLog(path, 7)


def test_an_undo_log_of_another_sequence_is_refused(image: Path, tmp_path: Path) -> None:
    write_undo(image, tmp_path / "7.undo", [(1, 2)])
    with pytest.raises(RecoveryPointUnavailable, match="it says it belongs to HRL 7"):
        UndoLog(tmp_path / "7.undo", 8)


def test_a_discarded_undo_writer_leaves_nothing(image: Path, tmp_path: Path) -> None:
    source = opened(os.open(image, os.O_RDONLY))
    with pytest.raises(RuntimeError), source as fd, UndoWriter(tmp_path / "7.undo", 7) as writer:
        writer.capture(fd, 0, 10)
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == [image]


@pytest.mark.parametrize(
    "bad", ["..", ".", "../x", "a/b", "a\\b", ".hidden", "", " ", "x\x00y", "x\ny", "é" * 101]
)
def test_ids_that_could_escape_a_path_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        safe_component("disk id", bad)


@pytest.mark.parametrize(
    "ref", [disk_ref(item_id="../../escape"), disk_ref(disk_id="../../escape")]
)
def test_a_store_refuses_an_escaping_disk_ref(tmp_path: Path, ref: DiskRef) -> None:
    with pytest.raises(ValidationError) as caught:
        ReplicaStore(tmp_path / "disk", ref)
    assert "cannot name a directory on the target" in caught.value.message
    assert list(tmp_path.iterdir()) == []


def test_a_view_id_that_escapes_is_refused(tmp_path: Path) -> None:
    store = ReplicaStore(tmp_path / "disk", disk_ref())
    with pytest.raises(ValidationError, match=r"view id '\.\./x' cannot name"):
        store.open_view(0, view_id="../x")


def test_sequence_names_round_trip_and_sort() -> None:
    assert sequence_name(42, ".hrl") == "00000000000000000042.hrl"
    assert parse_sequence("00000000000000000042.hrl", ".hrl") == 42
    assert parse_sequence("42.hrl", ".hrl") is None
    assert parse_sequence(".tmp-00000000000000000042.hrl-1-ab", ".hrl") is None
    assert sorted([sequence_name(10, ""), sequence_name(9, "")]) == [
        sequence_name(9, ""),
        sequence_name(10, ""),
    ]


def test_pwrite_all_writes_at_the_offset(tmp_path: Path) -> None:
    path = tmp_path / "f"
    with opened(create_exclusive(path)) as fd:
        pwrite_all(fd, b"abc", 5)
    assert path.read_bytes() == b"\0" * 5 + b"abc"
