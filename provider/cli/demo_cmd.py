"""``srp demo``: the main job, end to end against the simulated lab.

It does what an operator does on a first day, through the same commands:
initialise a vault, start the provider service, start the lab (simulated
Hyper-V hosts on loopback WinRM, with running workloads), issue a vault
credentials file and register every host with it, add the cloud target and
a policy, protect every machine, wait for recovery points, run a test
failover whose drill proves every disk's bytes, clean it up, and print a
summary. Each step prints the command it stands for. Everything lives in
``SRP_HOME``; the service and the lab are stopped at the end unless
``--keep-service`` is given.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from fakes.lab.labfile import LabFile
from provider.cli import output
from provider.cli.client import ServiceClient
from provider.cli.lab_cmd import start_lab, stop_lab
from provider.errors import ConfigurationError
from provider.settings import Settings

SERVICE_START_SECONDS = 60.0
#: The demo's policy replicates every 30 s so recovery points arrive while you watch.
POLICY = "demo-30s"
TARGET = "cloud"
VNET_ID = "vnet-prod"
VNET = f"{VNET_ID}=10.10.0.0/24"


class Demo:
    """The demo's steps; ``run`` is the main job."""

    def __init__(self, home: Path, cli: Callable[[list[str]], int], points: int) -> None:
        self.home, self.cli, self.points_wanted = home, cli, points
        self.lab_file = home / "lab.json"

    def srp(self, *args: str) -> None:
        """Run one srp command as an operator would type it; stop the demo if it fails."""
        output.stdout.print(f"\n[bold]$ srp {' '.join(args)}[/bold]")
        code = self.cli(list(args))
        if code != 0:
            raise ConfigurationError(f"the demo stopped: `srp {' '.join(args)}` exited {code}")

    def run(self, keep_service: bool) -> None:
        """Every step, cleaning up the lab and the service even when a step fails."""
        self.srp("vault", "init", "--save-token")
        with self.service(keep_service), self.lab() as lab:
            self.register(lab)
            self.protect(lab)
            self.wait_for_points()
            self.drill()
            self.srp("status")

    @contextmanager
    def service(self, keep: bool) -> Iterator[None]:
        """`srp serve --port 0` in the background, until the demo ends."""
        output.stdout.print("\n[bold]$ srp serve --port 0 &[/bold]")
        log = (self.home / "service.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "provider.cli.app", "serve", "--port", "0"],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            self._wait_for_service(process)
            yield
        finally:
            if keep:
                output.stdout.print(
                    f"service left running (pid {process.pid}); stop: kill {process.pid}"
                )
            else:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)

    def _wait_for_service(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + SERVICE_START_SECONDS
        while not (self.home / "service.json").exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise ConfigurationError(
                    "the provider service did not start", hint=f"see {self.home / 'service.log'}"
                )
            time.sleep(0.2)

    @contextmanager
    def lab(self) -> Iterator[LabFile]:
        """`srp lab up`, until the demo ends."""
        output.stdout.print("\n[bold]$ srp lab up --scenario S1[/bold]")
        lab = start_lab("S1", self.lab_file)
        for host in lab.hosts:
            output.stdout.print(f"  {host.name}: {host.kind} at {host.address}", highlight=False)
        try:
            yield lab
        finally:
            output.stdout.print("\n[bold]$ srp lab down[/bold]")
            stop_lab(self.lab_file)

    def register(self, lab: LabFile) -> None:
        """Issue a vault credentials file, register every host with it, add target and policy."""
        credentials = self.home / "vault-credentials.xml"
        self.srp("vault", "credentials", "--out", str(credentials))
        for host in lab.hosts:
            os.environ["SRP_DEMO_PASSWORD"] = host.password
            self.srp(
                "register",
                "--kind",
                host.kind,
                "--name",
                host.name,
                "--address",
                host.address,
                "--credentials-file",
                str(credentials),
                "--username",
                host.username,
                "--password-env",
                "SRP_DEMO_PASSWORD",
                "--option",
                f"transport={host.transport}",
            )
        account = str(self.home / "storage-account")
        self.srp("target", "add", TARGET, "--path", account, "--option", f"networks={VNET}")
        self.map_networks(lab)
        self.srp("policy", "create", POLICY, "--copy-frequency", "30", "--retention-hours", "2")

    def map_networks(self, lab: LabFile) -> None:
        """Map every host network to the target's production network, keeping IPs."""
        for host in lab.hosts:
            with ServiceClient.from_env() as client:
                networks = client.get(f"/fabrics/{host.name}")["inventory"]["networks"]
            for network in networks:
                self.srp(
                    "mapping",
                    "network",
                    "add",
                    network["name"],
                    VNET_ID,
                    "--fabric",
                    host.name,
                    "--target",
                    TARGET,
                )

    def protect(self, lab: LabFile) -> None:
        """Protect every machine of every host; initial replication shows its progress."""
        self.srp("machine", "list")
        for host in lab.hosts:
            names = self._machines(host.name)
            self.srp(
                "protect",
                *names,
                "--fabric",
                host.name,
                "--policy",
                POLICY,
                "--target",
                TARGET,
                "--wait",
            )

    def _machines(self, fabric: str) -> list[str]:
        with ServiceClient.from_env() as client:
            rows = client.get("/machines", {"fabric": fabric})
        return sorted(str(row["name"]) for row in rows)

    def wait_for_points(self) -> None:
        """Wait until every item has the wanted number of recovery points (cycles every 30 s)."""
        output.stdout.print(f"\nwaiting for {self.points_wanted} recovery points per machine...")
        with ServiceClient.from_env() as client, _bar() as bar:
            items = client.get("/items")
            task = bar.add_task("recovery points", total=len(items) * self.points_wanted)
            while True:
                counts = [len(client.get(f"/items/{i['item_id']}/points")) for i in items]
                bar.update(task, completed=sum(min(c, self.points_wanted) for c in counts))
                if min(counts) >= self.points_wanted:
                    return
                time.sleep(1.0)

    def drill(self) -> None:
        """Test failover of every machine (the drill table proves each disk), then cleanup."""
        with ServiceClient.from_env() as client:
            items = sorted(str(i["machine"]) for i in client.get("/items"))
        # --wait prints the drill report and fails unless every disk matched its source.
        self.srp("failover", "test", *items, "--wait")
        self.srp("failover", "cleanup", *items, "--wait")


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=output.stdout,
    )


def demo(
    keep_service: Annotated[
        bool, typer.Option("--keep-service", help="Leave the service running at the end.")
    ] = False,
    points: Annotated[int, typer.Option(help="Recovery points to wait for per machine.")] = 2,
) -> None:
    """Run the main job: lab, service, register, protect, recovery points, drill."""
    from provider.cli.app import main  # the demo drives the CLI as an operator does

    settings = Settings.from_env()
    if any(settings.home.glob("vault.*")):
        raise ConfigurationError(
            f"SRP_HOME {settings.home} already holds a vault; the demo needs an empty one",
            hint="point SRP_HOME at a new directory (scripts/demo uses ./demo-home)",
        )
    Demo(settings.home, main, points).run(keep_service)
    output.stdout.print(
        "\n[bold green]demo complete[/bold green]: every drill disk matched its source."
    )
