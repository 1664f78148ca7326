"""Benchmark c: peak resident memory of an initial replication, 2 GiB against 8 GiB.

Usage::

    python benchmarks/bench_memory.py [--sizes-mib A B] [--fill F] [--smoke]

For each size (default 2048 and 8192 MiB; ``--smoke``: 256 and 1024), a fresh
child interpreter builds a sparse disk with a fraction F of it written
(default 0.5, ``--smoke`` 0.25: half of it random bytes, the rest text-like
or mostly-zero blocks), protects it through :class:`fakes.harness.EngineHarness` with the
simulated fabric plugin and runs the initial replication: one cycle that
reads every allocated block, writes the HRL (zstd, AES-256-GCM) into the
process server cache, forwards it, applies it to the replica and verifies
the point. The replica is compared with the source afterwards.

Peak RSS is measured twice: ``VmHWM`` of the child, reset (``clear_refs``)
after the disk was filled so it covers the replication alone, and the
child's whole-life ``ru_maxrss`` from ``wait4``. The sizes are printed side
by side with the ratio of the larger to the smaller and the 300 MB target.
When the file system lacks room for the fill, the fill is lowered and the
run says so. Every file is removed at the end. A missed target is reported,
not an error; the last line is a machine-readable summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_delta import DeltaLab, check, protect_one_disk, same_files

MIB = 1 << 20
MB = 1_000_000
TARGET_MB = 300
#: A replication that stays flat may vary by this much between sizes (allocator noise).
FLAT_RATIO = 1.25
#: Bytes on disk per written byte during an initial copy: the source, the HRL
#: in the cache, its stored copy on the target, the replica, and the undo log.
SPACE_PER_WRITTEN_BYTE = 5.0
SPACE_MARGIN = 2 << 30
CHILD_MARK = "CHILD-RESULT "


# -- the child: one initial replication ---------------------------------------


def peak_rss_bytes() -> int:
    """VmHWM of this process (peak resident set since start or last reset)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise SystemExit("ERROR: /proc/self/status has no VmHWM line")


def reset_peak_rss() -> bool:
    """Restart VmHWM from the current RSS (Linux 4.0+); False if the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def replicate(delta: DeltaLab) -> float:
    began = time.perf_counter()
    report = delta.lab.cycle(delta.item_id)
    seconds = time.perf_counter() - began
    check(report.recorded != (), "the initial cycle recorded no recovery point")
    source = delta.disk.path
    check(source is not None and same_files(delta.replica_image(), source), "replica differs")
    return seconds


def child(size_mib: int, fill: float, seed: int, workdir: Path) -> None:
    began = time.perf_counter()
    delta = protect_one_disk(workdir, size_mib * MIB, fill, seed)
    filled = time.perf_counter() - began
    with delta.lab, delta.disk:
        written = sum(length for _offset, length in delta.disk.allocated_extents())
        reset = reset_peak_rss()
        after_fill = peak_rss_bytes()
        seconds = replicate(delta)
        peak = peak_rss_bytes()
    result = {
        "written": written,
        "fill_seconds": filled,
        "seconds": seconds,
        "peak_replication": peak,
        "rss_before": after_fill,
        "reset": reset,
    }
    print(CHILD_MARK + json.dumps(result), flush=True)


# -- the parent: sizes side by side ---------------------------------------------


@dataclass(frozen=True)
class Run:
    size_mib: int
    written: int
    seconds: float
    peak_replication: int
    peak_lifetime: int
    reset: bool

    @property
    def throughput(self) -> float:
        return self.written / self.seconds / MB


def run_child(size_mib: int, fill: float, seed: int, root: Path) -> Run:
    """One size in a fresh interpreter; its files are removed afterwards."""
    workdir = Path(tempfile.mkdtemp(dir=root, prefix=f"mem-{size_mib}-"))
    command = [sys.executable, __file__, "--child", "--sizes-mib", str(size_mib)]
    command += ["--fill", str(fill), "--seed", str(seed), "--workdir", str(workdir)]
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None  # stdout=PIPE
        output = process.stdout.read()
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lines = [line for line in output.splitlines() if line.startswith(CHILD_MARK)]
    if process.returncode != 0 or not lines:
        raise SystemExit(f"ERROR: the {size_mib} MiB child failed (status {process.returncode})")
    found = json.loads(lines[-1].removeprefix(CHILD_MARK))
    return Run(
        size_mib,
        found["written"],
        found["seconds"],
        found["peak_replication"],
        usage.ru_maxrss * 1024,  # kilobytes on Linux
        found["reset"],
    )


def affordable_fill(sizes: list[int], fill: float, root: Path) -> float:
    """The fill the file system has room for (one size at a time: files go in between)."""
    free = shutil.disk_usage(root).free - SPACE_MARGIN
    largest = max(sizes) * MIB
    room = free / (SPACE_PER_WRITTEN_BYTE * largest)
    if room >= fill:
        return fill
    lowered = max(0.01, round(room, 2))
    print(
        f"NOTE: {free / 2**30:.1f} GiB free under {root} is not enough for a {fill:.0%} fill "
        f"of {largest // MIB} MiB; the fill is lowered to {lowered:.0%}"
    )
    return lowered


def report(runs: list[Run], fill: float) -> None:
    print(f"initial replication of a sparse disk, {fill:.0%} written, each in a fresh process")
    print(f"{'disk':>10} {'written':>10} {'time':>8} {'MB/s':>7} {'peak RSS':>10} {'lifetime':>10}")
    for run in runs:
        print(
            f"{run.size_mib:>6} MiB {run.written / MIB:>6.0f} MiB {run.seconds:>7.1f}s "
            f"{run.throughput:>7.1f} {run.peak_replication / MB:>7.1f} MB "
            f"{run.peak_lifetime / MB:>7.1f} MB"
        )
    small, large = runs[0], runs[-1]
    ratio = large.peak_replication / small.peak_replication
    under = large.peak_replication <= TARGET_MB * MB
    flat = ratio <= FLAT_RATIO
    if not all(run.reset for run in runs):
        print("NOTE: the kernel refused to reset VmHWM: peaks include filling the disk")
    print(
        f"peak RSS {large.size_mib} MiB / {small.size_mib} MiB = {ratio:.2f} "
        f"({'flat' if flat else 'GROWS'}: <= {FLAT_RATIO} counts as flat); "
        f"target < {TARGET_MB} MB: {'met' if under else 'MISSED'}"
    )
    print(
        f"RESULT sizes_mib={small.size_mib},{large.size_mib} fill={fill} "
        f"peak_mb={small.peak_replication / MB:.1f},{large.peak_replication / MB:.1f} "
        f"lifetime_mb={small.peak_lifetime / MB:.1f},{large.peak_lifetime / MB:.1f} "
        f"seconds={small.seconds:.1f},{large.seconds:.1f} ratio={ratio:.3f} "
        f"target_mb={TARGET_MB} met={'yes' if under else 'no'} flat={'yes' if flat else 'no'}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mib", type=int, nargs="+", default=[2048, 8192])
    parser.add_argument("--fill", type=float, default=None, help="fraction written (0.5)")
    parser.add_argument("--smoke", action="store_true", help="quick run: 256 and 1024 MiB, 25%%")
    parser.add_argument("--seed", type=int, default=20240603)
    parser.add_argument("--workdir", type=Path, default=None, help="where files go")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes_mib = [256, 1024]
    if args.fill is None:
        args.fill = 0.25 if args.smoke else 0.5
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        child(args.sizes_mib[0], args.fill, args.seed, args.workdir)
        return 0
    root = args.workdir or Path(tempfile.gettempdir())
    sizes = sorted(args.sizes_mib)
    fill = affordable_fill(sizes, args.fill, root)
    runs = [run_child(size, fill, args.seed, root) for size in sizes]
    report(runs, fill)
    return 0


if __name__ == "__main__":
    sys.exit(main())
