"""The lab process: serve a scenario's fabrics until told to stop.

Run as ``python -m fakes.lab.process --scenario S1 --lab-file PATH``. The
virtual clock follows wall time, so Hyper-V's own timers (replica cycles,
retries) and the workloads run as they would on real hosts.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import threading
import time
from pathlib import Path

from fakes.clock import VirtualClock
from fakes.hyperv import HyperVLab, start_winrm_lab
from fakes.hyperv.backend import ServedLab
from fakes.lab.labfile import LabFile, LabHost
from fakes.lab.scenarios import SCENARIOS
from fakes.workload import WorkloadGenerator

#: Churn per VM (bytes of writes per second of wall time): small, but visible in every cycle.
CHURN_PER_VM = 64 * 1024
TICK = 0.5


def _served_hosts(lab: HyperVLab, served: ServedLab) -> tuple[LabHost, ...]:
    username, password = served.credentials
    return tuple(
        LabHost(host.name, "hyperv", served.endpoint(host.name), username, password, "ntlm")
        for host in lab.hosts
    )


def _workload(lab: HyperVLab, clock: VirtualClock, seed: int) -> WorkloadGenerator:
    disks = [disk for host in lab.hosts for vm in host.vms for disk in vm.disks]
    churn = CHURN_PER_VM * sum(len(host.vms) for host in lab.hosts)
    return WorkloadGenerator(
        disks, seed=seed, churn_bytes_per_sec=churn, io_size=(512, 65536), clock=clock
    )


def _run_until(
    stop: threading.Event, lab: HyperVLab, clock: VirtualClock, workload: WorkloadGenerator
) -> None:
    last = time.monotonic()
    while not stop.wait(TICK):
        now = time.monotonic()
        with lab.lock:
            workload.run_for(now - last)
            clock.advance(now - last)
        last = now


def serve(scenario: str, lab_file: Path, seed: int) -> None:
    """Serve the scenario until SIGTERM or SIGINT, then remove the lab file."""
    clock = VirtualClock(start=time.time())
    lab = SCENARIOS[scenario](seed, clock)
    password = secrets.token_urlsafe(12)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with start_winrm_lab(lab, users={"LAB\\srpadmin": password}) as served:
        LabFile(os.getpid(), scenario, _served_hosts(lab, served)).write(lab_file)
        try:
            _run_until(stop, lab, clock, _workload(lab, clock, seed))
        finally:
            lab_file.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point of the lab process."""
    parser = argparse.ArgumentParser(prog="python -m fakes.lab.process")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="S1")
    parser.add_argument("--lab-file", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args(argv)
    serve(options.scenario, options.lab_file, options.seed)


if __name__ == "__main__":
    main()
