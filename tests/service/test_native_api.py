"""Scenario S5 through the real service and the real CLI: InMage Scout as a native target.

The service (uvicorn on loopback) runs the real inmage plugin, which drives
the simulated CX over loopback HTTP. Through ``srp``: register the CX with
a vault credentials file, add the ``inmage-site`` target with its
passphrase, protect a VMware VM and a physical server as ONE replication
group (one protection plan on the CX), wait for the target's initial copy
(the job refreshes the group until the CX says Differential Sync), see the
target's points with ``srp points``, fail the group over to its common tag
with byte checks on the master target's replicas, and commit; then reverse
replication toward the primary master target (``srp failover reverse``) and
failback to the VMware VMs (``srp failover failback``), every byte home.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fakes.clock import VirtualClock
from fakes.inmage import CxServer, serve_cx
from fakes.inmage.lab import S5Lab, build_s5_lab
from plugins.inmage import plugin as inmage_plugin
from provider.cli.app import main
from provider.pluginmanager import PluginManager
from provider.service.app import service_of
from provider.service.context import ServiceContext, ServiceOptions
from provider.service.runtime import Listen, ServiceRuntime
from provider.settings import Settings
from provider.store.vaultstore import VaultStore
from provider.vault.setup import init_vault

Capture = pytest.CaptureFixture[str]
GROUP = "s5-group"
CX_OPTIONS = ("--option", "transport=http", "--option", "retry_wait=0")


@dataclass
class NativeSite:
    """The running service, the S5 lab behind its served CX, and the CLI's output capture."""

    home: Path
    lab: S5Lab
    cx: CxServer
    runtime: ServiceRuntime
    capsys: Capture

    @property
    def svc(self) -> ServiceContext:
        return service_of(self.runtime.app)

    def run(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(list(argv))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def ok(self, *argv: str) -> str:
        code, out, err = self.run(*argv)
        assert code == 0, err
        return out

    def json(self, *argv: str) -> Any:
        return json.loads(self.ok(*argv, "--json"))

    def wait_job(self, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.json("job", "show", job_id)
            if job["state"] in ("succeeded", "failed", "cancelled"):
                return dict(job)
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish")

    def digests(self, disks: list[Any]) -> list[str]:
        return [disk.digest().hex() for disk in disks]


def _start_service(home: Path, clock: VirtualClock) -> tuple[ServiceRuntime, str]:
    settings = Settings.from_env({"SRP_HOME": str(home)})
    with VaultStore.open(settings) as store:
        token = init_vault(store, home, clock=clock.now).token.token.reveal()
    manager = PluginManager()
    manager.register(inmage_plugin, name="inmage")
    options = ServiceOptions(scheduler_interval=None, stop_timeout=20)
    runtime = ServiceRuntime(
        settings, Listen(port=0), plugins=manager, clock=clock.now, options=options
    )
    return runtime, token


@pytest.fixture
def site(tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> Iterator[NativeSite]:
    # The clock starts at the real time, so the credentials file the CLI issues is current.
    lab = build_s5_lab(VirtualClock(start=float(int(time.time()))))
    home = tmp_path / "home"
    with serve_cx(lab.cx, tls=False) as cx:
        runtime, token = _start_service(home, lab.clock)
        runtime.start()
        monkeypatch.setenv("SRP_HOME", str(home))
        monkeypatch.setenv("SRP_TOKEN", token)
        monkeypatch.setenv("CX_PASSPHRASE", lab.cx.passphrase)
        for name in ("SRP_URL", "SRP_CA", "SRP_TOKEN_FILE", "SRP_DATABASE_URL"):
            monkeypatch.delenv(name, raising=False)
        try:
            yield NativeSite(home, lab, cx, runtime, capsys)
        finally:
            runtime.stop()
            for ident in (cx.address, "site"):
                inmage_plugin.CLIENTS.drop(ident)


def _register(site: NativeSite) -> None:
    credentials = site.home.parent / "vault.credentials"
    site.ok("vault", "credentials", "--out", str(credentials))
    site.ok(
        "register", "--kind", "inmage", "--address", site.cx.address, "--username", "srp",
        "--credentials-file", str(credentials), "--password-env", "CX_PASSPHRASE", *CX_OPTIONS,
    )  # fmt: skip
    site.ok(
        "target", "add", "site", "--kind", "inmage-site", "--path", site.cx.address,
        "--password-env", "CX_PASSPHRASE", *CX_OPTIONS,
        "--option", "process_server=ps01", "--option", "master_target=mt01",
        "--option", "failback_master_target=mt-primary",
        "--option", "failback_process_server=ps-dr",
    )  # fmt: skip
    site.ok("policy", "create", "scout", "--family", "continuous", "--retention-hours", "72")
    (fabric,) = site.json("fabric", "list")
    # db01's physical network is not in the CX's inventory: failovers of it allow unmapped NICs.
    site.ok("mapping", "network", "add", "VM Network", "dr-vm-network",
            "--fabric", fabric["fabric_id"], "--target", "site")  # fmt: skip


def _protect(site: NativeSite) -> dict[str, Any]:
    argv = ("protect", "web01", "db01", "--policy", "scout", "--target", "site")
    answer: dict[str, Any] = site.json(*argv, "--group", GROUP)
    return answer


@pytest.fixture
def protected(site: NativeSite) -> dict[str, str]:
    """web01 and db01 protected as one group, their initial copy done; item ids by name."""
    _register(site)
    answer = _protect(site)
    site.lab.cx.replicate()
    assert site.wait_job(answer["job_id"])["state"] == "succeeded"
    return {item["machine"]: item["item_id"] for item in answer["items"]}


def test_one_protect_request_makes_one_plan_on_the_cx_and_the_job_waits_for_its_copy(
    site: NativeSite,
) -> None:
    _register(site)
    answer = _protect(site)
    assert [(i["machine"], i["state"]) for i in answer["items"]] == [
        ("web01", "initial_replication"),
        ("db01", "initial_replication"),
    ]
    plans = list(site.lab.cx.plans.values())
    assert [(p.name, sorted(site.lab.cx.hosts[h].name for h in p.pairs)) for p in plans] == [
        (GROUP, ["db01", "web01"])
    ]
    # Until the CX has copied the disks the job keeps waiting, its tasks running.
    time.sleep(0.3)
    assert site.json("job", "show", answer["job_id"])["state"] == "running"
    site.lab.cx.replicate()
    job = site.wait_job(answer["job_id"])
    assert (job["kind"], job["state"]) == ("initial-replication", "succeeded")
    assert [(t["name"], t["progress"]) for t in job["tasks"]] == [("web01", 1.0), ("db01", 1.0)]
    assert [t["output"].splitlines()[-1] for t in job["tasks"]] == [
        "web01: the target reports the initial copy done",
        "db01: the target reports the initial copy done",
    ]
    status = site.json("status")
    assert sorted((r["machine"], r["state"], r["health"]) for r in status) == [
        ("db01", "protected", "normal"),
        ("web01", "protected", "normal"),
    ]


def test_a_group_failover_to_its_common_tag_lands_every_machine_on_it_byte_for_byte(
    site: NativeSite, protected: dict[str, str]
) -> None:
    lab = site.lab
    vm_disks = lab.vcenter.vm_named("web01").virtual_disks
    vm_disks[0].write(0, b"web-os" * 100)
    lab.physical.disks[0].write(4096, b"db-data" * 50)
    lab.clock.advance(300)
    lab.cx.issue_tag(GROUP, "app-1", "Application")
    at_tag = (site.digests(vm_disks), site.digests(lab.physical.disks))
    vm_disks[0].write(0, b"after-the-tag")
    lab.physical.disks[0].write(0, b"after-the-tag")
    lab.cx.replicate()
    assert site.svc.scheduler.tick().refreshed == (f"site/{GROUP}",)
    web_points = site.json("points", protected["web01"])
    db_points = site.json("points", protected["db01"])
    assert [(p["group_cut"], p["consistency"]) for p in web_points] == [("app-1", "app")]
    assert [(p["group_cut"], p["consistency"]) for p in db_points] == [("app-1", "app")]

    argv = ("failover", "unplanned", "--group", GROUP, "--point", web_points[0]["point_id"],
            "--allow-unmapped")  # fmt: skip
    job = site.json(*argv, "--wait")

    assert (job["kind"], job["state"]) == ("failover.unplanned", "succeeded")
    items = {row["machine"]: row for row in site.json("status")}
    assert {name: row["state"] for name, row in items.items()} == {
        "web01": "failed_over",
        "db01": "failed_over",
    }
    web = site.json("points", protected["web01"])
    assert [p["point_id"] for p in web] == [web_points[0]["point_id"]]
    replicas = {name: _replica_id(site, protected[name]) for name in ("web01", "db01")}
    assert site.digests(lab.cx.hosts[replicas["web01"]].disks) == at_tag[0]
    assert site.digests(lab.cx.hosts[replicas["db01"]].disks) == at_tag[1]
    # The seed's rule: after an unplanned failover the CX replicates them no more.
    assert lab.cx.plans == {}

    commit = site.json("failover", "commit", "--group", GROUP, "--wait")
    assert (commit["kind"], commit["state"]) == ("failover.commit", "succeeded")
    assert {row["state"] for row in site.json("status")} == {"committed"}


def test_disabling_one_item_leaves_the_group_replicating_for_the_other(
    site: NativeSite, protected: dict[str, str]
) -> None:
    code, out, err = site.run("disable", protected["web01"])
    assert (code, out) == (0, "protection of web01 disabled\n")
    assert "the target goes on replicating group 's5-group' for db01" in " ".join(err.split())
    assert len(site.lab.cx.plans) == 1
    site.ok("disable", protected["db01"])
    assert site.lab.cx.plans == {}
    assert site.json("status") == []


def test_several_machines_without_a_group_are_refused_before_the_target_is_asked(
    site: NativeSite,
) -> None:
    _register(site)
    code, _, err = site.run(
        "protect", "web01", "app01", "--policy", "scout", "--target", "site", "--json"
    )
    assert code != 0
    assert "protecting several machines together needs a group id" in " ".join(err.split())
    assert site.lab.cx.plans == {}
    assert site.json("status") == []


def _replica_id(site: NativeSite, item_id: str) -> str:
    with site.svc.store.read() as tx:
        return tx.items.get(item_id).replica_id


def test_reverse_then_failback_through_the_cli_brings_every_change_home(site: NativeSite) -> None:
    _register(site)
    lab = site.lab
    argv = ("protect", "web01", "app01", "--policy", "scout", "--target", "site")
    answer = site.json(*argv, "--group", "back")
    lab.cx.replicate()
    assert site.wait_job(answer["job_id"])["state"] == "succeeded"
    lab.cx.issue_tag("back", "app-1", "Application")
    lab.cx.replicate()
    site.svc.scheduler.tick()
    for name in ("web01", "app01"):
        lab.cx.power_off_source(lab.cx.host_named(name).host_id)
    assert site.json("failover", "unplanned", "--group", "back", "--wait")["state"] == "succeeded"
    assert site.json("failover", "commit", "--group", "back", "--wait")["state"] == "succeeded"
    web_replica = lab.cx.hosts[
        next(h for h, x in lab.cx.hosts.items() if x.failback_of and x.name == "web01")
    ]
    assert [n[3] for n in web_replica.nics] == ["dr-vm-network"]
    web_replica.disks[0].write(0, b"written on the recovery site")

    reverse = site.json("failover", "reverse", "--group", "back", "--wait")
    assert (reverse["kind"], reverse["state"]) == ("failover.reverse", "succeeded")
    lab.cx.replicate()
    site.svc.scheduler.tick()
    assert {(r["state"], r["direction"]) for r in site.json("status")} == {("protected", "reverse")}
    expected = site.digests(web_replica.disks)

    job = site.json("failover", "failback", "--group", "back", "--wait")
    assert (job["kind"], job["state"]) == ("failover.failback", "succeeded")
    assert [t["progress"] for t in job["tasks"]] == [1.0, 1.0]
    vm = lab.vcenter.vm_named("web01")
    assert site.digests(vm.virtual_disks) == expected
    assert vm.power_state == "POWERED_ON"
    # Forward protection resumes with a resynchronization (differences only), then replicates.
    assert {(r["state"], r["direction"]) for r in site.json("status")} == {
        ("resynchronizing", "forward")
    }
    lab.cx.replicate()
    site.svc.scheduler.tick()
    assert {(r["state"], r["direction"]) for r in site.json("status")} == {("protected", "forward")}
    assert [p.name for p in lab.cx.plans.values()] == ["back"]
