"""Scenario S4 through the real service and the real CLI: Hyper-V Replica toward a secondary site.

The Hyper-V hosts of the S4 lab (``hv01`` on the primary site, ``hv11`` a
Replica server on the recovery site) are served over loopback WinRM (NTLM);
the service runs the real hyperv plugin. Through ``srp``: register ``hv01``
with a vault credentials file, add the ``hyperv-replica`` target (in the vault directly: see
:func:`add_replica_target`), protect
web01 toward it (the primary host named by ``--option primary_address``),
wait for the target's initial copy, fail over planned (the source shut down
first, nothing lost, the item protected in reverse) or unplanned (the item
left unprotected, as the seed says).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from service_testkit import Capture, Cli, point_cli_at, start_plugin_service

from fakes.clock import VirtualClock
from fakes.hyperv import HyperVLab, start_winrm_lab
from fakes.hyperv.backend import ServedLab
from fakes.hyperv.enums import VMState
from fakes.lab.scenarios import build_s4
from plugins.hyperv import plugin as hyperv_plugin
from provider.contracts.connection import FabricConnection, Secret
from provider.service.app import service_of
from provider.service.runtime import ServiceRuntime
from provider.store.targets import Target
from provider.vault.sealed import SealedSecrets

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

    def disks(self, host: str) -> list[bytes]:
        return [d.read(0, d.capacity) for d in self.lab.host(host).vm("web01").disks]

    def item(self) -> dict[str, Any]:
        (row,) = self.cli.json("status")
        return dict(row)


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


def add_replica_target(s4: S4) -> None:
    """The ``hyperv-replica`` target ``replica``, written to the vault beside the service.

    ``srp target add --kind hyperv-replica`` refuses the ``username`` option the
    plugin reads the replica server's account from: the kind declares only the
    hyperv fabric's parameters (plugins/hyperv/kinds.py). Until it declares
    it, the target is stored here as the service would store it, sealed.
    """
    username, password = s4.served.credentials
    options = (("transport", "ntlm"), ("retry_wait", "0"), ("username", username))
    target = Target("replica", "hyperv-replica", s4.served.endpoint(REPLICA), options)
    svc = service_of(s4.runtime.app)
    with svc.store.unit() as tx:
        SealedSecrets(svc.engine.vault.box).add_target(tx, target, Secret(password))


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
    add_replica_target(s4)
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
