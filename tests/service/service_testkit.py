"""A running provider service on loopback, a simulated fabric, and the real CLI.

``lab`` starts the real service (uvicorn on an ephemeral 127.0.0.1 port, in
a thread) over a fresh vault, with a :class:`SimulatedFabricPlugin` and the
cloud target plugin in its plugin manager, and a virtual clock that starts
at the real time (so credentials files the CLI issues are current). The
scheduler thread is off: tests call ``lab.tick()``.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import provider.targets.cloud as cloud_target
from fakes.clock import VirtualClock
from fakes.fabric import SimulatedFabric, SimulatedFabricPlugin
from fakes.winrm.tls import generate_tls_material
from fakes.workload import write_pattern
from provider.cli.app import main
from provider.engine.forwarder import RetryPolicy
from provider.pluginmanager import PluginManager
from provider.service.app import service_of
from provider.service.context import ServiceContext, ServiceOptions
from provider.service.runtime import Listen, ServiceRuntime
from provider.service.scheduler import TickReport
from provider.settings import Settings
from provider.store.vaultstore import VaultStore
from provider.vault.credentials import issue_credentials
from provider.vault.setup import init_vault, open_vault

KIB = 1024
ADDRESS = "sim-01"
USERNAME = "admin"
PASSWORD = "s3cret-pw"


@dataclass
class Lab:
    """The running service and everything around it."""

    root: Path
    home: Path
    url: str
    token: str
    clock: VirtualClock
    plugin: SimulatedFabricPlugin
    fabric: SimulatedFabric
    runtime: ServiceRuntime
    ca: Path | None = None

    @property
    def svc(self) -> ServiceContext:
        return service_of(self.runtime.app)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token if token is None else token}"}
        verify: Any = ssl.create_default_context(cafile=str(self.ca)) if self.ca else True
        return httpx.Client(base_url=self.url, headers=headers, verify=verify, timeout=60)

    def credentials(self, *, valid_days: float = 5, now: float | None = None) -> bytes:
        with VaultStore.open(Settings.from_env({"SRP_HOME": str(self.home)})) as store:
            vault = open_vault(store, self.home)
        issued_at = self.clock.now() if now is None else now
        return issue_credentials(vault, now=issued_at, valid_days=valid_days)

    def register_body(self, **changes: Any) -> dict[str, Any]:
        body = {
            "kind": "simulated",
            "address": ADDRESS,
            "username": USERNAME,
            "password": PASSWORD,
            "credentials": self.credentials().decode(),
        }
        body.update(changes)
        return body

    def tick(self, advance: float = 0.0) -> TickReport:
        self.clock.advance(advance)
        return self.svc.scheduler.tick()

    def wait_job(self, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
        with self.client() as client:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                job = client.get(f"/jobs/{job_id}").json()
                if job["state"] in ("succeeded", "failed", "cancelled"):
                    return dict(job)
                time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish")


def build_fabric(plugin: SimulatedFabricPlugin) -> SimulatedFabric:
    fabric = plugin.add_fabric(ADDRESS, username=USERNAME, password=PASSWORD)
    web = fabric.add_machine("web01", disks=[256 * KIB], networks=("net-prod",))
    db = fabric.add_machine("db01", disks=[128 * KIB, 64 * KIB], networks=("net-prod", "net-db"))
    for index, disk in enumerate([*web.disks.values(), *db.disks.values()]):
        write_pattern(disk, 0, 32 * KIB, seed=index)
    return fabric


def start_lab(root: Path, listen: Listen, ca: Path | None = None) -> Lab:
    clock = VirtualClock(start=float(int(time.time())))
    plugin = SimulatedFabricPlugin(clock=clock)
    fabric = build_fabric(plugin)
    home = root / "home"
    settings = Settings.from_env({"SRP_HOME": str(home)})
    with VaultStore.open(settings) as store:
        token = init_vault(store, home, clock=clock.now).token.token.reveal()
    manager = PluginManager()
    manager.register(cloud_target, name="cloud")
    manager.register(plugin, name="simulated")
    # Retries stay real but quick: a test of an outage should not sleep for seconds.
    quick = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05)
    options = ServiceOptions(scheduler_interval=None, stop_timeout=20, retry=quick)
    runtime = ServiceRuntime(settings, listen, plugins=manager, clock=clock.now, options=options)
    url = runtime.start()
    return Lab(root, home, url, token, clock, plugin, fabric, runtime, ca)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    running = start_lab(tmp_path, Listen(port=0))
    try:
        yield running
    finally:
        running.runtime.stop()


@pytest.fixture
def tls_lab(tmp_path: Path) -> Iterator[Lab]:
    tls_dir = tmp_path / "tls"
    tls_dir.mkdir()
    material = generate_tls_material(tls_dir)
    listen = Listen(port=0, cert=material.server_cert, key=material.server_key, ca=material.ca_cert)
    running = start_lab(tmp_path, listen, material.ca_cert)
    try:
        yield running
    finally:
        running.runtime.stop()


@pytest.fixture
def cli_env(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> Lab:
    """The CLI pointed at the lab through SRP_HOME's service.json and SRP_TOKEN."""
    monkeypatch.setenv("SRP_HOME", str(lab.home))
    monkeypatch.setenv("SRP_TOKEN", lab.token)
    for name in ("SRP_URL", "SRP_CA", "SRP_TOKEN_FILE", "SRP_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return lab


def setup_protection(lab: Lab, client: httpx.Client, *, frequency: int = 30, **policy: Any) -> None:
    """Register the simulated fabric, add a target and a policy named ``p30``."""
    assert client.post("/fabrics", json=lab.register_body()).status_code == 201
    target = {"name": "cloud1", "location": str(lab.root / "account")}
    assert client.post("/targets", json=target).status_code == 201
    body = {"name": "p30", "copy_frequency_sec": frequency, **policy}
    assert client.post("/policies", json=body).status_code == 201


# ----------------------------------------------------------------------
# Scenario services: the real service with real plugins, driven by the real CLI

Capture = pytest.CaptureFixture[str]
#: Job states after which a job never changes again.
FINAL_JOB_STATES = ("succeeded", "failed", "cancelled")


def start_plugin_service(
    home: Path, clock: VirtualClock, plugins: dict[str, object]
) -> tuple[ServiceRuntime, str]:
    """A fresh vault at ``home`` and a started service with exactly ``plugins``; its admin token."""
    settings = Settings.from_env({"SRP_HOME": str(home)})
    with VaultStore.open(settings) as store:
        token = init_vault(store, home, clock=clock.now).token.token.reveal()
    manager = PluginManager()
    for name, plugin in plugins.items():
        manager.register(plugin, name=name)
    quick = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05)
    options = ServiceOptions(scheduler_interval=None, stop_timeout=20, retry=quick)
    runtime = ServiceRuntime(
        settings, Listen(port=0), plugins=manager, clock=clock.now, options=options
    )
    runtime.start()
    return runtime, token


def point_cli_at(monkeypatch: pytest.MonkeyPatch, home: Path, token: str) -> None:
    """Make ``srp`` find the service through ``SRP_HOME``'s service.json, with ``token``."""
    monkeypatch.setenv("SRP_HOME", str(home))
    monkeypatch.setenv("SRP_TOKEN", token)
    for name in ("SRP_URL", "SRP_CA", "SRP_TOKEN_FILE", "SRP_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@dataclass
class Cli:
    """The real ``srp`` command run in-process, its output captured per call."""

    capsys: Capture

    def run(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(list(argv))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def ok(self, *argv: str) -> str:
        code, out, err = self.run(*argv)
        assert code == 0, f"srp {' '.join(argv)} exited {code}: {err}"
        return out

    def json(self, *argv: str) -> Any:
        return json.loads(self.ok(*argv, "--json"))

    def wait_job(self, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Poll ``srp job show`` until the job is final; its last view."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.json("job", "show", job_id)
            if job["state"] in FINAL_JOB_STATES:
                return dict(job)
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish")
