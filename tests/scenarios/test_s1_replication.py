"""Scenario S1 through replication: a Hyper-V site to the cloud target over loopback WinRM.

The real hyperv plugin (pywinrm, Basic and NTLM) talks to simulated Hyper-V
hosts; the engine replicates to the embedded cloud target. Every recovery
point's replica bytes equal the source's at that cut.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import plugins.hyperv.plugin as hyperv_plugin
from fakes.clock import VirtualClock
from fakes.harness import EngineHarness
from fakes.hyperv import HyperVLab, start_winrm_lab
from fakes.hyperv.backend import ServedLab
from fakes.workload import WorkloadGenerator
from provider.model.recovery import Consistency
from provider.model.states import ReplicationState

MIB = 1 << 20


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def hyperv_lab(clock: VirtualClock) -> HyperVLab:
    lab = HyperVLab(seed=7, clock=clock)
    host = lab.add_site("Primary").add_host("hv01")
    host.add_switch("LAN")
    host.create_vm("web01", disks=(2 * MIB, MIB), switch="LAN", running=True)
    host.create_vm("sql01", disks=(2 * MIB,), switch="LAN", running=True)
    return lab


@pytest.fixture(params=["basic", "ntlm"])
def served(
    request: pytest.FixtureRequest, hyperv_lab: HyperVLab
) -> Iterator[tuple[ServedLab, str]]:
    with start_winrm_lab(hyperv_lab) as running:
        yield running, str(request.param)


@pytest.fixture
def engine(tmp_path: Path, clock: VirtualClock) -> Iterator[EngineHarness]:
    with EngineHarness(tmp_path, plugins={"hyperv": hyperv_plugin}, clock=clock.now) as harness:
        yield harness


def test_s1_hyperv_site_replicates_to_the_cloud_byte_for_byte(
    engine: EngineHarness, hyperv_lab: HyperVLab, served: tuple[ServedLab, str], clock: VirtualClock
) -> None:
    running, auth = served
    user, password = running.credentials
    fabric_id = engine.register_fabric(
        "hyperv", running.endpoint("hv01"), user, password, {"transport": auth, "retry_wait": "0"}
    )
    with engine.store.read() as tx:
        inventory = tx.fabrics.inventory(fabric_id)
    machines = {m.name: m for m in inventory.machines}
    assert set(machines) == {"web01", "sql01"}
    web = hyperv_lab.host("hv01").vm("web01")
    items = {name: engine.protect(fabric_id, m.machine_id) for name, m in machines.items()}
    workload = WorkloadGenerator(
        list(web.disks), seed=3, churn_bytes_per_sec=20_000, io_size=(512, 16384), clock=clock
    )
    history: list[list[bytes]] = []
    for cycle in range(4):
        if cycle:
            workload.run_for(300)
        clock.advance(300)
        history.append([disk.read(0, disk.capacity) for disk in web.disks])
        consistency = Consistency.APP if cycle == 2 else Consistency.CRASH
        report = engine.cycle(items["web01"].item_id, consistency=consistency)
        assert [p.item_id for p in report.recorded] == [items["web01"].item_id]
    assert engine.item(items["web01"].item_id).state is ReplicationState.PROTECTED
    points = engine.points(items["web01"].item_id)
    assert [p.consistency for p in points] == [
        Consistency.CRASH,
        Consistency.CRASH,
        Consistency.APP,
        Consistency.CRASH,
    ]
    disk_ids = [m.disk_id for m in machines["web01"].disks]
    for point, expected in zip(points, history, strict=True):
        for disk_id, content in zip(disk_ids, expected, strict=True):
            sequence = point.disk(disk_id).sequence
            assert engine.replica_bytes(items["web01"].item_id, disk_id, sequence) == content


def test_s1_unclean_host_stop_resynchronizes_then_replicates_exactly(
    engine: EngineHarness, hyperv_lab: HyperVLab, clock: VirtualClock
) -> None:
    with start_winrm_lab(hyperv_lab) as running:
        user, password = running.credentials
        fabric_id = engine.register_fabric(
            "hyperv", running.endpoint("hv01"), user, password, {"transport": "basic"}
        )
        with engine.store.read() as tx:
            sql = next(m for m in tx.fabrics.inventory(fabric_id).machines if m.name == "sql01")
        item = engine.protect(fabric_id, sql.machine_id)
        clock.advance(300)
        engine.cycle(item.item_id)
        vm = hyperv_lab.host("hv01").vm("sql01")
        vm.disks[0].write(MIB, b"written just before the crash" * 50)
        hyperv_lab.host("hv01").crash()
        vm.disks[0].write(3 * 4096, b"after restart")
        expected = vm.disks[0].read(0, vm.disks[0].capacity)
        clock.advance(300)
        report = engine.cycle(item.item_id)
        assert report.recorded
        assert report.resynchronized == tuple(d.disk_id for d in sql.disks)
        assert engine.item(item.item_id).state is ReplicationState.PROTECTED
        point = engine.points(item.item_id)[-1]
        (disk,) = point.disks
        assert engine.replica_bytes(item.item_id, disk.disk_id, disk.sequence) == expected
