"""Scenario S4 through the real service and the real CLI: Hyper-V Replica toward a secondary site.

The Hyper-V hosts of the S4 lab (``hv01`` on the primary site, ``hv11`` a
Replica server on the recovery site) are served over loopback WinRM (NTLM);
the service runs the real hyperv plugin. Through ``srp``: register ``hv01``
with a vault credentials file, add the ``hyperv-replica`` target with
``srp target add`` (the replica server's account as an option; the
group book lives in the state directory srp keeps for the target),
protect web01 toward it (the primary host named by ``--option
primary_address``), wait for the target's initial copy; then a drill in
hv11's private switch and its cleanup, a planned failover (the source shut
down first, nothing lost, the item protected in reverse) and failback, an
unplanned failover (the item left unprotected, as the seed says), commit,
reverse and failback, every step through ``srp failover``. Disks are
compared byte for byte on the fake hosts at each step.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from service_testkit import Capture, Cli, point_cli_at, start_plugin_service

from fakes.clock import VirtualClock
from fakes.hyperv import HyperVLab, start_winrm_lab
from fakes.hyperv.backend import ServedLab
from fakes.hyperv.enums import SwitchType, VMState
from fakes.lab.scenarios import build_s4
from plugins.hyperv import plugin as hyperv_plugin
from plugins.hyperv.native import GROUP_BOOK_FILE, GroupBook
from provider.blockdigest import digest_of_bytes
from provider.contracts.connection import FabricConnection
from provider.pluginmanager import PluginManager
from provider.service.app import service_of
from provider.service.context import STATE_DIR, ServiceOptions
from provider.service.runtime import Listen, ServiceRuntime
from provider.settings import Settings

PRIMARY, REPLICA = "hv01", "hv11"
WINRM = ("--option", "transport=ntlm", "--option", "retry_wait=0")


@dataclass
class S4:
    """The S4 lab on loopback WinRM, the running service, and the CLI."""

    root: Path
    lab: HyperVLab
    served: ServedLab
    runtime: ServiceRuntime
    cli: Cli

    def disks(self, host: str, vm_name: str = "web01") -> list[bytes]:
        return [d.read(0, d.capacity) for d in self.lab.host(host).vm(vm_name).disks]

    def item(self) -> dict[str, Any]:
        (row,) = self.cli.json("status")
        return dict(row)

    def where(self) -> tuple[str, str]:
        """The item's (state, direction) as ``srp status`` shows it."""
        item = self.item()
        return item["state"], item["direction"]

    def power(self) -> tuple[VMState, VMState]:
        """web01's state on the primary host and on the replica server."""
        return self.lab.host(PRIMARY).vm("web01").state, self.lab.host(REPLICA).vm("web01").state

    def adapters(self, host: str, vm_name: str = "web01") -> list[str | None]:
        return [a.switch_name for a in self.lab.host(host).vm(vm_name).adapters]

    def tick(self, advance: float = 0.0) -> tuple[str, ...]:
        """Move the lab's clock, then one scheduler tick; the groups it refreshed."""
        self.lab.clock.advance(advance)
        return service_of(self.runtime.app).scheduler.tick().refreshed

    def failover(self, *argv: str) -> dict[str, Any]:
        """``srp failover ... web01 --wait --json``, which must succeed; the job."""
        job: dict[str, Any] = self.cli.json("failover", *argv, "web01", "--wait")
        assert (job["state"], job["error"]) == ("succeeded", ""), job
        return job


@pytest.fixture
def s4(tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> Iterator[S4]:
    # Credentials files the CLI issues must be current: the clock starts at the real time.
    lab = build_s4(seed=4, clock=VirtualClock(start=float(int(time.time())))).hyperv
    with start_winrm_lab(lab) as served:
        home = tmp_path / "home"
        runtime, token = start_plugin_service(home, lab.clock, {"hyperv": hyperv_plugin})
        try:
            point_cli_at(monkeypatch, home, token)
            monkeypatch.setenv("HV_PASSWORD", served.credentials[1])
            yield S4(tmp_path, lab, served, runtime, Cli(capsys))
        finally:
            runtime.stop()
            for owner in ("hv01", "replica"):
                hyperv_plugin.CLIENTS.drop(FabricConnection(owner, "hyperv", "-"))


def add_replica_target(s4: S4) -> dict[str, Any]:
    """``srp target add --kind hyperv-replica``: hv11 and its account."""
    target: dict[str, Any] = s4.cli.json(
        "target", "add", "replica", "--kind", "hyperv-replica",
        "--path", s4.served.endpoint(REPLICA), *WINRM,
        "--option", f"username={s4.served.credentials[0]}",
        "--password-env", "HV_PASSWORD",
    )  # fmt: skip
    return target


@pytest.fixture
def protected(s4: S4) -> str:
    """web01 protected toward the replica server, its initial copy done; its item id."""
    credentials = s4.root / "vault.credentials"
    s4.cli.ok("vault", "credentials", "--out", str(credentials))
    username = s4.served.credentials[0]
    s4.cli.ok(
        "register", "--kind", "hyperv", "--address", s4.served.endpoint(PRIMARY),
        "--name", "hv01", "--username", username, "--credentials-file", str(credentials),
        "--password-env", "HV_PASSWORD", *WINRM,
    )  # fmt: skip
    assert add_replica_target(s4)["kind"] == "hyperv-replica"
    # hv11's private switch is the drills' isolated network.
    s4.lab.host(REPLICA).add_switch("Isolated", SwitchType.Private)
    # hv01's switch LAN lands on hv11's switch LAN (by switch id) at every failover.
    lan = next(str(sw.id) for sw in s4.lab.host(REPLICA).switches if sw.name == "LAN")
    s4.cli.ok("mapping", "network", "add", "LAN", lan, "--fabric", "hv01", "--target", "replica")
    s4.cli.ok("policy", "create", "replica", "--copy-frequency", "30", "--retention-hours", "4")
    answer = s4.cli.json(
        "protect", "web01", "--policy", "replica", "--target", "replica",
        "--option", f"primary_address={s4.served.endpoint(PRIMARY)}",
        "--option", "frequency_sec=30",
    )  # fmt: skip
    s4.lab.clock.advance(1)  # the initial copy takes one virtual second at the lab's bandwidth
    job = s4.cli.wait_job(answer["job_id"])
    assert (job["kind"], job["state"]) == ("initial-replication", "succeeded")
    return str(answer["items"][0]["item_id"])


def test_s4_protect_toward_the_replica_server_waits_for_its_initial_copy(
    s4: S4, protected: str
) -> None:
    item = s4.item()
    assert (item["item_id"], item["state"], item["health"], item["direction"]) == (
        protected,
        "protected",
        "normal",
        "forward",
    )
    assert s4.disks(REPLICA) == s4.disks(PRIMARY)
    assert any("Latest" in p["cut_id"] for p in s4.cli.json("points", protected))


def test_s4_planned_failover_shuts_the_source_first_and_leaves_it_protected_in_reverse(
    s4: S4, protected: str
) -> None:
    s4.lab.clock.advance(30)
    s4.lab.host(PRIMARY).vm("web01").disks[1].write(4096, b"written after the last cycle")
    expected = s4.disks(PRIMARY)

    job = s4.cli.json("failover", "planned", "web01", "--wait")

    assert (job["kind"], job["state"], job["error"]) == ("failover.planned", "succeeded", "")
    source, replica = s4.lab.host(PRIMARY).vm("web01"), s4.lab.host(REPLICA).vm("web01")
    assert (source.state, replica.state) == (VMState.Off, VMState.Running)
    assert s4.disks(REPLICA) == expected  # zero loss: the last write travelled
    item = s4.item()
    assert (item["state"], item["direction"]) == ("protected", "reverse")
    assert service_of(s4.runtime.app).scheduler.tick().refreshed == (f"replica/{protected}",)
    assert s4.item()["state"] == "protected"


def test_s4_unplanned_failover_leaves_the_item_unprotected_until_commit(
    s4: S4, protected: str
) -> None:
    s4.lab.host(PRIMARY).crash()

    job = s4.cli.json("failover", "unplanned", "web01", "--wait")

    assert (job["kind"], job["state"], job["error"]) == ("failover.unplanned", "succeeded", "")
    link = s4.lab.host(REPLICA).vm("web01").replication
    assert link is not None and link.replica_state.name == "FailedOver"
    assert s4.item()["state"] == "failed_over"
    # The replica server replicates the VM no more: the scheduler refreshes nothing.
    assert service_of(s4.runtime.app).scheduler.tick().refreshed == ()
    commit = s4.cli.json("failover", "commit", "web01", "--wait")
    assert (commit["state"], s4.item()["state"]) == ("succeeded", "committed")


def test_s4_the_target_is_added_through_the_cli_with_its_declared_options(
    s4: S4, protected: str
) -> None:
    (target,) = s4.cli.json("target", "list")
    assert (target["name"], target["kind"], target["location"]) == (
        "replica",
        "hyperv-replica",
        s4.served.endpoint(REPLICA),
    )
    # The group book, in the state directory srp keeps for the target, holds the group.
    state = s4.root / "home" / STATE_DIR / "targets" / target["name"]
    book = state / GROUP_BOOK_FILE
    assert protected in book.read_text()


def test_s4_a_drill_in_the_private_switch_then_cleanup_while_replication_goes_on(
    s4: S4, protected: str
) -> None:
    s4.lab.host(PRIMARY).vm("web01").disks[0].write(8192, b"in the drill's point")
    assert s4.tick(30) == (f"replica/{protected}",)
    at_point = s4.disks(PRIMARY)

    job = s4.failover("test", "--test-network", "Isolated")

    assert job["kind"] == "failover.test"
    (drill,) = job["drills"]
    test_vm = s4.lab.host(REPLICA).vm("web01 - Test")
    # srp holds no source digest of a native point: the report shows the copy, not a verdict.
    assert (drill["machine_name"], drill["replica_id"], drill["verified"]) == (
        "web01",
        test_vm.vm_id.lower(),
        False,
    )
    assert [d["replica_digest"] for d in drill["disks"]] == [digest_of_bytes(b) for b in at_point]
    assert {d["source_digest"] for d in drill["disks"]} == {""}
    assert s4.disks(REPLICA, "web01 - Test") == at_point
    assert s4.adapters(REPLICA, "web01 - Test") == ["Isolated"]
    assert s4.power() == (VMState.Running, VMState.Off)
    assert s4.where() == ("test_failover", "forward")
    link = s4.lab.host(REPLICA).vm("web01").replication
    assert link is not None and link.replica_state.name == "Replicating"

    cleanup = s4.failover("cleanup")

    assert cleanup["kind"] == "failover.cleanup"
    assert s4.lab.host(REPLICA).find_vms("web01 - Test") == []
    assert s4.where() == ("protected", "forward")


def test_s4_planned_failover_then_failback_brings_every_change_home(s4: S4, protected: str) -> None:
    s4.lab.host(PRIMARY).vm("web01").disks[0].write(4096, b"before the planned failover")
    s4.failover("planned")
    assert s4.disks(REPLICA) == s4.disks(PRIMARY)
    assert s4.adapters(REPLICA) == ["LAN"]
    assert s4.where() == ("protected", "reverse")
    s4.lab.host(REPLICA).vm("web01").disks[0].write(12288, b"after the planned failover")
    recovery_side = s4.disks(REPLICA)

    job = s4.failover("failback")

    assert job["kind"] == "failover.failback"
    assert s4.disks(PRIMARY) == recovery_side
    assert s4.power() == (VMState.Running, VMState.Off)
    assert s4.adapters(PRIMARY) == ["LAN"]
    assert s4.where() == ("protected", "forward")
    assert s4.tick(30) == (f"replica/{protected}",)
    assert s4.where() == ("protected", "forward")


def test_s4_unplanned_failover_commit_reverse_then_failback(s4: S4, protected: str) -> None:
    s4.lab.host(PRIMARY).crash()
    s4.failover("unplanned")
    assert s4.where() == ("failed_over", "forward")
    assert s4.adapters(REPLICA) == ["LAN"]
    s4.lab.host(REPLICA).vm("web01").disks[1].write(4096, b"written on the recovery site")
    s4.failover("commit")
    assert s4.where() == ("committed", "forward")

    s4.failover("reverse")

    assert s4.where() == ("reverse_replication", "reverse")
    assert s4.tick(1) == (f"replica/{protected}",)
    assert s4.where() == ("protected", "reverse")
    assert s4.disks(PRIMARY) == s4.disks(REPLICA)
    s4.lab.host(REPLICA).vm("web01").disks[0].write(0, b"changed before failback")
    recovery_side = s4.disks(REPLICA)

    s4.failover("failback")

    assert s4.disks(PRIMARY) == recovery_side
    assert s4.power() == (VMState.Running, VMState.Off)
    assert s4.where() == ("protected", "forward")


def test_s4_a_restarted_service_still_fails_the_group_over(
    s4: S4, protected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The target's group records outlive the process: they are in srp's state directory."""
    s4.runtime.stop()
    # A new process: the plugin's book starts empty, as it would after a restart.
    monkeypatch.setattr(hyperv_plugin, "NATIVE", replace(hyperv_plugin.NATIVE, book=GroupBook()))
    settings = Settings.from_env({"SRP_HOME": str(s4.root / "home")})
    manager = PluginManager()
    manager.register(hyperv_plugin, name="hyperv")
    options = ServiceOptions(scheduler_interval=None, stop_timeout=20)
    s4.runtime = ServiceRuntime(
        settings, Listen(port=0), plugins=manager, clock=s4.lab.clock.now, options=options
    )
    s4.runtime.start()
    before = s4.disks(PRIMARY)
    s4.failover("planned")
    assert s4.where() == ("protected", "reverse")
    assert s4.disks(REPLICA) == before
