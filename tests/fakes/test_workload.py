"""Workload generator: churn amount, determinism under a seed, placement, payloads."""

from __future__ import annotations

import random

import pytest
import zstandard

from fakes.clock import VirtualClock
from fakes.disk import VirtualDisk
from fakes.workload import (
    WorkloadGenerator,
    WorkloadStats,
    WriteRecord,
    pattern,
    write_pattern,
)

KIB = 1024
MIB = 1024 * KIB


def disks(*sizes: int) -> list[VirtualDisk]:
    return [
        VirtualDisk.in_memory(size, name=f"d{n}", disk_id=f"id-{n}") for n, size in enumerate(sizes)
    ]


def run_digests(seed: int) -> tuple[list[bytes], WorkloadStats]:
    targets = disks(MIB, 2 * MIB)
    workload = WorkloadGenerator(
        targets, seed=seed, churn_bytes_per_sec=50_000, io_size=(512, 16 * KIB), alignment=512
    )
    workload.run_for(7.5)
    workload.run_for(2.5)
    return [disk.digest() for disk in targets], workload.stats


def test_same_seed_writes_the_same_bytes() -> None:
    first, first_stats = run_digests(seed=42)
    second, second_stats = run_digests(seed=42)
    assert first == second
    assert first_stats == second_stats
    other, _ = run_digests(seed=43)
    assert other != first


def test_churn_with_fixed_io_size_is_whole_writes_below_target() -> None:
    workload = WorkloadGenerator(disks(MIB), seed=1, churn_bytes_per_sec=100_000)
    done = workload.run_for(10.0)
    assert done == WorkloadStats(writes=244, bytes_written=244 * 4096)
    assert 1_000_000 - done.bytes_written == 576


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_churn_with_io_range_stays_within_one_io_of_target(seed: int) -> None:
    workload = WorkloadGenerator(
        disks(MIB, MIB), seed=seed, churn_bytes_per_sec=123_456, io_size=(1 * KIB, 64 * KIB)
    )
    for step in range(1, 8):
        workload.run_for(1.5)
        target = 123_456 * 1.5 * step
        assert 0 <= target - workload.stats.bytes_written < 64 * KIB


def test_owed_bytes_carry_over_between_short_spans() -> None:
    workload = WorkloadGenerator(disks(MIB), seed=5, churn_bytes_per_sec=1000, io_size=4096)
    written = [workload.run_for(1.0).bytes_written for _ in range(9)]
    assert written == [0, 0, 0, 0, 4096, 0, 0, 0, 4096]  # owed 5000, then 904 + 4000


def test_writes_are_spread_over_all_disks() -> None:
    targets = disks(MIB, 4 * MIB)
    WorkloadGenerator(targets, seed=9, churn_bytes_per_sec=400 * KIB).run_for(1.0)
    allocated = [sum(length for _, length in disk.allocated_extents()) for disk in targets]
    assert all(amount > 0 for amount in allocated)
    assert allocated[1] > allocated[0]


def test_step_returns_the_write_it_made() -> None:
    target = disks(MIB)[0]
    workload = WorkloadGenerator([target], seed=3, churn_bytes_per_sec=0, io_size=8192)
    record = workload.step()
    assert isinstance(record, WriteRecord)
    assert (record.disk_id, record.length, record.offset % 4096) == ("id-0", 8192, 0)
    assert target.allocated_extents() == [(record.offset, 8192)]
    assert workload.stats == WorkloadStats(writes=1, bytes_written=8192)
    assert workload.run_for(100.0) == WorkloadStats()


@pytest.mark.parametrize(("compressibility", "low", "high"), [(1.0, 0.0, 0.05), (0.0, 0.98, 1.01)])
def test_compressibility_shapes_the_payload(
    compressibility: float, low: float, high: float
) -> None:
    target = disks(MIB)[0]
    workload = WorkloadGenerator(
        [target], seed=4, churn_bytes_per_sec=0, io_size=64 * KIB, compressibility=compressibility
    )
    record = workload.step()
    data = target.read(record.offset, record.length)
    ratio = len(zstandard.ZstdCompressor(level=1).compress(data)) / len(data)
    assert low <= ratio < high


def test_half_compressible_write_is_text_then_random() -> None:
    target = disks(MIB)[0]
    workload = WorkloadGenerator([target], seed=4, churn_bytes_per_sec=0, io_size=4096)
    record = workload.step()
    data = target.read(record.offset, 4096)
    line = f"srp workload write 0000000000 d0 @{record.offset:014d}\n".encode()
    assert data[:2048] == (line * 50)[:2048]
    assert b"srp workload" not in data[2048:]


def test_hot_region_takes_all_writes_when_its_share_is_one() -> None:
    target = disks(4 * MIB)[0]
    workload = WorkloadGenerator(
        [target], seed=11, churn_bytes_per_sec=MIB, hot_fraction=0.125, hot_share=1.0
    )
    workload.run_for(1.0)
    extents = target.allocated_extents()
    span = extents[-1][0] + extents[-1][1] - extents[0][0]
    assert span <= MIB // 2
    assert workload.stats.bytes_written == MIB


def test_attach_runs_on_clock_timers_until_detached() -> None:
    clock = VirtualClock()
    workload = WorkloadGenerator(disks(MIB), seed=2, churn_bytes_per_sec=8192, clock=clock)
    attachment = workload.attach(interval=2.0)
    clock.advance(1.9)
    assert workload.stats.writes == 0
    clock.advance(8.1)
    assert workload.stats == WorkloadStats(writes=20, bytes_written=10 * 8192)
    attachment.detach()
    attachment.detach()
    assert not attachment.attached
    clock.advance(100.0)
    assert workload.stats.writes == 20
    assert clock.pending() == 0


def test_attach_needs_a_clock_and_a_positive_interval() -> None:
    workload = WorkloadGenerator(disks(MIB), seed=2, churn_bytes_per_sec=1)
    with pytest.raises(ValueError, match=r"^attach\(\) needs a clock"):
        workload.attach()
    with pytest.raises(ValueError, match=r"^the attach interval must be positive, got 0$"):
        workload.attach(VirtualClock(), interval=0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"io_size": (0, 10)}, "io size range (0, 10) must satisfy 1 <= min <= max <= "),
        ({"io_size": 2 * MIB}, "io size range (2097152, 2097152) must satisfy"),
        ({"compressibility": 1.5}, "compressibility must be in [0, 1], got 1.5"),
        ({"hot_fraction": 0.0}, "hot_fraction must be in (0, 1], got 0.0"),
        ({"churn_bytes_per_sec": -1}, "churn must not be negative, got -1 bytes/s"),
    ],
)
def test_bad_parameters_are_refused(options: dict[str, object], message: str) -> None:
    settings: dict[str, object] = {"seed": 1, "churn_bytes_per_sec": 10, **options}
    with pytest.raises(ValueError) as caught:
        WorkloadGenerator(disks(MIB), **settings)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_write_pattern_writes_seeded_bytes() -> None:
    target = disks(MIB)[0]
    data = write_pattern(target, 1000, 5000, seed=8)
    assert data == pattern(5000, seed=8) == random.Random(8).randbytes(5000)
    assert target.read(1000, 5000) == data
    assert pattern(5000, seed=9) != data
