"""``srp lab``: start and stop the simulated lab (fabrics on loopback, real protocols)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from fakes.lab.labfile import SCENARIO_IDS, LabFile, scenario_id
from provider.cli import output
from provider.errors import ConfigurationError
from provider.settings import Settings

lab_app = typer.Typer(help="Start and stop the simulated lab.", no_args_is_help=True)

STARTUP_SECONDS = 30.0


def lab_file_path() -> Path:
    """Where the running lab describes itself."""
    return Settings.from_env().home / "lab.json"


def start_lab(scenario: str, path: Path) -> LabFile:
    """Start the lab process in the background and wait for its lab file.

    ``scenario`` is any case of a scenario id (``s3``, ``all``); an unknown one
    is refused before anything starts.
    """
    scenario = scenario_id(scenario)
    if path.exists():
        running = LabFile.read(path)
        if _alive(running.pid):
            raise ConfigurationError(
                f"a lab is already running (pid {running.pid})", hint="stop it with `srp lab down`"
            )
        path.unlink()
    command = [sys.executable, "-m", "fakes.lab.process", "--scenario", scenario]
    log = path.with_suffix(".log").open("w")
    process = subprocess.Popen(
        [*command, "--lab-file", str(path)], stdout=log, stderr=log, start_new_session=True
    )
    return _wait_for(path, process)


def _wait_for(path: Path, process: subprocess.Popen[bytes]) -> LabFile:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if path.exists():
            return LabFile.read(path)
        if process.poll() is not None:
            raise ConfigurationError(
                f"the lab process exited with status {process.returncode}",
                hint=f"see {path.with_suffix('.log')}",
            )
        time.sleep(0.1)
    process.terminate()
    raise ConfigurationError(f"the lab did not start within {STARTUP_SECONDS:.0f} s")


def stop_lab(path: Path) -> LabFile:
    """Stop the running lab and wait until it has removed its lab file."""
    running = LabFile.read(path)
    if _alive(running.pid):
        os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + STARTUP_SECONDS
    while _alive(running.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    path.unlink(missing_ok=True)
    return running


def _alive(pid: int) -> bool:
    try:
        # Reap it when it is our own child (e.g. started by this process), so a
        # finished lab is not kept as a zombie that still answers kill(pid, 0).
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _rows(lab: LabFile) -> list[dict[str, object]]:
    return [
        {"host": h.name, "kind": h.kind, "address": h.address, "username": h.username}
        for h in lab.hosts
    ]


@lab_app.command("up")
def up(
    scenario: Annotated[
        str, typer.Option("--scenario", help=f"Scenario to simulate: {', '.join(SCENARIO_IDS)}.")
    ] = "S1",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Start the simulated fabrics of a scenario on loopback, with running workloads."""
    lab = start_lab(scenario, lab_file_path())
    output.emit(
        _rows(lab),
        ["host", "kind", "address", "username"],
        as_json=as_json,
        title=f"lab {lab.scenario} (pid {lab.pid}); credentials in {lab_file_path()}",
    )


@lab_app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show the running lab."""
    lab = LabFile.read(lab_file_path())
    output.emit(
        _rows(lab),
        ["host", "kind", "address", "username"],
        as_json=as_json,
        title=f"lab {lab.scenario} (pid {lab.pid})",
    )


@lab_app.command("down")
def down() -> None:
    """Stop the simulated lab."""
    lab = stop_lab(lab_file_path())
    output.stdout.print(f"lab {lab.scenario} (pid {lab.pid}) stopped", highlight=False)
