"""The failover family through the running service over HTTP, byte for byte on the fakes.

Each operation answers 202 with a job the service's worker runs; refusals
come before any job exists, with the error's status and exact message. The
scheduler cycles a drilled item (replication goes on under a drill) but
never a failed-over or re-protected one.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from service_testkit import Lab, setup_protection

from fakes.compute import ISOLATED_NETWORK, SimulatedCompute
from fakes.fabric import SimulatedMachine

MAPPED_NETWORK = "vnet-prod"


class Protected:
    """web01 protected through the service, its network mapped, with one recovery point."""

    def __init__(self, lab: Lab, client: httpx.Client) -> None:
        self.lab = lab
        self.client = client
        self.compute = SimulatedCompute.at(lab.root / "account" / "compute")
        self.compute.add_network(MAPPED_NETWORK, subnet="10.1.0.0/24")
        answer = client.post(
            "/items", json={"machines": ["web01"], "policy": "p30", "target": "cloud1"}
        )
        assert answer.status_code == 202, answer.text
        assert lab.wait_job(answer.json()["job_id"])["state"] == "succeeded"
        self.item_id: str = answer.json()["items"][0]["item_id"]
        self.machine: SimulatedMachine = next(
            m for m in lab.fabric.machines.values() if m.name == "web01"
        )

    def map_network(self) -> None:
        body = {
            "fabric": "sim-01",
            "source_network": "net-prod",
            "target": "cloud1",
            "target_network": MAPPED_NETWORK,
        }
        assert self.client.post("/mappings/networks", json=body).status_code == 201

    def run(self, operation: str, **body: Any) -> dict[str, Any]:
        """POST the operation for web01, expect 202, and wait for its job."""
        answer = self.client.post(f"/failover/{operation}", json={"items": ["web01"], **body})
        assert answer.status_code == 202, answer.text
        accepted = answer.json()
        assert accepted["job"]["state"] == "queued"
        assert accepted["job"]["tasks"][0]["task_id"] == self.item_id
        return self.lab.wait_job(accepted["job_id"])

    def item(self) -> dict[str, Any]:
        return dict(self.client.get(f"/items/{self.item_id}").json())

    def source_content(self) -> dict[str, bytes]:
        return {d: disk.read(0, disk.capacity) for d, disk in self.machine.disks.items()}

    def replica_content(self, replica_id: str) -> dict[str, bytes]:
        machine = self.compute.find(replica_id)
        assert machine is not None
        return {
            d.disk_id: self.compute.read_disk(replica_id, d.disk_id, 0, d.capacity)
            for d in machine.disks
        }

    def job_count(self) -> int:
        return len(self.client.get("/jobs").json())


@pytest.fixture
def protected(lab: Lab) -> Any:
    with lab.client() as client:
        setup_protection(lab, client)
        machine = Protected(lab, client)
        machine.map_network()
        yield machine


def test_a_drill_runs_as_a_job_and_its_report_proves_the_point(protected: Protected) -> None:
    expected = protected.source_content()
    job = protected.run("test")
    assert (job["kind"], job["state"], job["error"]) == ("failover.test", "succeeded", "")
    assert job["tasks"][0]["name"] == "test failover of web01"
    (report,) = protected.client.get(f"/failover/drills/{job['job_id']}").json()
    point = protected.client.get(f"/items/{protected.item_id}/points").json()[-1]
    assert (report["item_id"], report["machine_name"], report["point_id"]) == (
        protected.item_id,
        "web01",
        point["point_id"],
    )
    assert (report["power_state"], report["network_ids"], report["verified"]) == (
        "running",
        [ISOLATED_NETWORK],
        True,
    )
    assert [(d["disk_id"], d["equal"]) for d in report["disks"]] == [
        (disk_id, True) for disk_id in protected.machine.disks
    ]
    assert all(d["source_digest"] == d["replica_digest"] for d in report["disks"])
    assert protected.replica_content(report["replica_id"]) == expected
    assert protected.item()["state"] == "test_failover"


def test_the_scheduler_keeps_replicating_under_a_drill_and_cleanup_removes_it(
    protected: Protected,
) -> None:
    job = protected.run("test")
    (report,) = protected.client.get(f"/failover/drills/{job['job_id']}").json()
    assert protected.lab.tick(advance=60).cycled == (protected.item_id,)
    cleanup = protected.run("test/cleanup")
    assert (cleanup["kind"], cleanup["state"]) == ("failover.cleanup", "succeeded")
    assert f"removed machine web01-test ({report['replica_id']})" in (
        cleanup["tasks"][0]["output"].splitlines()
    )
    assert protected.compute.find(report["replica_id"]) is None
    assert protected.item()["state"] == "protected"
    again = protected.run("test/cleanup")
    assert again["tasks"][0]["output"] == (
        f"web01 ({protected.item_id}) has no test failover to clean up\n"
    )


def test_planned_commit_reverse_failback_byte_for_byte_while_the_scheduler_stays_away(
    protected: Protected,
) -> None:
    disk_id = next(iter(protected.machine.disks))
    protected.machine.disks[disk_id].write(40_000, b"\x77" * 5000)  # only the final cut has it
    protected.lab.clock.advance(30)
    planned = protected.run("planned")
    assert (planned["state"], planned["error"]) == ("succeeded", "")
    (replica,) = protected.compute.machines(protected.item_id)
    replica_id = replica.replica_id
    assert (protected.item()["state"], protected.machine.power_state) == ("failed_over", "off")
    assert protected.replica_content(replica_id) == protected.source_content()
    assert protected.lab.tick(advance=60).cycled == ()
    assert protected.run("commit")["state"] == "succeeded"
    protected.compute.write_disk(replica_id, disk_id, 0, b"written on the replica")
    reverse = protected.run("reverse")
    assert (reverse["state"], reverse["error"]) == ("succeeded", "")
    assert (protected.item()["state"], protected.item()["direction"]) == ("protected", "reverse")
    assert protected.source_content() == protected.replica_content(replica_id)
    assert protected.lab.tick(advance=60).cycled == ()
    protected.compute.write_disk(replica_id, disk_id, 70_000, b"last words")
    final = protected.replica_content(replica_id)
    failback = protected.run("failback")
    assert (failback["state"], failback["error"]) == ("succeeded", "")
    assert protected.source_content() == final
    assert protected.machine.power_state == "running"
    assert protected.compute.find(replica_id) is None
    assert (protected.item()["state"], protected.item()["direction"]) == ("protected", "forward")
    assert protected.lab.tick(advance=60).cycled == (protected.item_id,)


def test_unplanned_to_the_latest_processed_point_then_cancel(protected: Protected) -> None:
    at_point = protected.source_content()
    points = protected.client.get(f"/items/{protected.item_id}/points").json()
    disk_id = next(iter(protected.machine.disks))
    protected.machine.disks[disk_id].write(0, b"never replicated")
    protected.lab.fabric.unreachable = True
    job = protected.run("unplanned", point="latest-processed")
    assert (job["state"], job["error"], job["params"]["point"]) == (
        "succeeded",
        "",
        "latest-processed",
    )
    assert protected.item()["state"] == "failed_over"
    (replica,) = protected.compute.machines(protected.item_id)
    assert protected.replica_content(replica.replica_id) == at_point
    assert protected.run("cancel")["state"] == "succeeded"
    assert protected.compute.find(replica.replica_id) is None
    assert protected.item()["state"] == "protected"
    assert protected.client.get(f"/items/{protected.item_id}/points").json() == points


def test_an_unmapped_network_is_refused_before_any_job(lab: Lab) -> None:
    with lab.client() as client:
        setup_protection(lab, client)
        machine = Protected(lab, client)
        jobs = machine.job_count()
        answer = client.post("/failover/planned", json={"items": [machine.item_id]})
        assert answer.status_code == 409
        assert answer.json()["error"] == {
            "type": "MappingMissing",
            "message": (
                f"web01 ({machine.item_id}): NIC {machine.machine.machine_id}-nic0 on network "
                "'net-prod' has no mapping to target 'cloud1'; nothing was changed"
            ),
            "hint": "map the network, or override to fail over without those NICs",
        }
        assert machine.job_count() == jobs
        assert machine.machine.power_state == "running"
        overridden = client.post(
            "/failover/test", json={"items": ["web01"], "allow_unmapped": True}
        )
        assert overridden.status_code == 202
        job = lab.wait_job(overridden.json()["job_id"])
        assert job["state"] == "succeeded"
        assert client.get(f"/failover/drills/{job['job_id']}").json()[0]["network_ids"] == []


#: (path, body, status, error type, message) of refusals that come before any job.
REFUSALS: list[tuple[str, dict[str, Any], int, str, str]] = [
    (
        "/failover/commit",
        {"items": ["web01"]},
        409,
        "InvalidTransition",
        "web01 ({item}): cannot go from 'protected' to 'committed'; allowed from "
        "'protected': disabling, failback, failing_over, failover_prepared, resync_required, "
        "resynchronizing, test_failover",
    ),
    (
        "/failover/unplanned",
        {"items": ["web01"], "point": "cut-none"},
        404,
        "RecoveryPointUnavailable",
        "web01 ({item}) has no recovery point 'cut-none': it is outside retention or never existed",
    ),
    (
        "/failover/test",
        {"items": ["db01"]},
        404,
        "NotFound",
        "no protected item 'db01' (neither an item id nor a protected machine's name)",
    ),
    (
        "/failover/cancel",
        {"group": "nope"},
        404,
        "NotFound",
        "no protected item is in replication group 'nope'",
    ),
    (
        "/failover/failback",
        {"items": ["web01", "web01"]},
        422,
        "ValidationError",
        "a machine is named twice in ['web01', 'web01']",
    ),
    (
        "/failover/test",
        {"items": ["web01"], "point": "named"},
        422,
        "ValidationError",
        "point 'named' is not a recovery point id",
    ),
]


def test_refusals_name_the_cause_and_queue_no_job(protected: Protected) -> None:
    jobs = protected.job_count()
    for path, body, status, kind, message in REFUSALS:
        answer = protected.client.post(path, json=body)
        error = answer.json()["error"]
        assert (answer.status_code, error["type"], error["message"]) == (
            status,
            kind,
            message.format(item=protected.item_id),
        )
    assert protected.job_count() == jobs
    assert protected.item()["state"] == "protected"


#: (path, body, a part of the message) of bodies of the wrong shape.
MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    ("/failover/planned", {"items": ["web01"], "point": "latest"}, "body.point: Extra inputs"),
    ("/failover/commit", {"items": ["web01"], "allow_unmapped": True}, "body.allow_unmapped"),
    ("/failover/test", {"items": ["web01"], "group": "g"}, "either items or group"),
    ("/failover/reverse", {}, "either items or group"),
    ("/failover/test", {"items": "web01"}, "body.items: Input should be a valid list"),
]


def test_malformed_bodies_are_422(protected: Protected) -> None:
    for path, body, problem in MALFORMED:
        answer = protected.client.post(path, json=body)
        error = answer.json()["error"]
        assert (answer.status_code, error["type"]) == (422, "ValidationError"), path
        assert problem in error["message"], error["message"]


def test_drill_reports_only_for_test_failover_jobs(protected: Protected) -> None:
    initial = protected.client.get("/jobs").json()[0]
    answer = protected.client.get(f"/failover/drills/{initial['job_id']}")
    assert (answer.status_code, answer.json()["error"]["message"]) == (
        422,
        f"job {initial['job_id']} is a initial-replication job; only test failover jobs have "
        "drill reports",
    )
    missing = protected.client.get("/failover/drills/0123456789abcdef0123456789abcdef")
    assert (missing.status_code, missing.json()["error"]["type"]) == (404, "NotFound")


def test_a_failed_task_fails_the_job_and_leaves_the_item_protected(protected: Protected) -> None:
    protected.lab.fabric.unreachable = True  # a planned failover cannot stop the source
    job = protected.run("planned")
    assert job["state"] == "failed"
    assert job["error"].startswith("task planned failover of web01 failed: ")
    protected.lab.fabric.unreachable = False
    assert protected.item()["state"] == "protected"
    assert protected.machine.power_state == "running"
