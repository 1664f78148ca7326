"""Protect -> initial-replication job -> PROTECTED; the scheduler's ticks; disable."""

from __future__ import annotations

from typing import Any

import httpx
from service_testkit import KIB, PASSWORD, USERNAME, Lab, setup_protection

from fakes.workload import write_pattern
from provider.blockdigest import digest_of_bytes


def _protect(client: httpx.Client, *machines: str, group: str = "") -> dict[str, Any]:
    body = {"machines": list(machines), "policy": "p30", "target": "cloud1", "group": group}
    response = client.post("/items", json=body)
    assert response.status_code == 202, response.text
    return dict(response.json())


def _items(client: httpx.Client) -> dict[str, dict[str, Any]]:
    return {item["machine"]: item for item in client.get("/items").json()}


def test_protect_runs_initial_replication_to_a_verified_point(lab: Lab) -> None:
    with lab.client() as client:
        setup_protection(lab, client)
        answer = _protect(client, "web01")
        job = lab.wait_job(answer["job_id"])
        item = _items(client)["web01"]
        points = client.get(f"/items/{item['item_id']}/points").json()
    assert answer["items"][0]["state"] == "initial_replication"
    assert (job["kind"], job["state"], job["progress"]) == ("initial-replication", "succeeded", 1)
    assert [(t["task_id"], t["name"], t["state"], t["progress"]) for t in job["tasks"]] == [
        (item["item_id"], "web01", "done", 1.0)
    ]
    assert (item["state"], item["health"], item["health_reasons"]) == ("protected", "normal", [])
    assert item["rpo_seconds"] == 0.0
    assert [p["point_id"] for p in points] == [item["last_point"]]
    disk = next(iter(lab.fabric.machines[item["machine_id"]].disks.values()))
    assert points[0]["disks"][0]["digest"] == digest_of_bytes(disk.read(0, disk.capacity))


def test_scheduler_cycles_only_when_the_policy_is_due(lab: Lab) -> None:
    with lab.client() as client:
        setup_protection(lab, client)
        lab.wait_job(_protect(client, "web01")["job_id"])
        item_id = _items(client)["web01"]["item_id"]
        early = lab.tick(advance=10)
        disk = next(iter(lab.fabric.machines[_items(client)["web01"]["machine_id"]].disks.values()))
        write_pattern(disk, 64 * KIB, 8 * KIB, seed=7)
        due = lab.tick(advance=20)
        points = client.get(f"/items/{item_id}/points").json()
    assert early.runs == () and early.assessed == 1
    assert due.cycled == (item_id,)
    assert len(points) == 2
    assert points[-1]["disks"][0]["digest"] == digest_of_bytes(disk.read(0, disk.capacity))


def test_a_replication_group_is_cut_together(lab: Lab) -> None:
    with lab.client() as client:
        setup_protection(lab, client)
        lab.wait_job(_protect(client, "web01", "db01", group="shop")["job_id"])
        report = lab.tick(advance=30)
        items = _items(client)
        latest = [
            client.get(f"/items/{items[name]['item_id']}/points").json()[-1]
            for name in ("web01", "db01")
        ]
    assert sorted(report.cycled) == sorted(items[name]["item_id"] for name in ("web01", "db01"))
    assert len(report.runs) == 1
    assert latest[0]["cut_id"] == latest[1]["cut_id"] == latest[0]["group_cut"] != ""


def test_one_failing_fabric_never_stops_the_others(lab: Lab) -> None:
    second = lab.plugin.add_fabric("sim-02", username=USERNAME, password=PASSWORD)
    second.add_machine("far01", disks=[64 * KIB])
    with lab.client() as client:
        setup_protection(lab, client)
        body = lab.register_body(address="sim-02")
        assert client.post("/fabrics", json=body).status_code == 201
        lab.wait_job(_protect(client, "web01", "far01")["job_id"])
        second.unreachable = True
        report = lab.tick(advance=30)
        items = _items(client)
    assert report.cycled == (items["web01"]["item_id"],)
    assert report.failed == (items["far01"]["item_id"],)
    assert {run.item_ids: run.error for run in report.runs} == {
        (items["web01"]["item_id"],): "",
        (items["far01"]["item_id"],): "sim-02: no simulated fabric answers there",
    }


def test_health_and_rpo_are_reassessed_every_tick_without_cycles(lab: Lab) -> None:
    with lab.client() as client:
        setup_protection(lab, client)
        lab.wait_job(_protect(client, "web01")["job_id"])
        lab.fabric.unreachable = True
        lab.tick(advance=31 * 60)
        item = _items(client)["web01"]
    assert item["health"] == "warning"
    assert item["rpo_seconds"] == 31 * 60
    assert item["health_reasons"] == [
        "RPO is 31.0 min, over the 30 min threshold",
        "1 of 2 cycles in the last hour were missed "
        "(last: sim-01: no simulated fabric answers there)",
    ]


def test_app_consistent_points_follow_the_policy_frequency(lab: Lab) -> None:
    with lab.client() as client:
        setup_protection(lab, client, app_consistent_frequency_hours=1)
        lab.wait_job(_protect(client, "web01")["job_id"])
        item_id = _items(client)["web01"]["item_id"]
        lab.tick(advance=30)
        lab.tick(advance=30)
        lab.tick(advance=3600)
        kinds = [p["consistency"] for p in client.get(f"/items/{item_id}/points").json()]
    assert kinds == ["crash", "app", "crash", "app"]


def test_failed_quiesce_raises_a_health_warning(lab: Lab) -> None:
    with lab.client() as client:
        setup_protection(lab, client, app_consistent_frequency_hours=1)
        lab.wait_job(_protect(client, "web01")["job_id"])
        lab.fabric.quiesce_fails = True
        lab.tick(advance=30)
        item = _items(client)["web01"]
    assert item["health"] == "warning"
    assert item["health_reasons"] == [
        "no app-consistent point: quiesce failed: the guest did not freeze; crash-consistent cut"
    ]


def test_disable_forgets_the_item_and_allows_protecting_again(lab: Lab) -> None:
    with lab.client() as client:
        setup_protection(lab, client)
        lab.wait_job(_protect(client, "web01")["job_id"])
        item_id = _items(client)["web01"]["item_id"]
        disabled = client.post(f"/items/{item_id}/disable").json()
        after = client.get(f"/items/{item_id}")
        again = _protect(client, "web01")
    assert disabled == {"item_id": item_id, "machine": "web01", "state": "disabled", "warning": ""}
    assert after.status_code == 404
    assert lab.wait_job(again["job_id"])["state"] == "succeeded"


def test_protecting_twice_and_unknown_machines_are_refused(lab: Lab) -> None:
    with lab.client() as client:
        setup_protection(lab, client)
        lab.wait_job(_protect(client, "web01")["job_id"])
        twice = client.post(
            "/items", json={"machines": ["web01"], "policy": "p30", "target": "cloud1"}
        )
        unknown = client.post(
            "/items", json={"machines": ["nope"], "policy": "p30", "target": "cloud1"}
        )
    assert twice.status_code == 409
    assert twice.json()["error"]["message"].startswith("web01 is already protected (item item-")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == (
        "no machine 'nope' was discovered on any registered fabric"
    )


def test_policy_in_use_cannot_be_deleted(lab: Lab) -> None:
    with lab.client() as client:
        setup_protection(lab, client)
        lab.wait_job(_protect(client, "web01")["job_id"])
        response = client.delete("/policies/p30")
    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        "policy 'p30' is used by 1 protected item(s): web01"
    )


def test_network_mappings_are_checked_against_the_inventory(lab: Lab) -> None:
    with lab.client() as client:
        setup_protection(lab, client)
        body = {"fabric": "sim-01", "target": "cloud1", "target_network": "vnet-dr"}
        added = client.post("/mappings/networks", json={**body, "source_network": "net-prod"})
        unknown = client.post("/mappings/networks", json={**body, "source_network": "net-x"})
        listed = client.get("/mappings/networks").json()
        removed = client.delete("/mappings/networks/sim-01/net-prod/cloud1")
        after = client.get("/mappings/networks").json()
    assert added.status_code == 201
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == (
        "fabric 'sim-01' has no network 'net-x' in its inventory"
    )
    assert [(m["source_network"], m["target_network"]) for m in listed] == [("net-prod", "vnet-dr")]
    assert removed.status_code == 200 and after == []


def test_job_cancel_and_resume_refusals(lab: Lab) -> None:
    with lab.client() as client:
        setup_protection(lab, client)
        job_id = _protect(client, "web01")["job_id"]
        lab.wait_job(job_id)
        cancel = client.post(f"/jobs/{job_id}/cancel")
        resume = client.post(f"/jobs/{job_id}/resume", json={})
    assert cancel.status_code == 409
    assert cancel.json()["error"]["type"] == "JobError"
    assert resume.json()["error"]["message"] == (
        f"job {job_id} is succeeded; only a failed or waiting job can be resumed"
    )
