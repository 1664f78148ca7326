"""Scenario S4 between two VMM clouds through the real service and the real CLI (``vmm-replica``).

The replica lab (:func:`fakes.vmm.samples.build_replica_lab`) is served over
loopback WinRM (NTLM): ``vmm01`` manages the primary site (``hv01``, cloud
Gold, ``web01`` on VM network Corp-VMs), ``vmm02`` the recovery site
(``hv11`` running ``dc11``, ``hv12`` empty; clouds DR and Tiny; VM networks
DR-VMs and Drill, the latter on private switches only). The endpoints are
the ones ``srp lab up S4`` lists (:func:`fakes.lab.scenarios.s4_endpoints`),
registered as an operator would: ``srp register --kind vmm`` for vmm01 and
``srp target add --kind vmm-replica`` for vmm02's cloud, every option of the
lab entry passed as ``--option``. Then ``srp mapping`` VM network -> VM
network (checked against the secondary VMM at once), protect, points, a
drill in the isolated VM network and its cleanup, planned failover and
failback; a cloud without room refuses through the CLI, nothing changed.
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
from fakes.hyperv.backend import ServedLab
from fakes.hyperv.enums import VMState
from fakes.hyperv.host import HyperVHost
from fakes.lab.labfile import LabHost
from fakes.lab.scenarios import s4_endpoints
from fakes.vmm import VmmLab, start_winrm_lab
from fakes.vmm.samples import build_replica_lab
from plugins.hyperv.native import latest_point_name
from plugins.vmm import plugin as vmm_plugin
from provider.blockdigest import digest_of_bytes
from provider.contracts.connection import FabricConnection
from provider.service.app import service_of
from provider.service.runtime import ServiceRuntime

PRIMARY, SPARE = "hv01", "hv12"
NOT_FOUND_EXIT, REFUSED_EXIT = 3, 10


@dataclass
class S4:
    """The served replica lab, its two lab entries, the running service and the CLI."""

    root: Path
    lab: VmmLab
    served: ServedLab
    fabric: LabHost
    target: LabHost
    runtime: ServiceRuntime
    cli: Cli

    def host(self, name: str) -> HyperVHost:
        return self.lab.hyperv.host(name)

    def disks(self, host: str, vm_name: str = "web01") -> list[bytes]:
        return [d.read(0, d.capacity) for d in self.host(host).vm(vm_name).disks]

    def adapters(self, host: str, vm_name: str = "web01") -> list[str | None]:
        return [a.switch_name for a in self.host(host).vm(vm_name).adapters]

    def vm_network_id(self, server: str, name: str) -> str:
        return str(self.lab.server(server).vm_network(name).id)

    def where(self) -> tuple[str, str]:
        (row,) = self.cli.json("status")
        return row["state"], row["direction"]

    def tick(self, advance: float = 0.0) -> tuple[str, ...]:
        self.lab.hyperv.clock.advance(advance)
        return service_of(self.runtime.app).scheduler.tick().refreshed

    def failover(self, *argv: str) -> dict[str, Any]:
        """``srp failover ... web01 --wait --json``, which must succeed; the job."""
        job: dict[str, Any] = self.cli.json("failover", *argv, "web01", "--wait")
        assert (job["state"], job["error"]) == ("succeeded", ""), job
        return job


def options_of(entry: LabHost) -> list[str]:
    return [arg for key, value in entry.options for arg in ("--option", f"{key}={value}")]


@pytest.fixture
def s4(tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> Iterator[S4]:
    # Credentials files the CLI issues must be current: the clock starts at the real time.
    lab = build_replica_lab(seed=4, clock=VirtualClock(start=float(int(time.time()))))
    with start_winrm_lab(lab) as served:
        fabric, target = s4_endpoints(lab, served)
        home = tmp_path / "home"
        runtime, token = start_plugin_service(home, lab.hyperv.clock, {"vmm": vmm_plugin})
        try:
            point_cli_at(monkeypatch, home, token)
            monkeypatch.setenv("VMM_PASSWORD", served.credentials[1])
            yield S4(tmp_path, lab, served, fabric, target, runtime, Cli(capsys))
        finally:
            runtime.stop()
            vmm_plugin.srp_disconnect(FabricConnection("vmm01", "vmm", "-"))


def add_target(s4: S4, name: str, cloud: str) -> None:
    """``srp target add NAME --kind vmm-replica``: the lab entry's options, another cloud maybe."""
    options = [arg.replace("cloud=DR", f"cloud={cloud}") for arg in options_of(s4.target)]
    s4.cli.ok(
        "target", "add", name, "--kind", "vmm-replica", "--path", s4.target.address,
        *options, "--option", "retry_wait=0", "--password-env", "VMM_PASSWORD",
    )  # fmt: skip


@pytest.fixture
def registered(s4: S4) -> S4:
    """vmm01 registered, vmm02's cloud DR the target ``dr``, a 30 s policy."""
    credentials = s4.root / "vault.credentials"
    s4.cli.ok("vault", "credentials", "--out", str(credentials))
    s4.cli.ok(
        "register", "--kind", "vmm", "--address", s4.fabric.address, "--name", "vmm01",
        "--username", s4.fabric.username, "--credentials-file", str(credentials),
        "--password-env", "VMM_PASSWORD", *options_of(s4.fabric), "--option", "retry_wait=0",
    )  # fmt: skip
    add_target(s4, "dr", "DR")
    s4.cli.ok("policy", "create", "replica", "--copy-frequency", "30", "--retention-hours", "4")
    return s4


def protect(s4: S4, target: str) -> str:
    """Map Corp-VMs to DR-VMs toward ``target``, protect web01 there; its item once copied."""
    s4.cli.ok(
        "mapping", "network", "add", "Corp-VMs", "DR-VMs", "--fabric", "vmm01", "--target", target
    )
    answer = s4.cli.json(
        "protect", "web01", "--policy", "replica", "--target", target,
        "--option", "frequency_sec=30",
    )  # fmt: skip
    s4.lab.hyperv.clock.advance(1)  # the initial copy takes one virtual second at lab bandwidth
    job = s4.cli.wait_job(answer["job_id"])
    assert (job["kind"], job["state"]) == ("initial-replication", "succeeded")
    return str(answer["items"][0]["item_id"])


@pytest.fixture
def protected(registered: S4) -> str:
    return protect(registered, "dr")


def test_s4_vmm_mapping_names_a_secondary_vm_network_and_refuses_an_unknown_one(
    registered: S4,
) -> None:
    s4 = registered
    code, out, err = s4.cli.run(
        "mapping", "network", "add", "Corp-VMs", "Guest-VMs", "--fabric", "vmm01", "--target", "dr"
    )

    assert (code, out, err) == (
        NOT_FOUND_EXIT,
        "",
        "srp: error: target 'dr' has no network 'Guest-VMs' (it has: DR-VMs, Drill) "
        "(map to a network of the recovery site)\n",
    )
    assert s4.cli.json("mapping", "network", "list") == []

    mapping = s4.cli.json(
        "mapping", "network", "add", "Corp-VMs", "DR-VMs", "--fabric", "vmm01", "--target", "dr"
    )

    assert (mapping["source_network"], mapping["target_network"]) == (
        s4.vm_network_id("vmm01", "Corp-VMs"),
        s4.vm_network_id("vmm02", "DR-VMs"),
    )


def test_s4_vmm_protect_places_the_replica_in_the_cloud_and_lists_its_points(
    registered: S4,
) -> None:
    s4 = registered
    started = s4.lab.hyperv.clock.now()
    item_id = protect(s4, "dr")

    assert s4.where() == ("protected", "forward")
    assert s4.host(SPARE).replication_server.enabled  # the least loaded host of cloud DR
    assert s4.disks(SPARE) == s4.disks(PRIMARY)
    latest = [p["cut_id"] for p in s4.cli.json("points", item_id) if "Latest" in p["cut_id"]]
    assert latest == [latest_point_name("web01", started + 1)]


def test_s4_vmm_a_drill_lands_on_the_isolated_vm_network_then_cleanup(
    registered: S4, protected: str
) -> None:
    s4 = registered
    s4.host(PRIMARY).vm("web01").disks[0].write(8192, b"in the drill's point")
    assert s4.tick(30) == (f"dr/{protected}",)
    at_point = s4.disks(PRIMARY)

    job = s4.failover("test")  # no network named: the target's first isolated one, Drill

    (drill,) = job["drills"]
    assert drill["network_ids"] == [s4.vm_network_id("vmm02", "Drill")]
    assert [d["replica_digest"] for d in drill["disks"]] == [digest_of_bytes(b) for b in at_point]
    assert s4.disks(SPARE, "web01 - Test") == at_point
    assert s4.adapters(SPARE, "web01 - Test") == ["Isolated"]
    assert s4.where() == ("test_failover", "forward")

    s4.failover("cleanup")

    assert s4.host(SPARE).find_vms("web01 - Test") == []
    assert s4.where() == ("protected", "forward")
    link = s4.host(SPARE).vm("web01").replication
    assert link is not None and link.replica_state.name == "Replicating"


def test_s4_vmm_planned_failover_loses_nothing_then_failback_brings_changes_home(
    registered: S4, protected: str
) -> None:
    s4 = registered
    s4.tick(30)
    s4.host(PRIMARY).vm("web01").disks[1].write(4096, b"written after the last cycle")
    expected = s4.disks(PRIMARY)

    s4.failover("planned")

    source, replica = s4.host(PRIMARY).vm("web01"), s4.host(SPARE).vm("web01")
    assert (source.state, replica.state) == (VMState.Off, VMState.Running)
    assert s4.disks(SPARE) == expected  # zero loss: the last write travelled
    assert s4.adapters(SPARE) == ["DR-LAN"]  # DR-VMs' switch on hv12
    assert s4.where() == ("protected", "reverse")
    s4.host(SPARE).vm("web01").disks[0].write(12288, b"after the planned failover")
    recovery_side = s4.disks(SPARE)

    s4.failover("failback")

    assert s4.disks(PRIMARY) == recovery_side
    assert (source.state, replica.state) == (VMState.Running, VMState.Off)
    assert s4.adapters(PRIMARY) == ["LAN"]
    assert s4.where() == ("protected", "forward")
    assert s4.tick(30) == (f"dr/{protected}",)


#: ``srp failover`` mode -> the task its job runs per machine.
TASKS = {"planned": "planned failover", "test": "test failover", "unplanned": "unplanned failover"}


@dataclass(frozen=True)
class Snapshot:
    """What a refused failover must leave as it was."""

    item: tuple[str, str]
    points: list[str]
    vms: dict[str, list[tuple[str, str]]]
    link: str


def snapshot(s4: S4, item_id: str) -> Snapshot:
    vms = {h.name: [(vm.name, vm.state.name) for vm in h.vms] for h in s4.lab.hyperv.hosts}
    points = [p["point_id"] for p in s4.cli.json("points", item_id)]
    link = s4.host(SPARE).vm("web01").replication
    assert link is not None
    return Snapshot(s4.where(), points, vms, link.replica_state.name)


def test_s4_vmm_a_cloud_without_room_is_refused_through_the_cli_nothing_changed(
    registered: S4,
) -> None:
    s4 = registered
    add_target(s4, "tiny", "Tiny")
    item_id = protect(s4, "tiny")
    before = snapshot(s4, item_id)
    short = (
        "cloud 'Tiny' of VMM server 'vmm02' cannot hold the failed-over VMs: "
        "2048 MB of memory needed, 512 free; nothing was changed "
        "(raise the cloud's capacity or fail over fewer VMs)"
    )

    for mode, task in TASKS.items():
        code, out, err = s4.cli.run("failover", mode, "web01", "--wait")
        job_id = err.splitlines()[0].removeprefix(f"failover.{mode} web01: job ")
        assert (code, out, err.splitlines()[-1]) == (
            REFUSED_EXIT,
            "",
            f"srp: error: job {job_id} failed: task {task} of web01 failed: {short}",
        )
        assert snapshot(s4, item_id) == before, mode
    assert s4.host(PRIMARY).vm("web01").state is VMState.Running
