"""Scenario S3 through replication: VMware VMs on vCenter and a physical server to the cloud.

The real vmware plugin (requests over loopback HTTP) talks to the simulated
vCenter (REST, JSON API, datastore range reads) and to a physical server's
mobility service; the engine replicates to the embedded cloud target. Every
recovery point's replica bytes equal the source's at that cut.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import plugins.vmware.plugin as vmware_plugin
from fakes.clock import VirtualClock
from fakes.harness import EngineHarness
from fakes.mobility import PhysicalServer, serve_mobility
from fakes.vcenter import LoopbackServer, VCenter, serve_vcenter
from fakes.workload import WorkloadGenerator
from provider.errors import MachineNotFound
from provider.model.item import ProtectedItem
from provider.model.policy import PolicyFamily
from provider.model.recovery import Consistency
from provider.model.states import ReplicationState

MIB = 1 << 20
FIVE_MINUTES = 300


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def vcenter(clock: VirtualClock) -> VCenter:
    vc = VCenter(seed=21, clock=clock)
    dc = vc.add_datacenter("DC1")
    dc.add_network("VM Network")
    host = dc.add_host("esx01.lab", dc.add_cluster("Prod"))
    vc.create_vm("web01", host, disks=(2 * MIB, MIB), networks=("VM Network",))
    vc.create_vm("app01", host, disks=(MIB,), networks=("VM Network",))
    vc.create_vm("sql01", host, disks=(2 * MIB,), networks=("VM Network",))
    vc.faults.cbt_query_window = 512 * 1024  # several QueryChangedDiskAreas calls per disk
    return vc


@pytest.fixture
def served(vcenter: VCenter) -> Iterator[LoopbackServer]:
    server, _ = serve_vcenter(vcenter)
    with server:
        yield server


@pytest.fixture
def engine(tmp_path: Path, clock: VirtualClock) -> Iterator[EngineHarness]:
    with EngineHarness(tmp_path, plugins={"vmware": vmware_plugin}, clock=clock.now) as harness:
        harness.add_policy(
            "vmware-5min",
            family=PolicyFamily.CONTINUOUS,
            crash_consistent_frequency_min=5,
            retention_hours=72,
            app_consistent_frequency_hours=1,
        )
        yield harness


def register(engine: EngineHarness, vcenter: VCenter, served: LoopbackServer) -> str:
    user, password = vcenter.credentials
    options = {"transport": "http", "retry_wait": "0", "task_poll_interval": "0"}
    return engine.register_fabric("vmware", served.address, user, password, options)


def protect(
    engine: EngineHarness, fabric_id: str, *names: str, group: str = ""
) -> list[ProtectedItem]:
    with engine.store.read() as tx:
        machines = {m.name: m for m in tx.fabrics.inventory(fabric_id).machines}
    return [
        engine.protect(fabric_id, machines[name].machine_id, policy="vmware-5min", group=group)
        for name in names
    ]


def snapshot_bytes(vcenter: VCenter, *names: str) -> dict[str, list[bytes]]:
    return {
        name: [d.read(0, d.capacity) for d in vcenter.vm_named(name).virtual_disks]
        for name in names
    }


def assert_replicas(
    engine: EngineHarness, item: ProtectedItem, expected: list[bytes], at: int = -1
) -> None:
    point = engine.points(item.item_id)[at]
    with engine.store.read() as tx:
        machine = tx.fabrics.inventory(item.fabric_id).machine(item.machine_id)
    for disk, content in zip(machine.disks, expected, strict=True):
        sequence = point.disk(disk.disk_id).sequence
        assert engine.replica_bytes(item.item_id, disk.disk_id, sequence) == content


def test_s3_vcenter_vm_replicates_byte_for_byte_with_an_app_consistent_point(
    engine: EngineHarness, vcenter: VCenter, served: LoopbackServer, clock: VirtualClock
) -> None:
    fabric_id = register(engine, vcenter, served)
    (item,) = protect(engine, fabric_id, "web01")
    assert vcenter.vm_named("web01").cbt_enabled is True
    workload = WorkloadGenerator(
        vcenter.vm_named("web01").virtual_disks,
        seed=3,
        churn_bytes_per_sec=400,
        io_size=(512, 8192),
        clock=clock,
    )
    history = []
    for cycle in range(4):
        if cycle:
            workload.run_for(FIVE_MINUTES)
        clock.advance(FIVE_MINUTES)
        history.append(snapshot_bytes(vcenter, "web01")["web01"])
        consistency = Consistency.APP if cycle == 2 else Consistency.CRASH
        report = engine.cycle(item.item_id, consistency=consistency)
        assert [p.item_id for p in report.recorded] == [item.item_id]
        assert report.note == ""
    assert engine.item(item.item_id).state is ReplicationState.PROTECTED
    points = engine.points(item.item_id)
    assert [p.consistency for p in points] == [
        Consistency.CRASH,
        Consistency.CRASH,
        Consistency.APP,
        Consistency.CRASH,
    ]
    for index, expected in enumerate(history):
        assert_replicas(engine, item, expected, index)
    assert not vcenter.snapshots.snapshots  # every cut's snapshot was removed


def test_s3_replication_group_of_three_vms_shares_one_cut(
    engine: EngineHarness, vcenter: VCenter, served: LoopbackServer, clock: VirtualClock
) -> None:
    fabric_id = register(engine, vcenter, served)
    names = ("web01", "app01", "sql01")
    items = protect(engine, fabric_id, *names, group="erp")
    disks = [d for name in names for d in vcenter.vm_named(name).virtual_disks]
    workload = WorkloadGenerator(disks, seed=8, churn_bytes_per_sec=600, io_size=(512, 8192))
    for cycle in range(3):
        if cycle:
            workload.run_for(FIVE_MINUTES)
        clock.advance(FIVE_MINUTES)
        expected = snapshot_bytes(vcenter, *names)
        consistency = Consistency.APP if cycle == 1 else Consistency.CRASH
        report = engine.cycle(*(i.item_id for i in items), consistency=consistency)
        assert sorted(p.item_id for p in report.recorded) == sorted(i.item_id for i in items)
        assert {p.group_cut for p in report.recorded} == {report.cut_id}
        assert {p.consistency for p in report.recorded} == {consistency}
        for item in items:
            assert_replicas(engine, item, expected[item.machine_name])


def test_s3_expired_session_logs_in_again_and_the_cycle_goes_on(
    engine: EngineHarness, vcenter: VCenter, served: LoopbackServer, clock: VirtualClock
) -> None:
    fabric_id = register(engine, vcenter, served)
    (item,) = protect(engine, fabric_id, "app01")
    clock.advance(FIVE_MINUTES)
    engine.cycle(item.item_id)
    vcenter.vm_named("app01").disks[0].disk.write(4096, b"after the session expired")
    vcenter.sessions.expire_all()
    logins = vcenter.sessions.logins
    clock.advance(FIVE_MINUTES)
    report = engine.cycle(item.item_id)
    assert len(report.recorded) == 1
    assert vcenter.sessions.logins == logins + 1
    assert_replicas(engine, item, snapshot_bytes(vcenter, "app01")["app01"])


def test_s3_idle_session_timeout_is_the_same_as_an_expiry(
    engine: EngineHarness, vcenter: VCenter, served: LoopbackServer, clock: VirtualClock
) -> None:
    fabric_id = register(engine, vcenter, served)
    (item,) = protect(engine, fabric_id, "app01")
    logins = vcenter.sessions.logins
    clock.advance(vcenter.sessions.idle_timeout + 1)
    engine.cycle(item.item_id)
    assert vcenter.sessions.logins == logins + 1


def test_s3_cbt_reset_resynchronizes_then_the_replica_is_exact(
    engine: EngineHarness, vcenter: VCenter, served: LoopbackServer, clock: VirtualClock
) -> None:
    fabric_id = register(engine, vcenter, served)
    (item,) = protect(engine, fabric_id, "sql01")
    vm = vcenter.vm_named("sql01")
    vm.disks[0].disk.write(MIB, b"before" * 1000)
    clock.advance(FIVE_MINUTES)
    engine.cycle(item.item_id)
    vm.disks[0].disk.write(3 * 4096, b"written while CBT was reset")
    vcenter.reset_cbt(vm)
    vm.disks[0].disk.write(MIB + 70_000, b"after the reset")
    clock.advance(FIVE_MINUTES)
    report = engine.cycle(item.item_id)
    assert report.resynchronized == ("2000",)
    assert len(report.recorded) == 1
    assert engine.item(item.item_id).state is ReplicationState.PROTECTED
    assert_replicas(engine, item, snapshot_bytes(vcenter, "sql01")["sql01"])
    vm.disks[0].disk.write(9 * 4096, b"incremental again")
    clock.advance(FIVE_MINUTES)
    assert engine.cycle(item.item_id).resynchronized == ()
    assert_replicas(engine, item, snapshot_bytes(vcenter, "sql01")["sql01"])


def test_s3_quiesce_failure_records_a_crash_point_and_says_why(
    engine: EngineHarness, vcenter: VCenter, served: LoopbackServer, clock: VirtualClock
) -> None:
    fabric_id = register(engine, vcenter, served)
    (item,) = protect(engine, fabric_id, "app01")
    vcenter.faults.quiesce_failure = "VSS writer timed out"
    clock.advance(FIVE_MINUTES)
    report = engine.cycle(item.item_id, consistency=Consistency.APP)
    assert [p.consistency for p in report.recorded] == [Consistency.CRASH]
    assert report.note == (
        f"quiesced snapshot failed (app01: vCenter {served.address}: snapshot app01 "
        f"({item.machine_id}) failed: ApplicationQuiesceFault: An error occurred while quiescing "
        "the virtual machine: VSS writer timed out); the point is crash-consistent"
    )
    assert_replicas(engine, item, snapshot_bytes(vcenter, "app01")["app01"])


def test_s3_deleted_vm_fails_the_cycle_clearly_and_keeps_its_points(
    engine: EngineHarness, vcenter: VCenter, served: LoopbackServer, clock: VirtualClock
) -> None:
    fabric_id = register(engine, vcenter, served)
    (item,) = protect(engine, fabric_id, "app01")
    clock.advance(FIVE_MINUTES)
    engine.cycle(item.item_id)
    expected = snapshot_bytes(vcenter, "app01")["app01"]
    vcenter.delete_vm(vcenter.vm_named("app01"))
    clock.advance(FIVE_MINUTES)
    with pytest.raises(MachineNotFound) as raised:
        engine.cycle(item.item_id)
    assert raised.value.message == (
        f"vCenter {served.address}: CreateSnapshot_Task on {item.machine_id}: the VM "
        f"{item.machine_id} no longer exists in vCenter (The object 'VirtualMachine:"
        f"{item.machine_id}' has already been deleted or has not been completely created)"
    )
    assert len(engine.points(item.item_id)) == 1
    assert_replicas(engine, item, expected)


def test_s3_physical_server_replicates_through_the_mobility_service(
    engine: EngineHarness, clock: VirtualClock
) -> None:
    server = PhysicalServer.build("db-phys01", disks=(2 * MIB, MIB), seed=5, clock=clock)
    listener, _ = serve_mobility(server)
    with listener:
        user, password = server.credentials
        fabric_id = engine.register_fabric(
            "physical", listener.address, user, password, {"transport": "http", "retry_wait": "0"}
        )
        (item,) = protect(engine, fabric_id, "db-phys01")
        workload = WorkloadGenerator(
            server.disks, seed=2, churn_bytes_per_sec=400, io_size=(512, 8192)
        )
        for cycle in range(3):
            if cycle:
                workload.run_for(FIVE_MINUTES)
            clock.advance(FIVE_MINUTES)
            expected = [d.read(0, d.capacity) for d in server.disks]
            consistency = Consistency.APP if cycle == 2 else Consistency.CRASH
            report = engine.cycle(item.item_id, consistency=consistency)
            (point,) = report.recorded
            assert point.consistency is consistency
            for disk, content in zip(server.disks, expected, strict=True):
                sequence = point.disk(disk.disk_id).sequence
                assert engine.replica_bytes(item.item_id, disk.disk_id, sequence) == content
        assert server.service.open_cuts == []
        assert engine.item(item.item_id).state is ReplicationState.PROTECTED
