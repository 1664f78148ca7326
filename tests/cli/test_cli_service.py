"""The real CLI as the service's client: register, policies, protect, status, jobs.

Each command runs through ``provider.cli.app.main`` with SRP_HOME pointing at
the lab's vault (whose ``service.json`` names the running service).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from service_testkit import PASSWORD, Lab

from provider.cli.app import main

Capture = pytest.CaptureFixture[str]


def run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: Capture, *argv: str) -> Any:
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    return json.loads(out)


def register(lab: Lab, capsys: Capture, monkeypatch: pytest.MonkeyPatch, *extra: str):
    monkeypatch.setenv("SIM_PASSWORD", PASSWORD)
    credentials = lab.root / "vault.credentials"
    if not credentials.exists():
        assert run(capsys, "vault", "credentials", "--out", str(credentials))[0] == 0
    return run(
        capsys,
        "register",
        "--kind",
        "simulated",
        "--address",
        "sim-01",
        "--credentials-file",
        str(credentials),
        "--username",
        "admin",
        "--password-env",
        "SIM_PASSWORD",
        *extra,
    )


def prepare(lab: Lab, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    assert register(lab, capsys, monkeypatch)[0] == 0
    assert run(capsys, "policy", "create", "p30", "--copy-frequency", "30")[0] == 0
    assert run(capsys, "target", "add", "cloud1", "--path", str(lab.root / "acct"))[0] == 0


def test_register_then_list_fabrics_and_machines(
    cli_env: Lab, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = register(cli_env, capsys, monkeypatch, "--json")
    assert code == 0, err
    assert json.loads(out)["machines"] == 2
    fabrics = run_json(capsys, "fabric", "list", "--json")
    machines = run_json(capsys, "machine", "list", "--json")
    assert [(f["name"], f["kind"], f["machines"]) for f in fabrics] == [("sim-01", "simulated", 2)]
    assert [(m["name"], m["state"]) for m in machines] == [
        ("db01", "unprotected"),
        ("web01", "unprotected"),
    ]


def test_credentials_file_is_private_and_signed(cli_env: Lab, capsys: Capture) -> None:
    out = cli_env.root / "creds.xml"
    assert run(capsys, "vault", "credentials", "--out", str(out), "--valid-days", "2")[0] == 0
    assert out.stat().st_mode & 0o777 == 0o600
    text = out.read_text()
    assert f"<VaultId>{cli_env.svc.vault.vault_id}</VaultId>" in text
    assert f"<ServiceUrl>{cli_env.url}</ServiceUrl>" in text


def test_register_twice_exits_7_and_offers_reregister(
    cli_env: Lab, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert register(cli_env, capsys, monkeypatch)[0] == 0
    code, _, err = register(cli_env, capsys, monkeypatch)
    assert code == 7
    assert err.strip() == (
        "srp: error: simulated 'sim-01' is already registered as fabric 'sim-01' "
        "(register again with --reregister to replace its credentials and re-discover)"
    )
    assert register(cli_env, capsys, monkeypatch, "--reregister")[0] == 0


def test_bad_credentials_file_and_unknown_kind_exit_codes(
    cli_env: Lab, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = cli_env.root / "vault.credentials"
    bad.write_text("<VaultCredentials")
    code, _, err = register(cli_env, capsys, monkeypatch)
    assert code == 5
    assert err.startswith("srp: error: the credentials file is not well-formed XML")
    assert run(capsys, "vault", "credentials", "--out", str(bad))[0] == 0
    code, _, err = register(cli_env, capsys, monkeypatch, "--kind", "proxmox")
    assert code == 8
    assert "no plugin serves fabric kind 'proxmox'" in err


def test_protect_wait_then_status_points_and_jobs(
    cli_env: Lab, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(cli_env, capsys, monkeypatch)
    code, _, err = run(
        capsys, "protect", "web01", "--policy", "p30", "--target", "cloud1", "--wait"
    )
    assert code == 0, err
    assert "initial-replication web01: succeeded" in err
    assert err.strip().endswith("succeeded")
    items = run_json(capsys, "status", "--json")
    assert [(i["machine"], i["state"], i["health"], i["rpo_seconds"]) for i in items] == [
        ("web01", "protected", "normal", 0.0)
    ]
    points = run_json(capsys, "points", items[0]["item_id"], "--json")
    assert [p["point_id"] for p in points] == [items[0]["last_point"]]
    code, table, _ = run(capsys, "status")
    assert code == 0
    assert "web01" in table and "protected" in table and "normal" in table
    jobs = run_json(capsys, "job", "list", "--json")
    assert [(j["kind"], j["state"]) for j in jobs] == [("initial-replication", "succeeded")]
    assert run(capsys, "job", "watch", jobs[0]["job_id"])[0] == 0


def test_job_watch_exits_10_on_failure_and_resume_retry_recovers(
    cli_env: Lab, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(cli_env, capsys, monkeypatch)
    account = cli_env.root / "acct"
    shutil.rmtree(account)
    answer = run_json(capsys, "protect", "web01", "--policy", "p30", "--target", "cloud1", "--json")
    job_id = answer["job_id"]
    code, _, err = run(capsys, "job", "watch", job_id)
    assert code == 10
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith(
            f"srp: error: job {job_id} failed: task web01 failed: the first copy of web01 was "
            "shipped but no recovery point is recorded: target unavailable"
        )
    )
    account.mkdir()
    code, _, err = run(capsys, "job", "resume", job_id, "--retry", "--wait")
    assert code == 0, err
    assert run_json(capsys, "status", "--json")[0]["state"] == "protected"


def test_unregister_says_what_protection_it_stops(
    cli_env: Lab, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(cli_env, capsys, monkeypatch)
    assert (
        run(capsys, "protect", "web01", "--policy", "p30", "--target", "cloud1", "--wait")[0] == 0
    )
    item_id = run_json(capsys, "status", "--json")[0]["item_id"]
    code, out, _ = run(capsys, "unregister", "sim-01")
    assert code == 0
    assert out.splitlines() == [
        "fabric sim-01 unregistered",
        f"stopped protection of web01 (item {item_id})",
    ]


def test_policy_and_mapping_commands(
    cli_env: Lab, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(cli_env, capsys, monkeypatch)
    assert run_json(capsys, "policy", "show", "p30", "--json")["cycle_seconds"] == 30
    code, _, err = run(capsys, "policy", "create", "bad", "--copy-frequency", "60")
    assert (code, err.strip()) == (
        4,
        "srp: error: policy 'bad': copy frequency 60 s is not one Hyper-V supports "
        "(use 30, 300 or 900 seconds)",
    )
    add = ("mapping", "network", "add", "net-prod", "vnet-dr", "--fabric", "sim-01")
    assert run(capsys, *add, "--target", "cloud1")[0] == 0
    listed = run_json(capsys, "mapping", "network", "list", "--json")
    assert [(m["source_network"], m["target_network"]) for m in listed] == [("net-prod", "vnet-dr")]
    remove = ("mapping", "network", "remove", "net-prod", "--fabric", "sim-01")
    assert run(capsys, *remove, "--target", "cloud1")[0] == 0
    assert run(capsys, *remove, "--target", "cloud1")[0] == 3
    for source in ("/vmfs/volumes/ds1/web01", "C:\\ClusterStorage\\Volume1"):
        storage = ("mapping", "storage", "add", source, "premium", "--fabric", "sim-01")
        assert run(capsys, *storage, "--target", "cloud1")[0] == 0
        listed = run_json(capsys, "mapping", "storage", "list", "--json")
        assert [(m["source_storage"], m["target_storage"]) for m in listed] == [(source, "premium")]
        unmap = ("mapping", "storage", "remove", source, "--fabric", "sim-01", "--target", "cloud1")
        assert run(capsys, *unmap)[0] == 0
        assert run_json(capsys, "mapping", "storage", "list", "--json") == []
    assert run(capsys, "policy", "delete", "p30")[0] == 0
    assert run_json(capsys, "policy", "list", "--json") == []


def test_wrong_token_exits_5(
    cli_env: Lab, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SRP_TOKEN", "srp_wrong")
    code, _, err = run(capsys, "fabric", "list")
    assert code == 5
    assert err.strip() == (
        "srp: error: the API token is not known to this vault "
        "(create a token with `srp vault token create NAME`)"
    )


def test_token_file_and_revocation(
    cli_env: Lab, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SRP_TOKEN")
    created = run_json(capsys, "vault", "token", "create", "ops", "--save", "--json")
    assert (cli_env.home / "api-token").read_text().strip() == created["api_token"]
    assert run_json(capsys, "fabric", "list", "--json") == []
    names = [t["name"] for t in run_json(capsys, "vault", "token", "list", "--json")]
    assert names == ["initial", "ops"]
    assert run(capsys, "vault", "token", "revoke", "ops")[0] == 0
    code, _, err = run(capsys, "fabric", "list")
    assert code == 5
    assert "the API token 'ops' was revoked" in err


def test_tls_service_through_the_discovery_files_ca(
    tls_lab: Lab, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SRP_HOME", str(tls_lab.home))
    monkeypatch.setenv("SRP_TOKEN", tls_lab.token)
    monkeypatch.delenv("SRP_URL", raising=False)
    monkeypatch.delenv("SRP_CA", raising=False)
    assert run_json(capsys, "fabric", "list", "--json") == []


def test_no_service_exits_4(
    tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SRP_HOME", str(tmp_path))
    monkeypatch.delenv("SRP_URL", raising=False)
    code, _, err = run(capsys, "status")
    assert code == 4
    assert err.strip() == (
        f"srp: error: no srp service is known: SRP_URL is not set and {tmp_path}/service.json "
        "is missing (start one with `srp serve`, or set SRP_URL)"
    )
