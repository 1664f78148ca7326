"""Benchmark of the HRL data path against the ``zstd -1`` command line.

Usage::

    python benchmarks/bench_pipeline.py [--size-mib N] [--smoke] [--repeat R]

Generates N MiB of changed extents (4 KiB to 64 KiB each, half incompressible
random bytes, half compressible text and sparse blocks), then on one pinned
core: writes an HRL with zstd level 1, AES-256-GCM, CRC32 frame checksums
and the SHA-256 file digest (fsync included); reads it back, verifying every
frame and the trailer, and applies each extent to a plain file at its
offset. The baseline is ``zstd -1 --single-thread -q -c`` on the same bytes
(it does not fsync; the HRL writer does, so an HRL survives a crash); a
second, durable baseline adds an fsync of zstd's output, which is the fair
comparison where the disk, not the core, bounds the writes. ``--workdir``
puts the files elsewhere (``/dev/shm``: no disk at all, the one-core CPU
measure the target speaks of). The phases run in ``--repeat``
interleaved rounds, each run into a new file, and the best time counts;
end to end is payload / (best write + best read-and-apply). Other work on
the machine moves single rounds, so the spread of the per-round end-to-end
ratio (each round's baseline against that round's write + read) is printed
beside the best-of figure. The last line is a machine-readable summary.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import zstandard

from provider.hrl import ZERO_DIGEST, HrlHeader, HrlReader, HrlWriter

KIB, MIB = 1024, 1 << 20
TARGET_RATIO = 0.6
WORDS = (
    b"the replication cycle disk block volume snapshot error warning info debug "
    b"checkpoint commit transaction page buffer index table row column user admin "
    b"service request response latency timeout retry connect session token cache "
    b"select insert update delete where order group from join value key offset"
).split()


@dataclass(frozen=True)
class Workload:
    """The changed extents: (offset, start, length) into one source buffer."""

    source: bytes
    extents: list[tuple[int, int, int]]

    @property
    def payload(self) -> int:
        return len(self.source)


def text_corpus(rng: random.Random, size: int) -> bytes:
    """Log-like lines of words picked at random: compressible, not trivially."""
    lines: list[bytes] = []
    total = 0
    while total < size:
        words = rng.choices(WORDS, k=rng.randint(6, 14))
        line = b"%d %s\n" % (rng.randrange(10**9), b" ".join(words))
        lines.append(line)
        total += len(line)
    return b"".join(lines)[:size]


def sparse_block(rng: random.Random, size: int) -> bytes:
    """Mostly zeros with a few random words, like a sparsely used disk block."""
    block = bytearray(size)
    for position in range(0, size, 512):
        block[position : position + 8] = rng.randbytes(8)
    return bytes(block)


def build_workload(size: int, seed: int) -> Workload:
    rng = random.Random(seed)
    corpus = text_corpus(rng, 8 * MIB)
    parts: list[bytes] = []
    extents: list[tuple[int, int, int]] = []
    disk_offset = start = 0
    while start < size:
        length = min(rng.randint(1, 16) * 4 * KIB, size - start)
        parts.append(_extent_bytes(rng, corpus, length, compressible=len(extents) % 2 == 1))
        extents.append((disk_offset, start, length))
        disk_offset += length + rng.randint(0, 8) * 4 * KIB
        start += length
    return Workload(b"".join(parts), extents)


def _extent_bytes(rng: random.Random, corpus: bytes, length: int, *, compressible: bool) -> bytes:
    if not compressible:
        return rng.randbytes(length)
    if rng.random() < 0.25:
        return sparse_block(rng, length)
    at = rng.randrange(len(corpus) - length)
    return corpus[at : at + length]


def header() -> HrlHeader:
    return HrlHeader(
        item_id="bench-item",
        machine_id="bench-vm",
        disk_id="disk-0",
        sequence=1,
        from_cut="",
        to_cut="cut-1",
        block_size=4096,
        consistency="crash",
        created_at=time.time(),
        prev_digest=ZERO_DIGEST,
        key_id="bench-key",
    )


def write_hrl(work: Workload, path: Path, key: bytes, frame_size: int, level: int) -> None:
    view = memoryview(work.source)
    with HrlWriter(path, header(), key=key, frame_size=frame_size, level=level) as writer:
        for offset, start, length in work.extents:
            writer.add(offset, view[start : start + length])


def read_and_apply(path: Path, key: bytes, replica: Path) -> None:
    fd = os.open(replica, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with HrlReader(path, key=key) as reader:
            # Views, not copies: each frame is checked before any of its views is handed out.
            for offset, data in reader.extent_views():
                os.pwrite(fd, data, offset)
    finally:
        os.close(fd)


def check_replica(work: Workload, replica: Path) -> None:
    """Untimed: every extent landed at its offset, byte for byte."""
    with replica.open("rb") as handle:
        for offset, start, length in work.extents:
            handle.seek(offset)
            if handle.read(length) != work.source[start : start + length]:
                raise SystemExit(f"replica differs at offset {offset}: the benchmark is invalid")


def zstd_baseline(source: Path, level: int) -> tuple[str, Callable[[Path], None]]:
    """The zstd command line if installed, else zstandard in-process, labelled.

    ``--single-thread`` is zstd's one-core mode: ``-T1`` still runs a worker
    thread beside the I/O thread, which on one pinned core measured slower,
    so this is the stronger of the two one-core baselines.
    """
    binary = shutil.which("zstd")
    if binary is not None:
        command = [binary, f"-{level}", "--single-thread", "-q", "-c", str(source)]

        def run_cli(out: Path) -> None:
            with out.open("wb") as sink:
                subprocess.run(command, stdout=sink, check=True)

        return f"zstd -{level} --single-thread -q -c (command line)", run_cli
    print("NOTE: zstd is not on PATH; the baseline is zstandard in-process instead.")
    compressor = zstandard.ZstdCompressor(level=level)

    def run_library(out: Path) -> None:
        with source.open("rb") as src, out.open("wb") as sink:
            compressor.copy_stream(src, sink)

    return f"zstandard level {level} in-process (no zstd CLI)", run_library


def compression_ceiling(work: Workload, frame_size: int, level: int) -> None:
    """zstandard compressing the payload in memory, frame by frame: no I/O at all."""
    compressor = zstandard.ZstdCompressor(level=level)
    view = memoryview(work.source)
    for start in range(0, len(view), frame_size):
        compressor.compress(view[start : start + frame_size])


def timed(action: Callable[[], None]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def pin_one_core() -> str:
    """Pin this process (and the zstd child) to one CPU, as the brief measures."""
    if not hasattr(os, "sched_setaffinity"):
        return "unpinned"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"cpu {cpu}"


def rate(size: int, seconds: float) -> float:
    return size / seconds / 1e6


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256, help="payload size (default 256)")
    parser.add_argument("--smoke", action="store_true", help="quick run on 16 MiB")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (default 5), best counts")
    parser.add_argument("--frame-size", type=int, default=MIB, help="HRL frame size in bytes")
    parser.add_argument("--level", type=int, default=1, help="zstd level (default 1)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--workdir", type=Path, default=None, help="where files go")
    args = parser.parse_args(argv)
    if args.smoke:
        args.size_mib, args.repeat = 16, 1
    return args


@dataclass(frozen=True)
class Timings:
    write: float
    read_apply: float
    baseline: float
    baseline_label: str
    ceiling: float
    stored: int
    round_ratios: tuple[float, ...]
    durable_baseline: float


def run_phases(args: argparse.Namespace, work: Workload, directory: Path) -> Timings:
    """Rounds of write, read + apply, baseline and ceiling, interleaved so that
    noise from other processes spreads over all phases; best of each counts.

    Every run writes new files, as production does, and the files of a round
    are removed before the next one, outside the timed regions.
    """
    key = os.urandom(32)
    source = directory / "source.bin"
    source.write_bytes(work.source)
    label, baseline = zstd_baseline(source, args.level)
    hrl, replica, packed = directory / "bench.hrl", directory / "replica.img", directory / "z.zst"
    rounds: list[tuple[float, float, float, float, float]] = []
    for number in range(args.repeat):
        for old in (hrl, replica, packed):
            old.unlink(missing_ok=True)
        # The last round's unsynced files (zstd's output above all) would otherwise be
        # written back inside this round's first fsync: every round starts clean.
        os.sync()
        write = timed(lambda: write_hrl(work, hrl, key, args.frame_size, args.level))
        read_apply = timed(lambda: read_and_apply(hrl, key, replica))
        if number == 0:
            check_replica(work, replica)
        base = timed(lambda: baseline(packed))
        packed.unlink()
        durable = timed(lambda: durably(baseline, packed))
        ceiling = timed(lambda: compression_ceiling(work, args.frame_size, args.level))
        rounds.append((write, read_apply, base, ceiling, durable))
    best = [min(column) for column in zip(*rounds, strict=True)]
    ratios = tuple(base / (write + read) for write, read, base, _ceiling, _durable in rounds)
    stored = hrl.stat().st_size
    return Timings(best[0], best[1], best[2], label, best[3], stored, ratios, best[4])


def durably(baseline: Callable[[Path], None], out: Path) -> None:
    """The baseline, then its output made durable as the HRL writer makes an HRL."""
    baseline(out)
    fd = os.open(out, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def report(args: argparse.Namespace, work: Workload, timings: Timings, core: str) -> None:
    size = work.payload
    write, read_apply = rate(size, timings.write), rate(size, timings.read_apply)
    pipeline = rate(size, timings.write + timings.read_apply)
    base = rate(size, timings.baseline)
    ratio_write, ratio_pipeline = write / base, pipeline / base
    print(
        f"payload {size / MIB:.0f} MiB in {len(work.extents)} extents of 4-64 KiB, "
        f"half incompressible; frame {args.frame_size // KIB} KiB; {core}; best of {args.repeat}"
    )
    print(f"HRL size {timings.stored / MIB:.1f} MiB ({timings.stored / size:.3f} of payload)")
    print(
        f"HRL write  (zstd -{args.level} + AES-256-GCM + CRC32 + SHA-256 + fsync): "
        f"{write:8.1f} MB/s"
    )
    print(f"HRL read + verify + apply to a file:                    {read_apply:8.1f} MB/s")
    print(f"HRL write then read + verify + apply (end to end):      {pipeline:8.1f} MB/s")
    print(f"baseline {timings.baseline_label}: {base:8.1f} MB/s")
    ceiling = rate(size, timings.ceiling)
    print(
        f"reference: zstandard level {args.level} in memory, no I/O:   {ceiling:8.1f} MB/s "
        f"(write / this = {write / ceiling:.2f})"
    )
    print(
        f"ratio write / baseline: {ratio_write:.2f}   end to end / baseline: "
        f"{ratio_pipeline:.2f}   (target >= {TARGET_RATIO})"
    )
    low, high = min(timings.round_ratios), max(timings.round_ratios)
    print(f"end to end / baseline per round: {low:.2f} to {high:.2f} over {args.repeat} rounds")
    durable = rate(size, timings.durable_baseline)
    print(
        f"durable baseline (zstd, then fsync of its output): {durable:8.1f} MB/s; "
        f"end to end / durable baseline: {pipeline / durable:.2f}"
    )
    met_write = "yes" if ratio_write >= TARGET_RATIO else "no"
    met_pipeline = "yes" if ratio_pipeline >= TARGET_RATIO else "no"
    print(f"RESULT size_mib={size // MIB} write_mbs={write:.1f} read_apply_mbs={read_apply:.1f} "
          f"pipeline_mbs={pipeline:.1f} baseline_mbs={base:.1f} ceiling_mbs={ceiling:.1f} "
          f"baseline={'zstd-cli' if 'command line' in timings.baseline_label else 'zstandard'} "
          f"ratio_write={ratio_write:.3f} ratio_pipeline={ratio_pipeline:.3f} "
          f"ratio_pipeline_rounds={low:.3f}..{high:.3f} "
          f"durable_baseline_mbs={durable:.1f} ratio_durable={pipeline / durable:.3f} "
          f"target={TARGET_RATIO} met_write={met_write} met_pipeline={met_pipeline}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    core = pin_one_core()
    work = build_workload(args.size_mib * MIB, args.seed)
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="srp-bench-") as directory:
        timings = run_phases(args, work, Path(directory))
    report(args, work, timings, core)
    return 0


if __name__ == "__main__":
    sys.exit(main())
