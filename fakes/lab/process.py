"""The lab process: serve a scenario's fabrics until told to stop.

Run as ``python -m fakes.lab.process --scenario S1 --lab-file PATH``. The
virtual clocks follow wall time, so the fakes' own timers (Hyper-V replica
cycles, retries, vCenter tasks) and the workloads run as they would on real
systems.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from fakes.lab.labfile import LabFile
from fakes.lab.scenarios import SCENARIOS, LabContext, Load
from fakes.workload import WorkloadGenerator

#: Churn per machine (bytes of writes per second of wall time): small, but visible in every cycle.
CHURN_PER_VM = 64 * 1024
TICK = 0.5


class RunningLoad:
    """One load: its workload (when it has disks) and its clock, moved together."""

    def __init__(self, load: Load, seed: int) -> None:
        self.load = load
        self.workload = (
            WorkloadGenerator(
                load.disks,
                seed=seed,
                churn_bytes_per_sec=CHURN_PER_VM * load.machines,
                io_size=(512, 65536),
                clock=load.clock,
            )
            if load.disks
            else None
        )

    def advance(self, seconds: float) -> None:
        # Under the load's lock: the servers' worker threads and the clock's timers share the fakes.
        with self.load.lock:
            if self.workload is not None:
                self.workload.run_for(seconds)
            self.load.clock.advance(seconds)


def _run_until(stop: threading.Event, loads: list[RunningLoad]) -> None:
    last = time.monotonic()
    while not stop.wait(TICK):
        now = time.monotonic()
        for load in loads:
            load.advance(now - last)
        last = now


def serve(scenario: str, lab_file: Path, seed: int) -> None:
    """Serve the scenario until SIGTERM or SIGINT, then remove the lab file and stop."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    context = LabContext(seed, time.time(), secrets.token_urlsafe(12))
    with ExitStack() as stack:
        served = SCENARIOS[scenario](context, stack)
        # Registered last, so it runs first: the file goes before the servers stop.
        stack.callback(lab_file.unlink, missing_ok=True)
        LabFile(os.getpid(), scenario, served.hosts).write(lab_file)
        loads = [RunningLoad(load, seed + index) for index, load in enumerate(served.loads)]
        _run_until(stop, loads)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point of the lab process."""
    parser = argparse.ArgumentParser(prog="python -m fakes.lab.process")
    parser.add_argument("--scenario", choices=list(SCENARIOS), default="S1")
    parser.add_argument("--lab-file", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args(argv)
    serve(options.scenario, options.lab_file, options.seed)


if __name__ == "__main__":
    main()
