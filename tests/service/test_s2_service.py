"""Scenario S2 through the real service and the real CLI: VMM clouds to the cloud target.

The fake VMM server ``vmm01`` of :func:`fakes.vmm.samples.build_cloud_lab`
and its two Hyper-V hosts are served over loopback WinRM; the service runs
the real vmm plugin (pywinrm) and the embedded cloud target. Through ``srp``:
register the VMM server with a vault credentials file, map its VM networks
to the cloud's networks (an unknown VM network is refused), protect two VMs
of cloud Gold with the initial replication's progress, see their points,
drill and clean up, fail over unplanned with the site down (each NIC on its
mapped network), commit, reverse and fail back byte for byte, and run a
recovery plan across clouds Gold and Silver with ``srp plan``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from service_testkit import Capture, Cli, point_cli_at, start_plugin_service

import plugins.vmm.plugin as vmm_plugin
import provider.targets.cloud as cloud_target
from fakes.clock import VirtualClock
from fakes.compute import ISOLATED_NETWORK, SimulatedCompute
from fakes.hyperv.backend import ServedLab
from fakes.hyperv.enums import VMState
from fakes.hyperv.host import VirtualMachine
from fakes.vmm import VmmLab, start_winrm_lab
from fakes.vmm.samples import build_cloud_lab
from provider.blockdigest import digest_of_bytes
from provider.service.app import service_of
from provider.service.runtime import ServiceRuntime
from provider.targets.compute import ReplicaMachine

FIVE_MINUTES = 300
#: ``srp``'s exit code for something that does not exist (provider/cli/exitcodes.py).
NOT_FOUND_EXIT = 3
#: ``srp``'s exit code for a refused failover.
REFUSED_EXIT = 10
#: Cloud target networks each VM network of the lab is mapped to.
MAPPED = {"Corp-VMs": "vnet-corp", "Dmz-VMs": "vnet-dmz"}
#: Where each VM of the lab runs (fakes/vmm/samples.py).
HOST_OF = {"web01": "hv01", "sql01": "hv01", "app01": "hv02", "batch01": "hv02"}


@dataclass
class S2:
    """The VMM lab on loopback WinRM, the running service, and the CLI."""

    root: Path
    clock: VirtualClock
    lab: VmmLab
    served: ServedLab
    runtime: ServiceRuntime
    cli: Cli

    @property
    def compute(self) -> SimulatedCompute:
        return SimulatedCompute.at(self.root / "acct" / "compute")

    def vm(self, name: str) -> VirtualMachine:
        return self.lab.hyperv.host(HOST_OF[name]).vm(name)

    def source(self, name: str) -> list[bytes]:
        return [disk.read(0, disk.capacity) for disk in self.vm(name).disks]

    def replica(self, replica_id: str) -> list[bytes]:
        machine = self.compute.find(replica_id)
        assert machine is not None
        return [self.compute.read_disk(replica_id, d.disk_id, 0, d.capacity) for d in machine.disks]

    def only_replica(self, item_id: str) -> ReplicaMachine:
        (machine,) = self.compute.machines(item_id)
        return machine

    def tick(self) -> tuple[str, ...]:
        """One copy-frequency later, one scheduler pass; the items it cycled."""
        self.clock.advance(FIVE_MINUTES)
        return service_of(self.runtime.app).scheduler.tick().cycled

    def items(self) -> dict[str, dict[str, Any]]:
        return {row["machine"]: row for row in self.cli.json("status")}

    def site_down(self) -> None:
        """The primary site is lost: VMM answers no more, hv01 crashed (its VMs off)."""
        self.lab.server("vmm01").faults.unreachable = True
        self.lab.hyperv.host("hv01").crash()


@pytest.fixture
def s2(tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> Iterator[S2]:
    # Credentials files the CLI issues must be current: the clock starts at the real time.
    clock = VirtualClock(start=float(int(time.time())))
    lab = build_cloud_lab(seed=2, clock=clock)
    with start_winrm_lab(lab) as served:
        home = tmp_path / "home"
        runtime, token = start_plugin_service(
            home, clock, {"cloud": cloud_target, "vmm": vmm_plugin}
        )
        try:
            point_cli_at(monkeypatch, home, token)
            monkeypatch.setenv("VMM_PASSWORD", served.credentials[1])
            yield S2(tmp_path, clock, lab, served, runtime, Cli(capsys))
        finally:
            runtime.stop()


def register(s2: S2) -> dict[str, Any]:
    """vmm01 registered with a vault credentials file, a policy and the cloud target added."""
    credentials = s2.root / "vault.credentials"
    s2.cli.ok("vault", "credentials", "--out", str(credentials))
    hosts = ",".join(f"{h.name}={s2.served.endpoint(h.name)}" for h in s2.lab.hyperv.hosts)
    fabric: dict[str, Any] = s2.cli.json(
        "register", "--kind", "vmm", "--address", s2.served.endpoint("vmm01"), "--name", "vmm01",
        "--username", s2.served.credentials[0], "--credentials-file", str(credentials),
        "--password-env", "VMM_PASSWORD", "--option", "transport=basic",
        "--option", "vmm_server=vmm01", "--option", f"host_endpoints={hosts}",
        "--option", "retry_wait=0",
    )  # fmt: skip
    s2.cli.ok("policy", "create", "p5", "--family", "hyperv", "--copy-frequency", "300")
    s2.cli.ok("target", "add", "cloud1", "--path", str(s2.root / "acct"))
    s2.compute.add_network("vnet-corp", subnet="10.1.0.0/24")
    s2.compute.add_network("vnet-dmz", subnet="10.2.0.0/24")
    return fabric


def map_networks(s2: S2) -> None:
    for vm_network, cloud_network in MAPPED.items():
        s2.cli.ok(
            "mapping", "network", "add", vm_network, cloud_network,
            "--fabric", "vmm01", "--target", "cloud1",
        )  # fmt: skip


def protect(s2: S2, *names: str) -> dict[str, str]:
    """Protect ``names`` and wait for their initial replication; item id by machine name."""
    s2.cli.ok("protect", *names, "--policy", "p5", "--target", "cloud1", "--wait")
    return {name: row["item_id"] for name, row in s2.items().items()}


@pytest.fixture
def gold(s2: S2) -> dict[str, str]:
    """web01 and sql01 of cloud Gold protected, their VM networks mapped."""
    register(s2)
    map_networks(s2)
    return protect(s2, "web01", "sql01")


def test_s2_register_discovers_the_clouds_vm_networks_and_a_mapping_names_them(s2: S2) -> None:
    registered = register(s2)
    fabric = s2.cli.json("fabric", "show", "vmm01")
    networks = {n["name"]: n for n in fabric["inventory"]["networks"]}
    assert sorted(networks) == ["Backup", "Corp-VMs", "Dmz-VMs"]
    assert {n["kind"] for n in networks.values()} == {"vm-network"}
    assert (registered["kind"], registered["name"], fabric["machines"]) == ("vmm", "vmm01", 5)

    mapping = s2.cli.json(
        "mapping", "network", "add", "Corp-VMs", "vnet-corp", "--fabric", "vmm01",
        "--target", "cloud1",
    )  # fmt: skip

    assert (mapping["source_network"], mapping["target_network"]) == (
        networks["Corp-VMs"]["network_id"],
        "vnet-corp",
    )


def test_s2_a_vm_network_the_vmm_server_does_not_have_is_refused(s2: S2) -> None:
    register(s2)

    code, out, err = s2.cli.run(
        "mapping", "network", "add", "Guest-VMs", "vnet-corp", "--fabric", "vmm01",
        "--target", "cloud1",
    )  # fmt: skip

    assert (code, out, err) == (
        NOT_FOUND_EXIT,
        "",
        "srp: error: fabric 'vmm01' has no network 'Guest-VMs' in its inventory "
        "(see its networks with `srp fabric show FABRIC`)\n",
    )
    assert s2.cli.json("mapping", "network", "list") == []


def test_s2_protect_two_vms_of_a_cloud_with_the_initial_replications_progress(s2: S2) -> None:
    register(s2)

    code, out, err = s2.cli.run(
        "protect", "web01", "sql01", "--policy", "p5", "--target", "cloud1", "--wait"
    )

    assert (code, out) == (0, "")
    items = s2.items()
    job_id = err.splitlines()[2].removeprefix("initial replication: job ")
    assert err.splitlines() == [
        f"protecting web01 as item {items['web01']['item_id']}",
        f"protecting sql01 as item {items['sql01']['item_id']}",
        f"initial replication: job {job_id}",
        f"initial-replication 2 machines: succeeded {'━' * 33} 100%",
        f"job {job_id} succeeded",
    ]
    job = s2.cli.json("job", "show", job_id)
    assert (job["kind"], job["state"], job["progress"]) == ("initial-replication", "succeeded", 1.0)
    assert [(t["name"], t["state"], t["progress"]) for t in job["tasks"]] == [
        ("web01", "done", 1.0),
        ("sql01", "done", 1.0),
    ]
    assert {(n, r["state"], r["health"]) for n, r in items.items()} == {
        ("web01", "protected", "normal"),
        ("sql01", "protected", "normal"),
    }


def test_s2_points_carry_the_source_disks_digests_cycle_after_cycle(
    s2: S2, gold: dict[str, str]
) -> None:
    s2.vm("web01").disks[1].write(8192, b"order 1042 paid")
    assert sorted(s2.tick()) == sorted(gold.values())

    for name, item_id in gold.items():
        points = s2.cli.json("points", item_id)
        assert len(points) == 2
        assert [d["digest"] for d in points[-1]["disks"]] == [
            digest_of_bytes(content) for content in s2.source(name)
        ]


def test_s2_drill_runs_in_the_isolated_network_and_cleanup_removes_it(
    s2: S2, gold: dict[str, str]
) -> None:
    s2.vm("web01").disks[0].write(4096, b"drill me")
    s2.tick()
    expected = s2.source("web01")

    job = s2.cli.json("failover", "test", "web01", "--wait")

    assert (job["kind"], job["state"], job["error"]) == ("failover.test", "succeeded", "")
    (drill,) = s2.cli.json("failover", "drill", job["job_id"])
    latest = s2.cli.json("points", gold["web01"])[-1]
    assert (drill["machine_name"], drill["point_id"], drill["verified"]) == (
        "web01",
        latest["point_id"],
        True,
    )
    assert drill["network_ids"] == [ISOLATED_NETWORK, ISOLATED_NETWORK]
    assert s2.replica(drill["replica_id"]) == expected
    assert s2.items()["web01"]["state"] == "test_failover"
    assert gold["web01"] in s2.tick()  # replication goes on under a drill

    cleanup = s2.cli.json("failover", "cleanup", "web01", "--wait")

    assert (cleanup["state"], s2.compute.find(drill["replica_id"])) == ("succeeded", None)
    assert s2.items()["web01"]["state"] == "protected"


def test_s2_unplanned_commit_reverse_failback_byte_for_byte(s2: S2, gold: dict[str, str]) -> None:
    web = s2.vm("web01")
    web.disks[0].write(12288, b"replicated before the disaster")
    s2.tick()
    at_point = s2.source("web01")
    web.disks[0].write(20480, b"never replicated")
    s2.site_down()

    job = s2.cli.json("failover", "unplanned", "web01", "--wait")

    assert (job["kind"], job["state"], job["error"]) == ("failover.unplanned", "succeeded", "")
    replica = s2.only_replica(gold["web01"])
    nics = s2.cli.json("fabric", "show", "vmm01")["inventory"]["machines"]
    (source_nics,) = [m["nics"] for m in nics if m["name"] == "web01"]
    assert [(n.nic_id, n.network_id, n.ip_address) for n in replica.nics] == [
        (source_nics[0]["nic_id"], "vnet-corp", source_nics[0]["ip_addresses"][0]),
        (source_nics[1]["nic_id"], "vnet-dmz", source_nics[1]["ip_addresses"][0]),
    ]
    assert (replica.power_state, s2.replica(replica.replica_id)) == ("running", at_point)
    assert s2.items()["web01"]["state"] == "failed_over"

    assert s2.cli.json("failover", "commit", "web01", "--wait")["state"] == "succeeded"
    assert s2.items()["web01"]["state"] == "committed"
    s2.lab.server("vmm01").faults.unreachable = False  # the primary site is back
    s2.compute.write_disk(replica.replica_id, replica.disks[0].disk_id, 0, b"run in the cloud")

    reverse = s2.cli.json("failover", "reverse", "web01", "--wait")

    assert (reverse["state"], reverse["error"]) == ("succeeded", "")
    assert (s2.items()["web01"]["state"], s2.items()["web01"]["direction"]) == (
        "protected",
        "reverse",
    )
    assert s2.source("web01") == s2.replica(replica.replica_id)
    s2.compute.write_disk(replica.replica_id, replica.disks[1].disk_id, 65536, b"last words")
    final = s2.replica(replica.replica_id)

    failback = s2.cli.json("failover", "failback", "web01", "--wait")

    assert (failback["state"], failback["error"]) == ("succeeded", "")
    assert s2.source("web01") == final
    assert web.state is VMState.Running
    assert s2.compute.find(replica.replica_id) is None
    assert (s2.items()["web01"]["state"], s2.items()["web01"]["direction"]) == (
        "protected",
        "forward",
    )
    assert gold["web01"] in s2.tick()


def test_s2_an_unplanned_failover_to_a_network_the_cloud_lacks_changes_nothing(
    s2: S2, gold: dict[str, str]
) -> None:
    s2.cli.ok(
        "mapping", "network", "add", "Dmz-VMs", "vnet-gone", "--fabric", "vmm01",
        "--target", "cloud1",
    )  # fmt: skip
    jobs = s2.cli.json("job", "list")

    code, out, err = s2.cli.run("failover", "unplanned", "web01", "--wait")

    assert (code, out) == (REFUSED_EXIT, "")
    assert " ".join(err.split()) == (
        f"srp: error: web01 ({gold['web01']}): network "
        f"'{_network_id(s2, 'Dmz-VMs')}' is mapped to 'vnet-gone', which target 'cloud1' "
        "does not have (it has: test-isolated, vnet-corp, vnet-dmz) (fix the network mapping)"
    )
    assert s2.cli.json("job", "list") == jobs
    assert s2.compute.machines(gold["web01"]) == ()
    assert s2.items()["web01"]["state"] == "protected"


PLAN = """
name = "two-clouds"

[[groups]]
name = "silver"
machines = ["batch01"]

[[groups]]
name = "gold"
machines = ["web01", "app01"]
"""


def test_s2_a_recovery_plan_across_two_clouds_fails_over_planned(s2: S2, tmp_path: Path) -> None:
    register(s2)
    map_networks(s2)
    items = protect(s2, "batch01", "web01", "app01")
    plan = tmp_path / "two-clouds.toml"
    plan.write_text(PLAN, encoding="utf-8")
    s2.cli.ok("plan", "create", str(plan))
    for name in items:
        s2.vm(name).disks[0].write(32768, f"{name}: the last write before the plan".encode())

    job = s2.cli.json("plan", "run", "two-clouds", "--mode", "planned", "--wait")

    assert (job["kind"], job["state"], job["error"]) == ("plan.planned", "succeeded", "")
    for name, item_id in items.items():
        replica = s2.only_replica(item_id)
        assert s2.vm(name).state is VMState.Off  # planned: the source shut down first
        assert s2.replica(replica.replica_id) == s2.source(name)
    assert {row["state"] for row in s2.items().values()} == {"failed_over"}


def _network_id(s2: S2, name: str) -> str:
    networks = s2.cli.json("fabric", "show", "vmm01")["inventory"]["networks"]
    return str(next(n["network_id"] for n in networks if n["name"] == name))
