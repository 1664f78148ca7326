"""Lab scenarios S2 to S5 and ``all``: every endpoint reached through its real plugin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType

import pytest

import plugins.hyperv.plugin as hyperv_plugin
import plugins.inmage.plugin as inmage_plugin
import plugins.vmm.plugin as vmm_plugin
import plugins.vmware.plugin as vmware_plugin
from fakes.clock import VirtualClock
from fakes.lab.labfile import LabFile, LabHost, scenario_id
from fakes.lab.process import CHURN_PER_VM, RunningLoad
from fakes.lab.scenarios import (
    S1_MACHINES,
    S3_PHYSICAL,
    S3_VMS,
    SCENARIOS,
    LabContext,
    build_s4,
    serve_s3,
)
from fakes.vmm.samples import CLOUD_VMS
from provider.cli.lab_cmd import start_lab, stop_lab
from provider.contracts.connection import FabricConnection, Secret, TargetConnection
from provider.errors import ConfigurationError, NotFound

PLUGINS: dict[str, ModuleType] = {
    "hyperv": hyperv_plugin,
    "vmm": vmm_plugin,
    "vmware": vmware_plugin,
    "physical": vmware_plugin,
    "inmage": inmage_plugin,
}

S2_CLOUD_VMS = sorted(vm for vms in CLOUD_VMS.values() for vm, spec in vms.items() if spec[0])
S3_VM_NAMES = sorted(vm for vms in S3_VMS.values() for vm in vms)
S5_MACHINES = ["app01", "db01", "web01"]  # build_s5_lab: web01, app01 (vCenter), db01 (physical)

#: Scenario -> endpoint -> (kind, machines discovered; None for a target).
EXPECTED: dict[str, dict[str, tuple[str, list[str] | None]]] = {
    "S1": {host: ("hyperv", sorted(vms)) for host, vms in S1_MACHINES.items()},
    "S2": {"vmm01": ("vmm", S2_CLOUD_VMS)},
    "S3": {"vcsa01": ("vmware", S3_VM_NAMES), S3_PHYSICAL: ("physical", [S3_PHYSICAL])},
    "S4": {"vmm01": ("vmm", ["web01"]), "vmm02": ("vmm-replica", None)},
    "S5": {"cx01": ("inmage", S5_MACHINES), "dr-site": ("inmage-site", None)},
}


def _expected_all() -> dict[str, tuple[str, list[str] | None]]:
    return {
        f"{scenario.lower()}-{name}": found
        for scenario, hosts in EXPECTED.items()
        for name, found in hosts.items()
    }


def discover(host: LabHost) -> list[str]:
    """Connect and discover through the endpoint kind's real plugin; the machines' names."""
    plugin = PLUGINS[host.kind]
    connection = FabricConnection(
        f"lab-{host.name}",
        host.kind,
        host.address,
        host.username,
        Secret(host.password),
        host.options,
    )
    try:
        plugin.srp_connect(connection)
        return sorted(machine.name for machine in plugin.srp_discover(connection).machines)
    finally:
        plugin.srp_disconnect(connection)


def probe_site(host: LabHost) -> None:
    """Reach a target endpoint through its plugin: the answer proves address and account."""
    target = TargetConnection(
        f"lab-{host.name}", host.kind, host.address, Secret(host.password), host.options
    )
    if host.kind == "vmm-replica":
        networks = vmm_plugin.srp_target_networks(target)
        assert [(n.name, n.isolated) for n in networks] == [("DR-VMs", False), ("Drill", True)]
        return
    try:
        missing = "GetProtectionState: protection plan 'probe' does not exist"
        with pytest.raises(NotFound, match=missing):
            inmage_plugin.srp_native_state(target, "probe")
    finally:
        inmage_plugin.CLIENTS.drop(target.target_id)


def reach_every_endpoint(lab: LabFile, expected: dict[str, tuple[str, list[str] | None]]) -> None:
    assert {host.name: host.kind for host in lab.hosts} == {
        name: kind for name, (kind, _) in expected.items()
    }
    for host in lab.hosts:
        machines = expected[host.name][1]
        if machines is None:
            probe_site(host)
        else:
            assert discover(host) == machines, host.name


@pytest.fixture
def lab_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "lab.json"
    yield path
    if path.exists():
        stop_lab(path)


@pytest.mark.parametrize("scenario", ["S2", "S3", "S4", "S5"])
def test_a_scenario_serves_every_endpoint_to_its_plugin(scenario: str) -> None:
    # In process (the lab process runs the same function; `all` below goes through it).
    context = LabContext(seed=1, start=1_000_000.0, password="pw-scenario")
    with ExitStack() as stack:
        hosts = SCENARIOS[scenario](context, stack).hosts
        reach_every_endpoint(LabFile(0, scenario, hosts), EXPECTED[scenario])
        assert {host.password for host in hosts} == {"pw-scenario"}


def test_all_serves_every_scenario_at_once_under_prefixed_names(lab_path: Path) -> None:
    lab = start_lab("ALL", lab_path)
    assert lab.scenario == "all"
    reach_every_endpoint(lab, _expected_all())
    stop_lab(lab_path)
    assert not lab_path.exists()


def test_the_lab_file_carries_the_options_each_plugin_needs(tmp_path: Path) -> None:
    context = LabContext(seed=3, start=1_000_000.0, password="pw-1")
    with ExitStack() as stack:
        lab = LabFile(7, "S5", SCENARIOS["S5"](context, stack).hosts)
        lab.write(tmp_path / "lab.json")
        site = lab.host("dr-site")
        ca_cert = Path(site.option("ca_trust_path")).read_bytes()
    raw = json.loads((tmp_path / "lab.json").read_text())
    assert raw["hosts"][1] == {
        "name": "dr-site",
        "kind": "inmage-site",
        "address": site.address,
        "username": "srp",
        "password": "pw-1",
        "options": {
            "transport": "https",
            "ca_trust_path": site.option("ca_trust_path"),
            "process_server": "ps01",
            "master_target": "mt01",
        },
    }
    assert ca_cert.startswith(b"-----BEGIN CERTIFICATE")
    assert LabFile.read(tmp_path / "lab.json") == lab


def test_vmm_endpoints_point_at_every_host(tmp_path: Path) -> None:
    context = LabContext(seed=3, start=1_000_000.0, password="pw-1")
    with ExitStack() as stack:
        (vmm,) = SCENARIOS["S2"](context, stack).hosts
        endpoints = dict(item.split("=", 1) for item in vmm.option("host_endpoints").split(","))
        assert sorted(endpoints) == sorted(CLOUD_VMS)
        assert all(url.startswith("http://127.0.0.1:") for url in endpoints.values())
        assert (vmm.kind, vmm.username, vmm.password) == ("vmm", "LAB\\srpadmin", "pw-1")
        assert (vmm.transport, vmm.option("vmm_server")) == ("ntlm", "vmm01")


def test_s4_lists_the_primary_vmm_as_fabric_and_the_secondary_cloud_as_target() -> None:
    context = LabContext(seed=3, start=1_000_000.0, password="pw-1")
    with ExitStack() as stack:
        served = SCENARIOS["S4"](context, stack)
        primary, secondary = served.hosts
        (load,) = served.loads
        reached = [
            sorted(dict(item.split("=", 1) for item in host.option("host_endpoints").split(",")))
            for host in (primary, secondary)
        ]
    assert [(h.name, h.kind, h.username) for h in served.hosts] == [
        ("vmm01", "vmm", "LAB\\srpadmin"),
        ("vmm02", "vmm-replica", "LAB\\srpadmin"),
    ]
    # The target reaches both sites: replicas land on Recovery, failback lands on hv01.
    assert reached == [["hv01"], ["hv01", "hv11", "hv12"]]
    assert [secondary.option(key) for key in ("vmm_server", "cloud", "username")] == [
        "vmm02",
        "DR",
        "LAB\\srpadmin",
    ]
    # Only the primary site's VM runs a workload.
    assert (load.machines, sorted(d.name.rsplit("\\", 1)[-1] for d in load.disks)) == (
        1,
        ["web01_0.vhdx", "web01_1.vhdx"],
    )


def test_s4_recovery_host_accepts_hyperv_replica_from_the_primary_site() -> None:
    lab = build_s4(seed=3, clock=VirtualClock())
    primary, recovery = lab.hyperv.find_host("hv01"), lab.hyperv.find_host("hv11")
    assert primary is not None and recovery is not None
    script = (
        "Enable-VMReplication -VMName web01 -ReplicaServerName hv11 "
        "-ReplicaServerPort 80 -AuthenticationType Kerberos"
    )
    assert primary.run_script(script).exit_code == 0
    assert [vm.name for vm in recovery.vms] == ["web01"]


def test_s3_runs_one_workload_over_every_vm_and_the_physical_server() -> None:
    context = LabContext(seed=3, start=1_000_000.0, password="pw-1")
    with ExitStack() as stack:
        (load,) = serve_s3(context, stack).loads
        names = sorted(disk.name for disk in load.disks)
        running = RunningLoad(load, seed=3)
        running.advance(2.0)
    assert names == [
        "app01/app01.vmdk",
        "db01/db01.vmdk",
        "phys01/physicaldrive0",
        "web01/web01.vmdk",
        "web01/web01_1.vmdk",
    ]
    assert load.machines == 4
    assert load.clock.now() == 1_000_002.0
    owed = CHURN_PER_VM * 4 * 2.0
    assert running.workload is not None
    assert owed - 65536 < running.workload.stats.bytes_written <= owed


def test_scenario_ids_are_case_insensitive_and_unknown_ones_refused(tmp_path: Path) -> None:
    names = ("s1", "S2", " s3 ", "s4", "s5", "ALL")
    assert [scenario_id(name) for name in names] == ["S1", "S2", "S3", "S4", "S5", "all"]
    with pytest.raises(ConfigurationError, match="unknown lab scenario 'S6'") as caught:
        start_lab("S6", tmp_path / "lab.json")
    assert caught.value.hint == "choose one of S1, S2, S3, S4, S5, all"
    assert not (tmp_path / "lab.json").exists()


def test_the_scenario_ids_name_every_served_scenario() -> None:
    from fakes.lab.labfile import SCENARIO_IDS

    assert tuple(SCENARIOS) == SCENARIO_IDS


def test_a_lab_file_round_trips_its_endpoints(tmp_path: Path) -> None:
    host = LabHost("vcsa01", "vmware", "127.0.0.1:1", "u", "p", (("transport", "http"),))
    lab = LabFile(42, "S3", (host,))
    lab.write(tmp_path / "lab.json")
    assert LabFile.read(tmp_path / "lab.json") == lab
    assert host.renamed("s3-vcsa01") == LabHost(
        "s3-vcsa01", "vmware", "127.0.0.1:1", "u", "p", (("transport", "http"),)
    )
    with pytest.raises(
        ConfigurationError, match="lab S3 has no endpoint 'nope' \\(it has vcsa01\\)"
    ):
        lab.host("nope")
