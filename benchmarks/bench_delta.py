"""Benchmark b: one delta cycle of a sparse disk image against ``rsync``.

Usage::

    python benchmarks/bench_delta.py [--size-mib N] [--smoke] [--fill F] [--change C]

Builds a sparse disk of N MiB (default 4 GiB; ``--smoke``: 256 MiB) with a
fraction F of it written (default 0.35: random, text-like and sparse
blocks), protects it through :class:`fakes.harness.EngineHarness` with the
simulated fabric plugin and runs the initial cycle (not timed). Then it
writes random 4-64 KiB extents (seeded) until a fraction C of the disk's
4 KiB blocks changed (default 0.01) and times one delta cycle: cut, read of
the changed extents, HRL write (zstd, AES-256-GCM), forward, apply, point
verification. The replica is then compared with the source, byte for byte.

Baseline, same machine, same run: the raw image before the change was
copied twice (not timed); the same writes go into one copy and
``rsync --inplace --no-whole-file src.img dst.img`` updates the other
(locally rsync defaults to whole-file copies, hence the flag); dst is then
compared with src. Two rounds run: point verification on (the product
default) and off, each with its own changes and its own rsync. A cycle's
writes are durable (fsync) before its point is recorded, rsync's are not;
an fsync of dst.img right after rsync is timed too and reported as the
like-for-like (durable) baseline. The last line is a machine-readable
summary. A missed target is reported, not an error.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fakes.disk import VirtualDisk
from fakes.fabric import SimulatedFabricPlugin
from fakes.harness import EngineHarness
from provider.blockdigest import DIGEST_BLOCK_SIZE
from provider.contracts.transfer import DiskRef
from provider.replica import ReplicaStore
from provider.targets.storage_account import StorageAccount

KIB, MIB, GIB = 1024, 1 << 20, 1 << 30
TARGET_SPEEDUP = 10.0
FILL_SEGMENT = MIB
_COMPARE_CHUNK = 16 * MIB
WORDS = (
    b"the replication cycle disk block volume snapshot error warning info debug "
    b"checkpoint commit transaction page buffer index table row column user admin "
    b"service request response latency timeout retry connect session token cache"
).split()


# -- content ---------------------------------------------------------------


class ContentMaker:
    """Seeded disk content: half random, the rest text-like or mostly-zero blocks."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.corpus = _text_corpus(rng, 4 * MIB)

    def make(self, length: int) -> bytes:
        draw = self.rng.random()
        if draw < 0.5:
            return self.rng.randbytes(length)
        if draw < 0.85:
            at = self.rng.randrange(len(self.corpus) - length)
            return self.corpus[at : at + length]
        return _sparse_block(self.rng, length)


def _text_corpus(rng: random.Random, size: int) -> bytes:
    lines: list[bytes] = []
    total = 0
    while total < size:
        line = b"%d %s\n" % (rng.randrange(10**9), b" ".join(rng.choices(WORDS, k=10)))
        lines.append(line)
        total += len(line)
    return b"".join(lines)[:size]


def _sparse_block(rng: random.Random, length: int) -> bytes:
    block = bytearray(length)
    for position in range(0, length, 512):
        block[position : position + 8] = rng.randbytes(8)
    return bytes(block)


def fill_disk(disk: VirtualDisk, fraction: float, seed: int) -> int:
    """Write about ``fraction`` of the disk in whole 1 MiB segments; returns bytes written."""
    rng = random.Random(seed)
    maker = ContentMaker(rng)
    written = 0
    for offset in range(0, disk.capacity, FILL_SEGMENT):
        if rng.random() < fraction:
            for piece in range(offset, offset + FILL_SEGMENT, 256 * KIB):
                disk.write(piece, maker.make(256 * KIB))
            written += FILL_SEGMENT
    return written


def change_writes(capacity: int, fraction: float, seed: int) -> list[tuple[int, bytes]]:
    """Random 4-64 KiB writes at 4 KiB-aligned offsets until ``fraction`` of blocks changed."""
    rng = random.Random(seed)
    maker = ContentMaker(rng)
    blocks = capacity // (4 * KIB)
    changed: set[int] = set()
    writes: list[tuple[int, bytes]] = []
    while len(changed) < fraction * blocks:
        count = rng.randint(1, 16)
        first = rng.randrange(blocks - count)
        changed.update(range(first, first + count))
        writes.append((first * 4 * KIB, maker.make(count * 4 * KIB)))
    return writes


# -- the engine side -------------------------------------------------------


@dataclass
class DeltaLab:
    """A protected machine with one sparse disk, and the harness replicating it."""

    lab: EngineHarness
    disk: VirtualDisk
    item_id: str

    def replica(self) -> ReplicaStore:
        target = self.lab.ctx.target_connection(self.lab.target_id)
        ref = DiskRef(self.item_id, self.disk.disk_id, self.disk.capacity)
        return StorageAccount.from_connection(target).disk(ref)

    def replica_image(self) -> Path:
        return self.replica().image_path


def protect_one_disk(root: Path, capacity: int, fill: float, seed: int) -> DeltaLab:
    """Fill a new sparse disk and protect its machine (no cycle yet)."""
    plugin = SimulatedFabricPlugin()
    source_dir = root / "source"
    source_dir.mkdir()
    machine = plugin.add_fabric("bench").add_machine("bench-vm", [capacity], sparse_dir=source_dir)
    disk = next(iter(machine.disks.values()))
    fill_disk(disk, fill, seed)
    lab = EngineHarness(root / "lab", plugins={"simulated": plugin}, cache_bytes=4 * capacity)
    fabric_id = lab.register_fabric("simulated", "bench", "admin", "secret")
    item = lab.protect(fabric_id, machine.machine_id)
    return DeltaLab(lab, disk, item.item_id)


# -- measuring -------------------------------------------------------------


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def profiled(action: Callable[[], object], lines: int) -> float:
    """Time ``action`` under cProfile and print its costliest calls."""
    profile = cProfile.Profile()
    seconds = timed(lambda: profile.runcall(action))
    stats = pstats.Stats(profile).sort_stats("cumulative")
    stats.print_stats(lines)
    return seconds


def same_files(left: Path, right: Path) -> bool:
    """Byte-for-byte equality, streamed."""
    if left.stat().st_size != right.stat().st_size:
        return False
    with left.open("rb") as one, right.open("rb") as two:
        while chunk := one.read(_COMPARE_CHUNK):
            if chunk != two.read(len(chunk)):
                return False
    return True


def copy_sparse(source: Path, destination: Path) -> None:
    subprocess.run(["cp", "--sparse=always", str(source), str(destination)], check=True)


def write_into(image: Path, writes: list[tuple[int, bytes]]) -> None:
    fd = os.open(image, os.O_WRONLY)
    try:
        for offset, data in writes:
            os.pwrite(fd, data, offset)
    finally:
        os.close(fd)


def rsync_command() -> str:
    binary = shutil.which("rsync")
    if binary is None:
        raise SystemExit("rsync is not installed (apt-get install -y rsync): no baseline")
    return binary


@dataclass(frozen=True)
class Round:
    """One delta cycle and its rsync baseline."""

    verify: bool
    changed_bytes: int
    shipped_bytes: int
    engine: float
    rsync: float
    engine_cpu: float
    rsync_cpu: float
    #: rsync, then an fsync of dst.img: as durable as the cycle's writes.
    rsync_durable: float

    @property
    def speedup(self) -> float:
        return self.rsync / self.engine


def run_round(
    delta: DeltaLab, work: Path, verify: bool, seed: int, args: argparse.Namespace
) -> Round:
    """Change 1% of the disk, time the delta cycle, then rsync the same change."""
    source_image = _path(delta.disk)
    src, dst = work / "src.img", work / "dst.img"
    for copy in (src, dst):
        copy.unlink(missing_ok=True)
        copy_sparse(source_image, copy)
    # The existing copy is older than the change, as a real one is: without
    # this, rsync's quick check (same size, same mtime second) skips the file.
    os.utime(dst, (time.time() - 86400, time.time() - 86400))
    writes = change_writes(delta.disk.capacity, args.change, seed)
    for offset, data in writes:
        delta.disk.write(offset, data)
    write_into(src, writes)
    changed = delta.disk.changed_bytes
    delta.lab.ctx.verify_points = verify
    # The untimed copies above leave gigabytes of dirty pages: flushed now, their
    # writeback would otherwise land inside whichever timed phase fsyncs first.
    os.sync()
    reports = []

    def cycle() -> None:
        reports.append(delta.lab.cycle(delta.item_id))

    cpu = time.process_time()
    engine = profiled(cycle, args.profile) if args.profile else timed(cycle)
    engine_cpu = time.process_time() - cpu
    check(reports[0].recorded != (), "the delta cycle recorded no recovery point")
    check(same_files(delta.replica_image(), source_image), "the replica differs from the source")
    check(same_files(src, source_image), "the rsync source differs from the engine's source")
    command = [rsync_command(), "--inplace", "--no-whole-file", str(src), str(dst)]
    cpu = children_cpu()
    baseline = timed(lambda: subprocess.run(command, check=True))
    rsync_cpu = children_cpu() - cpu
    durable = baseline + timed(lambda: fsync_file(dst))
    check(same_files(dst, src), "rsync left dst.img different from src.img")
    shipped = reports[0].bytes_shipped
    return Round(verify, changed, shipped, engine, baseline, engine_cpu, rsync_cpu, durable)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def children_cpu() -> float:
    """User + system CPU seconds of every child waited for so far (rsync runs 3)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Verification:
    """What proving the latest point costs: the digest table, or reading the replica."""

    table: float
    full_read: float


def verification_costs(delta: DeltaLab) -> Verification:
    """Time the latest point's digest from the table and from a full read of the replica."""
    store = delta.replica()
    state = store.state()
    check(state is not None, "the replica has no applied sequence")
    assert state is not None  # checked above
    digests: list[str] = []

    def full_read() -> None:
        with store.open_view(state.sequence) as view:
            digests.append(view.digest())

    table = timed(lambda: digests.append(store.point_digest(state.sequence)))
    full = timed(full_read)
    check(digests[0] == digests[1], "the digest table disagrees with the replica's bytes")
    return Verification(table, full)


def check(condition: bool, problem: str) -> None:
    if not condition:
        raise SystemExit(f"ERROR: {problem}: the benchmark is invalid")


# -- the run ---------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=4096, help="disk size (default 4096)")
    parser.add_argument("--smoke", action="store_true", help="quick run on a 256 MiB disk")
    parser.add_argument("--fill", type=float, default=0.35, help="fraction written (0.35)")
    parser.add_argument("--change", type=float, default=0.01, help="blocks changed (0.01)")
    parser.add_argument("--seed", type=int, default=20240602)
    parser.add_argument("--workdir", type=Path, default=None, help="where files go")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="cProfile each delta cycle, top N"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.size_mib = 256
    return args


def report(
    args: argparse.Namespace,
    initial: float,
    rounds: list[Round],
    allocated: int,
    verification: Verification,
) -> None:
    size = args.size_mib * MIB
    print(
        f"disk {args.size_mib} MiB sparse, {allocated / MIB:.0f} MiB written "
        f"({allocated / size:.0%}); initial cycle {initial:.1f} s (not timed below)"
    )
    for one in rounds:
        label = "on (product default)" if one.verify else "off"
        verdict = "met" if one.speedup >= TARGET_SPEEDUP else "MISSED"
        print(
            f"point verification {label}: {one.changed_bytes / MIB:.1f} MiB changed, "
            f"{one.shipped_bytes / MIB:.1f} MiB shipped "
            f"({DIGEST_BLOCK_SIZE // 1024} KiB digest blocks); "
            f"delta cycle {one.engine:.3f} s, rsync --inplace --no-whole-file "
            f"{one.rsync:.3f} s, rsync / cycle = {one.speedup:.1f}x "
            f"(target >= {TARGET_SPEEDUP:.0f}x: {verdict}); CPU seconds: cycle "
            f"{one.engine_cpu:.3f}, rsync {one.rsync_cpu:.3f}, ratio "
            f"{one.rsync_cpu / one.engine_cpu:.1f}x; rsync + fsync of dst "
            f"{one.rsync_durable:.3f} s = {one.rsync_durable / one.engine:.1f}x"
        )
    print(
        f"proving the latest point: {verification.table * 1000:.1f} ms from the digest table "
        f"(what a cycle's verification does), {verification.full_read:.2f} s reading the "
        "whole replica through a view (what it did before the table)"
    )
    on, off = rounds
    print(
        f"RESULT size_mib={args.size_mib} allocated_mib={allocated // MIB} "
        f"changed_mib={on.changed_bytes / MIB:.1f} shipped_mib={on.shipped_bytes / MIB:.1f} "
        f"cycle_s={on.engine:.3f} rsync_s={on.rsync:.3f} speedup={on.speedup:.2f} "
        f"cycle_noverify_s={off.engine:.3f} rsync2_s={off.rsync:.3f} "
        f"speedup_noverify={off.speedup:.2f} cycle_cpu_s={on.engine_cpu:.3f} "
        f"rsync_cpu_s={on.rsync_cpu:.3f} rsync_durable_s={on.rsync_durable:.3f} "
        f"speedup_durable={on.rsync_durable / on.engine:.2f} "
        f"verify_table_s={verification.table:.4f} "
        f"verify_full_read_s={verification.full_read:.2f} target={TARGET_SPEEDUP} "
        f"met={'yes' if on.speedup >= TARGET_SPEEDUP else 'no'}"
    )


def run(args: argparse.Namespace, work: Path) -> None:
    delta = protect_one_disk(work, args.size_mib * MIB, args.fill, args.seed)
    with delta.lab, delta.disk:
        allocated = sum(length for _offset, length in delta.disk.allocated_extents())
        initial = timed(lambda: delta.lab.cycle(delta.item_id))
        check(same_files(delta.replica_image(), _path(delta.disk)), "the initial replica differs")
        rounds = [
            run_round(delta, work, verify, args.seed + number, args)
            for number, verify in enumerate((True, False), start=1)
        ]
        verification = verification_costs(delta)
    report(args, initial, rounds, allocated, verification)


def _path(disk: VirtualDisk) -> Path:
    assert disk.path is not None  # a sparse-file disk always has one
    return disk.path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rsync_command()
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="srp-bench-delta-") as directory:
        run(args, Path(directory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
