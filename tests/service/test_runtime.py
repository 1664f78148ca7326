"""The service process: one per vault, discovery file, TLS, graceful SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from service_testkit import Lab

from provider.cli.app import main
from provider.errors import AlreadyExists
from provider.service.runtime import Listen, ServiceRuntime
from provider.settings import Settings
from provider.store.vaultstore import VaultStore
from provider.vault.setup import init_vault


def test_discovery_file_names_the_running_service(lab: Lab) -> None:
    record = json.loads((lab.home / "service.json").read_text())
    assert record == {"url": lab.url, "pid": os.getpid()}


def test_tls_discovery_file_names_the_ca(tls_lab: Lab) -> None:
    record = json.loads((tls_lab.home / "service.json").read_text())
    assert record["ca"] == str(tls_lab.ca)
    assert record["url"].startswith("https://")


def test_second_service_on_the_vault_is_refused_naming_the_pid(lab: Lab) -> None:
    second = ServiceRuntime(Settings.from_env({"SRP_HOME": str(lab.home)}), Listen(port=0))
    with pytest.raises(AlreadyExists) as refused:
        second.start()
    assert refused.value.message == (
        f"a service is already running on the vault in {lab.home} (pid {os.getpid()})"
    )
    # The running service is untouched: its discovery file is still there.
    assert json.loads((lab.home / "service.json").read_text())["url"] == lab.url


def test_second_srp_serve_exits_7(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SRP_HOME", str(lab.home))
    assert main(["serve", "--port", "0"]) == 7
    assert capsys.readouterr().err.strip() == (
        f"srp: error: a service is already running on the vault in {lab.home} "
        f"(pid {os.getpid()}) (stop it first, or use the running one)"
    )


def test_tls_needs_both_files(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="TLS needs both --cert and --key"):
        ServiceRuntime(
            Settings.from_env({"SRP_HOME": str(tmp_path)}), Listen(port=0, cert=tmp_path)
        )


def _wait_for(path: Path, process: subprocess.Popen[bytes]) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists():
            return dict(json.loads(path.read_text()))
        time.sleep(0.05)
    raise AssertionError(f"no {path} (exit {process.poll()})")


def test_srp_serve_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with VaultStore.open(Settings.from_env({"SRP_HOME": str(home)})) as store:
        token = init_vault(store, home).token.token.reveal()
    env = {**os.environ, "SRP_HOME": str(home)}
    env.pop("SRP_DATABASE_URL", None)
    command = [
        sys.executable,
        "-c",
        "from provider.cli.app import run; run()",
        "serve",
        "--port",
        "0",
    ]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    try:
        record = _wait_for(home / "service.json", process)
        answer = httpx.get(f"{record['url']}/jobs", headers={"Authorization": f"Bearer {token}"})
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert record["pid"] == process.pid
    assert answer.json() == []
    assert code == 0
    assert not (home / "service.json").exists()
    assert process.stderr is not None
    assert process.stderr.read().decode().strip() == f"srp service on {record['url']}"
