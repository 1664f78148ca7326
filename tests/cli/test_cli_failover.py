"""``srp failover ...`` as the running service's client: jobs, progress, drills, exit codes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from service_testkit import PASSWORD, Lab

from fakes.compute import ISOLATED_NETWORK, SimulatedCompute
from fakes.fabric import SimulatedMachine
from provider.cli.app import main
from provider.cli.failover_cmd import require_verified
from provider.errors import FailoverError

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


class Site:
    """web01 protected through the CLI, net-prod mapped to the target's vnet-prod."""

    def __init__(self, lab: Lab, capsys: Capture) -> None:
        self.lab = lab
        self.capsys = capsys
        self.compute = SimulatedCompute.at(lab.root / "acct" / "compute")
        self.machine: SimulatedMachine = next(
            m for m in lab.fabric.machines.values() if m.name == "web01"
        )

    def ok(self, *argv: str) -> str:
        code, out, err = run(self.capsys, *argv)
        assert code == 0, err
        return out

    def prepare(self) -> None:
        credentials = self.lab.root / "vault.credentials"
        self.ok("vault", "credentials", "--out", str(credentials))
        self.ok(
            "register", "--kind", "simulated", "--address", "sim-01", "--username", "admin",
            "--credentials-file", str(credentials), "--password-env", "SIM_PASSWORD",
        )  # fmt: skip
        self.ok("policy", "create", "p30", "--copy-frequency", "30")
        self.ok("target", "add", "cloud1", "--path", str(self.lab.root / "acct"))
        self.compute.add_network("vnet-prod", subnet="10.1.0.0/24")
        network = ("mapping", "network", "add", "net-prod", "vnet-prod", "--fabric", "sim-01")
        self.ok(*network, "--target", "cloud1")
        self.ok("protect", "web01", "--policy", "p30", "--target", "cloud1", "--wait")

    def source_content(self) -> dict[str, bytes]:
        return {d: disk.read(0, disk.capacity) for d, disk in self.machine.disks.items()}

    def replica_content(self, replica_id: str) -> dict[str, bytes]:
        machine = self.compute.find(replica_id)
        assert machine is not None
        return {
            d.disk_id: self.compute.read_disk(replica_id, d.disk_id, 0, d.capacity)
            for d in machine.disks
        }

    def item_id(self) -> str:
        return str(run_json(self.capsys, "status", "--json")[0]["item_id"])


@pytest.fixture
def site(cli_env: Lab, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> Site:
    monkeypatch.setenv("SIM_PASSWORD", PASSWORD)
    prepared = Site(cli_env, capsys)
    prepared.prepare()
    return prepared


def test_failover_test_wait_shows_progress_then_the_drill_table(
    site: Site, capsys: Capture
) -> None:
    code, out, err = run(capsys, "failover", "test", "web01", "--wait")
    assert code == 0, err
    assert "failover.test web01: succeeded" in err
    assert err.strip().endswith("succeeded")
    assert "drill reports" in out
    assert out.count("│ yes ") == len(site.machine.disks) and "│ NO " not in out
    first = err.splitlines()[0]
    assert first.startswith("failover.test web01: job ")
    job_id = first.rsplit(" ", 1)[-1]
    (report,) = run_json(capsys, "failover", "drill", job_id, "--json")
    assert (report["machine_name"], report["network_ids"], report["verified"]) == (
        "web01",
        [ISOLATED_NETWORK],
        True,
    )
    assert site.replica_content(report["replica_id"]) == site.source_content()
    code, out, _ = run(capsys, "failover", "drill", job_id)
    assert code == 0 and out.count("│ yes ") == len(site.machine.disks)
    assert run(capsys, "failover", "cleanup", "web01", "--wait")[0] == 0
    assert site.compute.find(report["replica_id"]) is None
    assert run_json(capsys, "status", "--json")[0]["state"] == "protected"


def test_planned_commit_reverse_failback_through_the_cli(site: Site, capsys: Capture) -> None:
    disk_id = next(iter(site.machine.disks))
    site.machine.disks[disk_id].write(10_000, b"\x5a" * 3000)
    site.lab.clock.advance(30)
    job = run_json(capsys, "failover", "planned", "web01", "--wait", "--json")
    assert (job["kind"], job["state"], job["error"]) == ("failover.planned", "succeeded", "")
    assert "drills" not in job
    (replica,) = site.compute.machines(site.item_id())
    assert site.replica_content(replica.replica_id) == site.source_content()
    assert site.machine.power_state == "off"
    for operation in ("commit", "reverse"):
        code, _, err = run(capsys, "failover", operation, site.item_id(), "--wait")
        assert code == 0, err
    site.compute.write_disk(replica.replica_id, disk_id, 0, b"written after failover")
    final = site.replica_content(replica.replica_id)
    code, _, err = run(capsys, "failover", "failback", "web01", "--wait")
    assert code == 0, err
    assert site.source_content() == final
    assert (site.machine.power_state, site.compute.find(replica.replica_id)) == ("running", None)
    item = run_json(capsys, "status", "--json")[0]
    assert (item["state"], item["direction"]) == ("protected", "forward")


def test_without_wait_the_job_is_named_and_can_be_watched(site: Site, capsys: Capture) -> None:
    site.lab.fabric.unreachable = True
    answer = run_json(
        capsys, "failover", "unplanned", "web01", "--point", "latest-processed", "--json"
    )
    assert (answer["job"]["kind"], answer["job"]["params"]["point"]) == (
        "failover.unplanned",
        "latest-processed",
    )
    assert run(capsys, "job", "watch", answer["job_id"])[0] == 0
    code, _, err = run(capsys, "failover", "cancel", "web01")
    assert code == 0, err
    lines = err.strip().splitlines()
    assert lines[0].startswith("failover.cancel web01: job ")
    assert lines[1].startswith("watch it with `srp job watch ")
    cancel_job = lines[0].rsplit(" ", 1)[-1]
    assert run(capsys, "job", "watch", cancel_job)[0] == 0
    assert run_json(capsys, "status", "--json")[0]["state"] == "protected"


def test_refusals_and_failed_jobs_exit_non_zero(site: Site, capsys: Capture) -> None:
    item_id = site.item_id()
    code, _, err = run(capsys, "failover", "commit", "web01")
    assert (code, err.strip()) == (
        4,
        f"srp: error: web01 ({item_id}): cannot go from 'protected' to 'committed'; allowed "
        "from 'protected': disabling, failback, failing_over, failover_prepared, "
        "resync_required, resynchronizing, test_failover",
    )
    code, _, err = run(capsys, "failover", "unplanned", "web01", "--point", "cut-gone")
    assert (code, err.strip()) == (
        10,
        f"srp: error: web01 ({item_id}) has no recovery point 'cut-gone': it is outside "
        "retention or never existed (list the item's points and choose a retained one)",
    )
    code, _, err = run(capsys, "failover", "failback")
    assert code == 4
    assert "name the machines with either items or group (exactly one)" in err
    assert run(capsys, "failover", "reverse", "db01")[0] == 3
    site.lab.fabric.unreachable = True
    code, _, err = run(capsys, "failover", "planned", "web01", "--wait")
    assert code == 10
    last = err.strip().splitlines()[-1]
    assert last.startswith("srp: error: job ")
    assert "failed: task planned failover of web01 failed: " in last
    jobs = run_json(capsys, "job", "list", "--json")
    assert [j["state"] for j in jobs if j["kind"] == "failover.planned"] == ["failed"]


def _report(equal: bool, power_state: str = "running") -> dict[str, Any]:
    disks = [{"disk_id": "d1", "equal": True}, {"disk_id": "d2", "equal": equal}]
    verified = equal and power_state == "running"
    return {
        "machine_name": "web01",
        "replica_name": "web01-test",
        "power_state": power_state,
        "disks": disks,
        "verified": verified,
    }


def test_an_unverified_drill_is_a_failover_error() -> None:
    require_verified([_report(True)])
    with pytest.raises(FailoverError) as caught:
        require_verified([_report(False), _report(True, "off")])
    assert str(caught.value) == (
        "drill not verified: web01: disks d2 differ from the source; "
        "web01: replica web01-test is off"
    )
