"""Deterministic workloads that write to virtual disks at a given churn.

A :class:`WorkloadGenerator` plays the applications inside the protected
machines: for each span of virtual time it writes the number of bytes the
churn rate dictates, spread over the disks in proportion to their capacity,
with a chosen share of compressible (text-like) bytes so compression figures
are realistic. Everything comes from one seeded random generator: the same
seed gives the same writes, at the same offsets, with the same bytes.

Example::

    from fakes.clock import VirtualClock
    from fakes.disk import VirtualDisk
    from fakes.workload import WorkloadGenerator

    clock = VirtualClock()
    disks = [VirtualDisk.in_memory(1 << 20, name="os")]
    workload = WorkloadGenerator(disks, seed=7, churn_bytes_per_sec=64 * 1024)
    workload.attach(clock, interval=1.0)    # writes 64 KiB each virtual second
    clock.advance(10.0)
    assert workload.stats.bytes_written == 10 * 64 * 1024
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

from fakes.clock import TimerHandle, VirtualClock
from fakes.disk import VirtualDisk


@dataclass(frozen=True)
class WorkloadStats:
    """What a workload wrote: number of writes and bytes."""

    writes: int = 0
    bytes_written: int = 0

    def __add__(self, other: WorkloadStats) -> WorkloadStats:
        return WorkloadStats(self.writes + other.writes, self.bytes_written + other.bytes_written)


@dataclass(frozen=True)
class WriteRecord:
    """One write issued by a workload."""

    disk_id: str
    offset: int
    length: int


def pattern(length: int, seed: int) -> bytes:
    """Return ``length`` pseudo-random bytes that depend only on ``seed``."""
    return random.Random(seed).randbytes(length)


def write_pattern(disk: VirtualDisk, offset: int, length: int, seed: int) -> bytes:
    """Write :func:`pattern` bytes to ``disk`` at ``offset`` and return them, for tests."""
    data = pattern(length, seed)
    disk.write(offset, data)
    return data


@dataclass(frozen=True)
class _HotRegion:
    start: int
    length: int


class WorkloadAttachment:
    """A workload running on a clock's timers; :meth:`detach` stops it."""

    def __init__(self, workload: WorkloadGenerator, clock: VirtualClock, interval: float) -> None:
        self._workload = workload
        self._clock = clock
        self._interval = interval
        self._handle: TimerHandle | None = clock.call_later(interval, self._tick)

    @property
    def attached(self) -> bool:
        """Whether the workload still runs on the clock."""
        return self._handle is not None

    def detach(self) -> None:
        """Stop writing; the pending timer is cancelled. Idempotent."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        self._workload.run_for(self._interval)
        if self._handle is not None:
            self._handle = self._clock.call_later(self._interval, self._tick)


class WorkloadGenerator:
    """Writes to a set of disks at ``churn_bytes_per_sec`` of virtual time.

    ``io_size`` is a fixed size or an inclusive ``(min, max)`` range; offsets
    are multiples of ``alignment``. ``compressibility`` is the fraction of
    each write that is text-like (the rest is random). With ``hot_fraction``
    set, each disk has a hot region of that fraction of its capacity (at a
    seeded place) that receives ``hot_share`` of the writes. Drive it from one
    thread at a time; the disks themselves are thread-safe.
    """

    def __init__(
        self,
        disks: Sequence[VirtualDisk],
        *,
        seed: int,
        churn_bytes_per_sec: float,
        io_size: int | tuple[int, int] = 4096,
        compressibility: float = 0.5,
        hot_fraction: float | None = None,
        hot_share: float = 0.8,
        alignment: int = 4096,
        clock: VirtualClock | None = None,
    ) -> None:
        """Validate the parameters and draw the hot regions; nothing is written yet."""
        self._io_min, self._io_max = (io_size, io_size) if isinstance(io_size, int) else io_size
        _validate(disks, churn_bytes_per_sec, self._io_min, self._io_max, alignment)
        _check_fraction("compressibility", compressibility, allow_zero=True)
        _check_fraction("hot_share", hot_share, allow_zero=True)
        self.disks = tuple(disks)
        self.seed = seed
        self.churn_bytes_per_sec = churn_bytes_per_sec
        self.compressibility = compressibility
        self.hot_share = hot_share
        self.alignment = alignment
        self.clock = clock
        self._random = random.Random(seed)
        self._weights = list(itertools.accumulate(disk.capacity for disk in self.disks))
        self._hot = self._draw_hot_regions(hot_fraction)
        self._budget = 0.0
        self._next_size = self._draw_size()
        self._write_number = 0
        self._stats = WorkloadStats()

    @property
    def stats(self) -> WorkloadStats:
        """Everything written since the generator was created."""
        return self._stats

    def run_for(self, seconds: float) -> WorkloadStats:
        """Write what the churn dictates for ``seconds`` of virtual time; return this call's stats.

        The bytes owed carry over between calls, so the total written after
        any sequence of calls is at most the churn times the total time and
        falls short of it by less than one write.
        """
        if seconds < 0:
            raise ValueError(f"cannot run a workload for a negative time: {seconds}")
        self._budget += self.churn_bytes_per_sec * seconds
        done = WorkloadStats()
        while self._budget >= self._next_size:
            record = self.step()
            self._budget -= record.length
            done += WorkloadStats(1, record.length)
        return done

    def step(self) -> WriteRecord:
        """Issue the next write of the deterministic sequence, whatever the churn budget."""
        size = self._next_size
        index = self._pick_disk()
        disk = self.disks[index]
        offset = self._pick_offset(index, size)
        disk.write(offset, self._payload(disk, offset, size))
        self._write_number += 1
        self._stats += WorkloadStats(1, size)
        self._next_size = self._draw_size()
        return WriteRecord(disk.disk_id, offset, size)

    def attach(
        self, clock: VirtualClock | None = None, interval: float = 1.0
    ) -> WorkloadAttachment:
        """Run ``run_for(interval)`` every ``interval`` virtual seconds on ``clock``'s timers.

        ``clock`` defaults to the one given to the constructor.
        """
        chosen = clock if clock is not None else self.clock
        if chosen is None:
            raise ValueError("attach() needs a clock: pass one here or to the constructor")
        if interval <= 0:
            raise ValueError(f"the attach interval must be positive, got {interval}")
        return WorkloadAttachment(self, chosen, interval)

    def _draw_size(self) -> int:
        return self._random.randint(self._io_min, self._io_max)

    def _pick_disk(self) -> int:
        # Weighted by capacity, so a bigger disk takes a proportional share of churn.
        point = self._random.randrange(self._weights[-1])
        return bisect.bisect_right(self._weights, point)

    def _pick_offset(self, index: int, size: int) -> int:
        region = _HotRegion(0, self.disks[index].capacity)
        hot = self._hot[index]
        if hot is not None and self._random.random() < self.hot_share:
            region = hot
        slots = (region.length - size) // self.alignment + 1
        return region.start + self._random.randrange(slots) * self.alignment

    def _payload(self, disk: VirtualDisk, offset: int, size: int) -> bytes:
        compressible = round(size * self.compressibility)
        line = f"srp workload write {self._write_number:010d} {disk.name} @{offset:014d}\n"
        text = (line.encode() * (compressible // len(line) + 1))[:compressible]
        return text + self._random.randbytes(size - compressible)

    def _draw_hot_regions(self, hot_fraction: float | None) -> list[_HotRegion | None]:
        if hot_fraction is None:
            return [None] * len(self.disks)
        _check_fraction("hot_fraction", hot_fraction, allow_zero=False)
        return [self._hot_region(disk, hot_fraction) for disk in self.disks]

    def _hot_region(self, disk: VirtualDisk, hot_fraction: float) -> _HotRegion:
        wanted = int(disk.capacity * hot_fraction) // self.alignment * self.alignment
        length = min(disk.capacity, max(wanted, self._io_max))
        start_slots = (disk.capacity - length) // self.alignment + 1
        return _HotRegion(self._random.randrange(start_slots) * self.alignment, length)


def _validate(
    disks: Sequence[VirtualDisk], churn: float, io_min: int, io_max: int, alignment: int
) -> None:
    if not disks:
        raise ValueError("a workload needs at least one disk")
    if churn < 0:
        raise ValueError(f"churn must not be negative, got {churn} bytes/s")
    if alignment <= 0:
        raise ValueError(f"alignment must be positive, got {alignment}")
    smallest = min(disk.capacity for disk in disks)
    if not 1 <= io_min <= io_max <= smallest:
        raise ValueError(
            f"io size range ({io_min}, {io_max}) must satisfy 1 <= min <= max <= "
            f"the smallest disk ({smallest} bytes)"
        )


def _check_fraction(name: str, value: float, *, allow_zero: bool) -> None:
    low_ok = value >= 0 if allow_zero else value > 0
    if not (low_ok and value <= 1):
        bounds = "[0, 1]" if allow_zero else "(0, 1]"
        raise ValueError(f"{name} must be in {bounds}, got {value}")
