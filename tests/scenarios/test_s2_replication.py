"""Scenario S2 through replication: VMM clouds to the cloud target over loopback WinRM.

The real vmm plugin (pywinrm, Basic and NTLM) is registered on the simulated
VMM server; the SrpAgent on the Hyper-V host of each VM does the change
tracking; the engine replicates to the embedded cloud target. Every
recovery point's replica bytes equal the source's at that cut, for a lone
machine and for a replication group whose machines run on two hosts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import plugins.vmm.plugin as vmm_plugin
from fakes.clock import VirtualClock
from fakes.harness import EngineHarness
from fakes.hyperv.backend import ServedLab
from fakes.vmm import VmmLab, start_winrm_lab
from fakes.vmm.samples import build_cloud_lab
from fakes.workload import WorkloadGenerator
from provider.errors import RemoteCommandFailed
from provider.model.inventory import Machine
from provider.model.recovery import Consistency
from provider.model.states import ReplicationState


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def vmm_lab(clock: VirtualClock) -> VmmLab:
    return build_cloud_lab(seed=7, clock=clock)


@pytest.fixture(params=["basic", "ntlm"])
def served(request: pytest.FixtureRequest, vmm_lab: VmmLab) -> Iterator[tuple[ServedLab, str]]:
    with start_winrm_lab(vmm_lab) as running:
        yield running, str(request.param)


@pytest.fixture
def engine(tmp_path: Path, clock: VirtualClock) -> Iterator[EngineHarness]:
    with EngineHarness(tmp_path, plugins={"vmm": vmm_plugin}, clock=clock.now) as harness:
        yield harness


def _register(engine: EngineHarness, vmm_lab: VmmLab, running: ServedLab, auth: str) -> str:
    user, password = running.credentials
    hosts = ",".join(f"{h.name}={running.endpoint(h.name)}" for h in vmm_lab.hyperv.hosts)
    options = {
        "transport": auth,
        "vmm_server": "vmm01",
        "host_endpoints": hosts,
        "retry_wait": "0",
    }
    return engine.register_fabric("vmm", running.endpoint("vmm01"), user, password, options)


def _machines(engine: EngineHarness, fabric_id: str) -> dict[str, Machine]:
    with engine.store.read() as tx:
        return {m.name: m for m in tx.fabrics.inventory(fabric_id).machines}


def test_s2_vmm_cloud_replicates_to_the_cloud_byte_for_byte(
    engine: EngineHarness, vmm_lab: VmmLab, served: tuple[ServedLab, str], clock: VirtualClock
) -> None:
    running, auth = served
    fabric_id = _register(engine, vmm_lab, running, auth)
    machines = _machines(engine, fabric_id)
    assert set(machines) == {"web01", "sql01", "app01", "batch01", "batch02"}
    web = vmm_lab.hyperv.host("hv01").vm("web01")
    item = engine.protect(fabric_id, machines["web01"].machine_id)
    workload = WorkloadGenerator(
        list(web.disks), seed=3, churn_bytes_per_sec=4_000, io_size=(512, 16384), clock=clock
    )
    history: list[list[bytes]] = []
    for cycle in range(4):
        if cycle:
            workload.run_for(300)
        clock.advance(300)
        history.append([disk.read(0, disk.capacity) for disk in web.disks])
        consistency = Consistency.APP if cycle == 2 else Consistency.CRASH
        report = engine.cycle(item.item_id, consistency=consistency)
        assert [p.item_id for p in report.recorded] == [item.item_id]
    assert engine.item(item.item_id).state is ReplicationState.PROTECTED
    points = engine.points(item.item_id)
    assert [p.consistency for p in points] == [
        Consistency.CRASH,
        Consistency.CRASH,
        Consistency.APP,
        Consistency.CRASH,
    ]
    disk_ids = [d.disk_id for d in machines["web01"].disks]
    for point, expected in zip(points, history, strict=True):
        for disk_id, content in zip(disk_ids, expected, strict=True):
            sequence = point.disk(disk_id).sequence
            assert engine.replica_bytes(item.item_id, disk_id, sequence) == content
    assert vmm_lab.hyperv.host("hv01").commands_run().count("New-SrpCut") == 4
    assert "New-SrpCut" not in vmm_lab.server("vmm01").commands_run()


def test_s2_group_across_two_hosts_shares_points_byte_for_byte(
    engine: EngineHarness, vmm_lab: VmmLab, clock: VirtualClock
) -> None:
    with start_winrm_lab(vmm_lab) as running:
        fabric_id = _register(engine, vmm_lab, running, "basic")
        machines = _machines(engine, fabric_id)
        names = ("sql01", "app01")  # on hv01 and hv02
        items = [engine.protect(fabric_id, machines[n].machine_id, group="tier") for n in names]
        vms = [vmm_lab.hyperv.host(h).vm(n) for h, n in (("hv01", "sql01"), ("hv02", "app01"))]
        history: list[list[bytes]] = []
        for cycle in range(3):
            for index, vm in enumerate(vms):
                vm.disks[0].write(4096 * (cycle + 1), f"cycle {cycle} vm {index}".encode())
            clock.advance(300)
            history.append([vm.disks[0].read(0, vm.disks[0].capacity) for vm in vms])
            report = engine.cycle(*(item.item_id for item in items))
            assert sorted(p.item_id for p in report.recorded) == sorted(i.item_id for i in items)
        for item, name, column in zip(items, names, range(2), strict=True):
            disk_id = machines[name].disks[0].disk_id
            points = engine.points(item.item_id)
            assert len(points) == 3
            for point, expected in zip(points, history, strict=True):
                sequence = point.disk(disk_id).sequence
                assert engine.replica_bytes(item.item_id, disk_id, sequence) == expected[column]


def test_s2_refresh_failing_mid_discovery_leaves_the_inventory_as_it_was(
    engine: EngineHarness, vmm_lab: VmmLab
) -> None:
    with start_winrm_lab(vmm_lab) as running:
        fabric_id = _register(engine, vmm_lab, running, "basic")
        with engine.store.read() as tx:
            before = tx.fabrics.inventory(fabric_id)
        vmm_lab.hyperv.host("hv01").create_vm("late01", switch="LAN")
        server = vmm_lab.server("vmm01")
        server.place_vm(vmm_lab.hyperv.host("hv01").vm("late01"), cloud="Gold")
        server.faults.failing_cmdlets["Get-SCCloudUsage"] = "the database is busy"
        with pytest.raises(RemoteCommandFailed, match=r"the database is busy \(Error ID: 2606\)"):
            engine.refresh(fabric_id)
        with engine.store.read() as tx:
            assert tx.fabrics.inventory(fabric_id) == before
