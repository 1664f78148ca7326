"""Scenario S3 through the real service over HTTP and the real CLI.

A fake vCenter on loopback HTTP is registered with a vault credentials file;
three VMs are protected as one replication group; the scheduler cycles them
until they share a recovery point; the group fails over (unplanned) to its
latest point, byte for byte; planned failover is refused with the rule's
message, before any job exists.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import plugins.vmware.plugin as vmware_plugin
import provider.targets.cloud as cloud_target
from fakes.clock import VirtualClock
from fakes.compute import SimulatedCompute
from fakes.mobility import PhysicalServer, serve_mobility
from fakes.vcenter import LoopbackServer, MasterTarget, VCenter, serve_master_target, serve_vcenter
from fakes.workload import write_pattern
from provider.cli.app import main
from provider.engine.forwarder import RetryPolicy
from provider.pluginmanager import PluginManager
from provider.service.app import service_of
from provider.service.context import ServiceOptions
from provider.service.runtime import Listen, ServiceRuntime
from provider.settings import Settings
from provider.store.vaultstore import VaultStore
from provider.vault.setup import init_vault

KIB = 1024
NAMES = ("web01", "app01", "sql01")
DISKS = {"web01": (256 * KIB, 128 * KIB), "app01": (128 * KIB,), "sql01": (256 * KIB,)}
FIVE_MINUTES = 300
#: ``srp``'s exit code for a refused failover (provider/cli/exitcodes.py).
REFUSED_EXIT = 10
#: ... and for invalid input or configuration.
CONFIGURATION_EXIT = 4
Capture = pytest.CaptureFixture[str]


@dataclass
class S3:
    """The running service with the vmware plugin, the vCenter it protects, and the CLI."""

    root: Path
    clock: VirtualClock
    vcenter: VCenter
    server: LoopbackServer
    runtime: ServiceRuntime
    capsys: Capture
    #: The on-premises master target served beside the vCenter, and its address.
    master_target: MasterTarget
    master_target_address: str

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

    def tick(self) -> None:
        self.clock.advance(FIVE_MINUTES)
        service_of(self.runtime.app).scheduler.tick()

    def source(self, name: str) -> dict[str, bytes]:
        return {str(d.key): d.disk.read(0, d.capacity) for d in self.vcenter.vm_named(name).disks}

    @property
    def compute(self) -> SimulatedCompute:
        return SimulatedCompute.at(self.root / "acct" / "compute")

    def replica(self, replica_id: str) -> dict[str, bytes]:
        machine = self.compute.find(replica_id)
        assert machine is not None
        return {
            d.disk_id: self.compute.read_disk(replica_id, d.disk_id, 0, d.capacity)
            for d in machine.disks
        }


def build_vcenter(clock: VirtualClock) -> VCenter:
    vcenter = VCenter(seed=31, clock=clock)
    datacenter = vcenter.add_datacenter("DC1")
    datacenter.add_network("VM Network")
    host = datacenter.add_host("esx01.lab", datacenter.add_cluster("Prod"))
    for seed, name in enumerate(NAMES):
        vm = vcenter.create_vm(name, host, disks=DISKS[name], networks=("VM Network",))
        for disk in vm.virtual_disks:
            write_pattern(disk, 0, 16 * KIB, seed=seed)
    return vcenter


def start_service(home: Path, clock: VirtualClock) -> tuple[ServiceRuntime, str]:
    settings = Settings.from_env({"SRP_HOME": str(home)})
    with VaultStore.open(settings) as store:
        token = init_vault(store, home, clock=clock.now).token.token.reveal()
    manager = PluginManager()
    manager.register(cloud_target, name="cloud")
    manager.register(vmware_plugin, name="vmware")
    quick = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05)
    options = ServiceOptions(scheduler_interval=None, stop_timeout=20, retry=quick)
    runtime = ServiceRuntime(
        settings, Listen(port=0), plugins=manager, clock=clock.now, options=options
    )
    runtime.start()
    return runtime, token


@pytest.fixture
def s3(tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3]:
    # Credentials files the CLI issues must be current: the clock starts at the real time.
    clock = VirtualClock(start=float(int(time.time())))
    vcenter = build_vcenter(clock)
    home = tmp_path / "home"
    server, _ = serve_vcenter(vcenter)
    mt_server, mt_api = serve_master_target(vcenter)
    with server, mt_server:
        runtime, token = start_service(home, clock)
        try:
            monkeypatch.setenv("SRP_HOME", str(home))
            monkeypatch.setenv("SRP_TOKEN", token)
            monkeypatch.setenv("VC_PASSWORD", vcenter.credentials[1])
            for name in ("SRP_URL", "SRP_CA", "SRP_TOKEN_FILE", "SRP_DATABASE_URL"):
                monkeypatch.delenv(name, raising=False)
            yield S3(
                tmp_path, clock, vcenter, server, runtime, capsys, mt_api.target, mt_server.address
            )
        finally:
            runtime.stop()


def protect_group(s3: S3, *, failback_setup: bool = True) -> dict[str, str]:
    """Register vc01, add target, policy and mapping, protect the group; item id by name.

    With ``failback_setup`` the fabric names the master target served beside
    the vCenter and a process server on the cloud side, as failback needs.
    """
    credentials = s3.root / "vault.credentials"
    s3.ok("vault", "credentials", "--out", str(credentials))
    user = s3.vcenter.credentials[0]
    setup = ("--option", f"master_target={s3.master_target_address}",
             "--option", "failback_process_server=ps-cloud")  # fmt: skip
    s3.ok(
        "register", "--kind", "vmware", "--address", s3.server.address, "--name", "vc01",
        "--username", user, "--credentials-file", str(credentials),
        "--password-env", "VC_PASSWORD", "--option", "transport=http",
        "--option", "retry_wait=0", "--option", "task_poll_interval=0",
        *(setup if failback_setup else ()),
    )  # fmt: skip
    s3.ok("policy", "create", "vm5", "--family", "continuous", "--crash-frequency", "5")
    s3.ok("target", "add", "cloud1", "--path", str(s3.root / "acct"))
    s3.compute.add_network("vnet-prod", subnet="10.1.0.0/24")
    port_group = s3.vcenter.datacenters[0].network("VM Network").moid
    s3.ok("mapping", "network", "add", port_group, "vnet-prod", "--fabric", "vc01",
          "--target", "cloud1")  # fmt: skip
    s3.ok("protect", *NAMES, "--group", "erp", "--policy", "vm5", "--target", "cloud1", "--wait")
    return {row["machine"]: row["item_id"] for row in s3.json("status")}


def shared_point(s3: S3, items: dict[str, str]) -> str:
    """Cycle until the three items hold a point of one group cut; that cut's id."""
    for _ in range(3):
        s3.tick()
        points = [s3.json("points", item) for item in items.values()]
        common = set.intersection(*({p["group_cut"] for p in each} for each in points)) - {""}
        newest_first = [p["group_cut"] for p in reversed(points[0])]
        if common:
            return str(next(cut for cut in newest_first if cut in common))
    raise AssertionError(f"no point shared by {sorted(items)} after three cycles")


def test_s3_group_fails_over_unplanned_to_its_latest_shared_point_byte_for_byte(s3: S3) -> None:
    items = protect_group(s3)
    shared_point(s3, items)
    for seed, name in enumerate(NAMES):
        write_pattern(s3.vcenter.vm_named(name).virtual_disks[0], 40 * KIB, 8 * KIB, seed=50 + seed)
    cut = shared_point(s3, items)
    expected = {name: s3.source(name) for name in NAMES}
    s3.vcenter.vm_named("web01").disks[0].disk.write(0, b"lost with the site")
    s3.vcenter.faults.unavailable_calls = 1 << 30  # the site is down
    job = s3.json("failover", "unplanned", "--group", "erp", "--wait")
    assert (job["kind"], job["state"], job["error"]) == ("failover.unplanned", "succeeded", "")
    tasks = {task["task_id"]: task["output"].splitlines() for task in job["tasks"]}
    states = {row["item_id"]: row["state"] for row in s3.json("status")}
    for name, item_id in items.items():
        point = next(p for p in s3.json("points", item_id) if p["group_cut"] == cut)
        (replica,) = s3.compute.machines(item_id)
        assert tasks[item_id] == [
            f"unplanned failover of {name} ({item_id}) to point {point['point_id']}",
            f"replica {name} ({replica.replica_id}) is running",
        ]
        assert states[item_id] == "failed_over"
        assert s3.replica(replica.replica_id) == expected[name]


def test_s3_planned_failover_of_the_group_is_refused_with_the_rule(s3: S3) -> None:
    items = protect_group(s3)
    shared_point(s3, items)
    jobs = s3.json("job", "list")
    code, out, err = s3.run("failover", "planned", "--group", "erp", "--wait")
    # The group's first machine by name is the one the refusal names.
    assert (code, out, err) == (
        REFUSED_EXIT,
        "",
        f"srp: error: planned failover of app01 ({items['app01']}) is not supported: vmware "
        "machines to a cloud target declare test, unplanned, failback "
        "(use an unplanned failover)\n",
    )
    assert s3.json("job", "list") == jobs
    assert {row["state"] for row in s3.json("status")} == {"protected"}
    assert all(s3.vcenter.vm_named(name).power_state == "POWERED_ON" for name in NAMES)


def failed_over_and_committed(s3: S3) -> dict[str, str]:
    """Protect, fail the group over unplanned (site down), bring the site back, commit."""
    items = protect_group(s3)
    shared_point(s3, items)
    s3.vcenter.faults.unavailable_calls = 1 << 30  # the site is down
    assert s3.json("failover", "unplanned", "--group", "erp", "--wait")["state"] == "succeeded"
    s3.vcenter.faults.unavailable_calls = 0  # the site is back
    assert s3.json("failover", "commit", "--group", "erp", "--wait")["state"] == "succeeded"
    return items


def replica_of(s3: S3, item_id: str) -> str:
    (machine,) = s3.compute.machines(item_id)
    return machine.replica_id


def changed_replicas(s3: S3, items: dict[str, str]) -> dict[str, dict[str, bytes]]:
    """Write into every replica's first disk (the copies live on); their bytes by name."""
    replicas = {name: replica_of(s3, item) for name, item in items.items()}
    for seed, replica_id in enumerate(replicas.values()):
        machine = s3.compute.find(replica_id)
        assert machine is not None
        disk_id = machine.disks[0].disk_id
        s3.compute.write_disk(replica_id, disk_id, 64 * KIB + 100, bytes([0x30 + seed]) * 700)
    return {name: s3.replica(replica_id) for name, replica_id in replicas.items()}


def test_s3_group_fails_back_through_the_master_target_and_a_retry_completes(s3: S3) -> None:
    items = failed_over_and_committed(s3)
    replicas = [replica_of(s3, item) for item in items.values()]
    assert s3.json("failover", "reverse", "--group", "erp", "--wait")["state"] == "succeeded"
    final = changed_replicas(s3, items)
    writes = len(s3.master_target.writes)
    s3.master_target.faults.unavailable_calls = 1 << 30  # down for longer than every retry
    code, out, err = s3.run("failover", "failback", "--group", "erp", "--wait")
    job_id = err.splitlines()[0].rpartition(" ")[2]
    assert (code, out) == (REFUSED_EXIT, "")
    assert err.splitlines()[-1] == (
        f"srp: error: job {job_id} failed: task failback of app01 failed: master target "
        f"{s3.master_target_address}: write 65536 bytes at 65536 of app01 disk 2000: "
        "HTTP 503: The master target is restarting."
    )
    assert len(s3.master_target.writes) == writes  # nothing was written while it was down
    rows = s3.json("status")
    assert {(row["state"], row["direction"]) for row in rows} == {("protected", "reverse")}
    assert {name: s3.replica(replica_of(s3, items[name])) for name in NAMES} == final
    s3.master_target.faults.unavailable_calls = 0
    code, out, err = s3.run("failover", "failback", "--group", "erp", "--wait")
    job_id = err.splitlines()[0].rpartition(" ")[2]
    lines = err.splitlines()
    assert (code, out, lines[0], lines[-1]) == (
        0,
        "",
        f"failover.failback 3 machines: job {job_id}",
        f"job {job_id} succeeded",
    )
    assert "failover.failback 3 machines: succeeded" in lines[1] and "100%" in lines[1]
    for name in NAMES:
        assert s3.source(name) == final[name]
        assert s3.vcenter.vm_named(name).power_state == "POWERED_ON"
    rows = s3.json("status")
    assert {(row["state"], row["direction"]) for row in rows} == {("protected", "forward")}
    assert [s3.compute.find(replica_id) for replica_id in replicas] == [None, None, None]


def test_reverse_without_the_failback_setup_is_refused_before_anything_changes(s3: S3) -> None:
    items = protect_group(s3, failback_setup=False)
    shared_point(s3, items)
    s3.vcenter.faults.unavailable_calls = 1 << 30  # the site is down
    s3.ok("failover", "unplanned", "--group", "erp", "--wait")
    s3.vcenter.faults.unavailable_calls = 0
    s3.ok("failover", "commit", "--group", "erp", "--wait")
    web = s3.vcenter.vm_named("web01")
    before = (web.power_state, s3.source("web01"))
    replica_id = replica_of(s3, items["web01"])
    jobs = s3.json("job", "list")
    code, out, err = s3.run("failover", "reverse", "web01", "--wait")
    # Refused when asked, before any job exists: reverse writes back the failback's way.
    assert (code, out, err.splitlines()[-1]) == (
        CONFIGURATION_EXIT,
        "",
        f"srp: error: failback of web01 ({web.moid}) to vCenter {s3.server.address} needs a "
        "process server on the cloud side and a master target on premises: no master target "
        "is configured on premises (fabric option master_target); no process server is "
        "configured on the cloud side (fabric option failback_process_server) (deploy both, "
        "then set the fabric's master_target and failback_process_server options)",
    )
    assert s3.json("job", "list") == jobs
    assert {row["state"] for row in s3.json("status")} == {"committed"}
    replica = s3.compute.find(replica_id)
    assert replica is not None and replica.power_state == "running"
    assert (web.power_state, s3.source("web01"), s3.master_target.writes) == (*before, [])


def test_a_physical_server_fails_back_to_a_new_vmware_vm_through_the_cli(s3: S3) -> None:
    """The seed's rule: a physical server fails back to VMware only, as a new VM."""
    protect_group(s3)
    server = PhysicalServer.build("db-phys01", disks=(128 * KIB,), seed=4, clock=s3.clock)
    write_pattern(server.disks[0], 0, 32 * KIB, seed=9)
    s3.vcenter.datacenters[0].add_network("Corp-LAN")  # the port group the NIC lands on
    agent, _ = serve_mobility(server)
    with agent:
        credentials = s3.root / "phys.credentials"
        s3.ok("vault", "credentials", "--out", str(credentials))
        user, password = server.credentials
        s3.ok(
            "register", "--kind", "physical", "--address", agent.address, "--name", "phys01",
            "--username", user, "--credentials-file", str(credentials),
            "--password-file", str(_secret_file(s3.root, password)),
            "--option", "transport=http", "--option", "retry_wait=0",
        )  # fmt: skip
        s3.ok("refresh", "vc01")  # discovery now lists the new port group
        s3.ok("mapping", "network", "add", "Corp-LAN", "vnet-prod", "--fabric", "phys01",
              "--target", "cloud1")  # fmt: skip
        s3.ok("protect", "db-phys01", "--policy", "vm5", "--target", "cloud1", "--wait")
        s3.tick()
        assert s3.json("failover", "unplanned", "db-phys01", "--wait")["state"] == "succeeded"
        assert s3.json("failover", "commit", "db-phys01", "--wait")["state"] == "succeeded"
    item_id = next(r["item_id"] for r in s3.json("status") if r["machine"] == "db-phys01")
    final = s3.replica(replica_of(s3, item_id))
    argv = ("failover", "failback", "db-phys01", "--alternate-fabric", "vc01",
            "--alternate-host", "esx01.lab", "--name", "db-phys01-v", "--wait")  # fmt: skip
    job = s3.json(*argv)
    assert (job["state"], job["error"]) == ("succeeded", "")
    vm = s3.vcenter.vm_named("db-phys01-v")
    assert vm.power_state == "POWERED_ON"
    assert [nic.network.name for nic in vm.nics] == ["Corp-LAN"]
    assert sorted(s3.source("db-phys01-v").values()) == sorted(final.values())
    row = next(r for r in s3.json("status") if r["item_id"] == item_id)
    assert (row["machine"], row["state"], row["direction"]) == (
        "db-phys01-v",
        "protected",
        "forward",
    )


def _secret_file(root: Path, secret: str) -> Path:
    path = root / "phys.password"
    path.write_text(secret + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path
