"""Recovery plans through the running service over HTTP, and ``srp plan`` through the real CLI."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_testkit import Lab, setup_protection

from fakes.compute import SimulatedCompute
from provider.cli.app import main

PLAN = """
name = "erp"
concurrency = 2

[[groups]]
name = "databases"
machines = ["db01"]

[[groups.post]]
name = "dns"
kind = "manual"
message = "point DNS at the replicas"

[[groups]]
name = "web"
machines = ["web01", "ghost01"]
"""


def map_network(client: httpx.Client, source: str) -> None:
    body = {
        "fabric": "sim-01",
        "source_network": source,
        "target": "cloud1",
        "target_network": "vnet-prod",
    }
    assert client.post("/mappings/networks", json=body).status_code == 201


@pytest.fixture
def protected(lab: Lab) -> Any:
    """web01 and db01 protected, only net-prod mapped."""
    with lab.client() as client:
        setup_protection(lab, client)
        SimulatedCompute.at(lab.root / "account" / "compute").add_network(
            "vnet-prod", subnet="10.1.0.0/24"
        )
        body = {"machines": ["web01", "db01"], "policy": "p30", "target": "cloud1"}
        answer = client.post("/items", json=body)
        assert answer.status_code == 202, answer.text
        assert lab.wait_job(answer.json()["job_id"])["state"] == "succeeded"
        map_network(client, "net-prod")
        yield client


def test_validate_lists_every_problem_against_the_vault(protected: httpx.Client) -> None:
    answer = protected.post("/plans/validate", json={"text": PLAN, "source": "erp.toml"})
    assert answer.status_code == 200
    assert answer.json() == {
        "name": "erp",
        "problems": [
            "group databases: machine 'db01': NIC "
            + _nic(protected, "db01", 1)
            + " is on network 'net-db', which has no network mapping to target "
            + _target(protected),
            "group web: machine 'ghost01' is unknown: no protected item or discovered machine "
            "has that name",
        ],
    }
    broken = protected.post("/plans/validate", json={"text": "name = 'x'\n[[groups]]\n"})
    assert broken.json()["problems"] == [
        "plan.toml: line 2: group 1: name: must be a non-empty text, got None",
        "plan.toml: line 2: group 1: machines: must be a list of machine names (texts)",
    ]


def test_a_plan_is_stored_run_paused_and_resumed(lab: Lab, protected: httpx.Client) -> None:
    refused = protected.post("/plans", json={"text": PLAN})
    assert refused.status_code == 422
    assert refused.json()["error"]["type"] == "PlanError"
    map_network(protected, "net-db")
    text = PLAN.replace(', "ghost01"', "")
    created = protected.post("/plans", json={"text": text})
    assert created.status_code == 201, created.text
    assert [p["name"] for p in protected.get("/plans").json()] == ["erp"]
    shown = protected.get("/plans/erp").json()
    assert (shown["machines"], shown["concurrency"], shown["groups"][1]["machines"]) == (
        2,
        2,
        ["web01"],
    )
    answer = protected.post("/plans/erp/run", json={"mode": "test"})
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["job_id"]
    waiting = _wait(protected, job_id, "waiting")
    assert [t["state"] for t in waiting["tasks"]] == ["done", "running", "pending"]
    resumed = protected.post(f"/plans/jobs/{job_id}/resume", json={})
    assert resumed.status_code == 202
    job = lab.wait_job(job_id)
    assert (job["kind"], job["state"], job["error"]) == ("plan.test", "succeeded", "")
    states = {i["machine"]: i["state"] for i in protected.get("/items").json()}
    assert states == {"web01": "test_failover", "db01": "test_failover"}


def test_srp_plan_validate_prints_each_problem_and_exits_4(
    cli_env: Lab, protected: httpx.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "erp.toml"
    plan.write_text(PLAN, encoding="utf-8")
    assert main(["plan", "validate", str(plan)]) == 4
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "group databases: machine 'db01': NIC "
        + _nic(protected, "db01", 1)
        + " is on network 'net-db', which has no network mapping to target "
        + _target(protected),
        "group web: machine 'ghost01' is unknown: no protected item or discovered machine has "
        "that name",
    ]
    assert err == f"srp: error: {plan}: 2 problem(s)\n"


def _wait(client: httpx.Client, job_id: str, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if job["state"] == state:
            return dict(job)
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never became {state}")


def _nic(client: httpx.Client, machine: str, index: int) -> str:
    (item,) = [i for i in client.get("/items").json() if i["machine"] == machine]
    return f"{item['machine_id']}-nic{index}"


def _target(client: httpx.Client) -> str:
    return str(client.get("/items").json()[0]["target"])
