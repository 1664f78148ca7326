"""Replication cycles end to end on a simulated fabric and the cloud target.

Every test checks the replica byte for byte against what the source held at
the cut of each recovery point.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fakes.clock import VirtualClock
from fakes.fabric import SimulatedFabricPlugin, SimulatedMachine
from fakes.harness import EngineHarness
from fakes.workload import write_pattern
from provider.blockdigest import digest_of_bytes
from provider.errors import RemoteCommandFailed
from provider.model.recovery import Consistency
from provider.model.states import Health, ReplicationState

KIB = 1024


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def plugin(clock: VirtualClock) -> SimulatedFabricPlugin:
    return SimulatedFabricPlugin(clock=clock)


class TickingHarness(EngineHarness):
    """Each cycle starts 30 virtual seconds after the previous one, as a scheduler would."""

    def __init__(
        self, root: Path, plugin: SimulatedFabricPlugin, clock: VirtualClock, **options: int
    ) -> None:
        super().__init__(root, plugins={"simulated": plugin}, clock=clock.now, **options)
        self.virtual_clock = clock

    def cycle(self, *item_ids: str, consistency=Consistency.CRASH, resync_now: bool = False):
        self.virtual_clock.advance(30)
        return super().cycle(*item_ids, consistency=consistency, resync_now=resync_now)


@pytest.fixture
def lab(tmp_path: Path, plugin: SimulatedFabricPlugin, clock: VirtualClock):
    with TickingHarness(tmp_path, plugin, clock) as harness:
        yield harness


def content(machine: SimulatedMachine) -> dict[str, bytes]:
    return {disk_id: disk.read(0, disk.capacity) for disk_id, disk in machine.disks.items()}


def assert_replica_at_latest(lab: EngineHarness, item_id: str, expected: dict[str, bytes]) -> None:
    point = lab.points(item_id)[-1]
    for disk in point.disks:
        replica = lab.replica_bytes(item_id, disk.disk_id, disk.sequence)
        assert replica == expected[disk.disk_id]
        assert disk.digest == digest_of_bytes(expected[disk.disk_id])


def setup_machine(lab: EngineHarness, plugin: SimulatedFabricPlugin, sizes: list[int]):
    fabric = plugin.add_fabric("sim-01")
    machine = fabric.add_machine("web01", disks=sizes)
    for index, disk in enumerate(machine.disks.values()):
        write_pattern(disk, 0, 64 * KIB, seed=index)
        write_pattern(disk, disk.capacity - 8 * KIB, 8 * KIB, seed=100 + index)
    fabric_id = lab.register_fabric("simulated", "sim-01", "admin", "secret")
    return fabric, machine, fabric_id


def test_initial_replication_copies_allocated_blocks_exactly(lab, plugin) -> None:
    _, machine, fabric_id = setup_machine(lab, plugin, [256 * KIB, 1024 * KIB])
    item = lab.protect(fabric_id, machine.machine_id)
    assert item.state is ReplicationState.INITIAL_REPLICATION
    expected = content(machine)
    report = lab.cycle(item.item_id)
    assert len(report.recorded) == 1
    assert lab.item(item.item_id).state is ReplicationState.PROTECTED
    assert_replica_at_latest(lab, item.item_id, expected)


def test_delta_cycles_keep_every_point_exact(lab, plugin, clock) -> None:
    _, machine, fabric_id = setup_machine(lab, plugin, [512 * KIB])
    item = lab.protect(fabric_id, machine.machine_id)
    disk = next(iter(machine.disks.values()))
    history = []
    for step in range(4):
        write_pattern(disk, (step * 37 * KIB) % (400 * KIB), 10 * KIB, seed=step + 7)
        history.append(disk.read(0, disk.capacity))
        lab.cycle(item.item_id)
        clock.advance(300)
    points = lab.points(item.item_id)
    assert len(points) == 4
    for point, expected in zip(points, history, strict=True):
        (disk_point,) = point.disks
        assert lab.replica_bytes(item.item_id, disk.disk_id, disk_point.sequence) == expected


def test_unencrypted_uncompressed_policy_replicates_exactly(lab, plugin) -> None:
    _, machine, fabric_id = setup_machine(lab, plugin, [256 * KIB])
    lab.add_policy("plain", encryption=False, compression=False)
    item = lab.protect(fabric_id, machine.machine_id, policy="plain")
    lab.cycle(item.item_id)
    write_pattern(next(iter(machine.disks.values())), 4096, 5000, seed=9)
    expected = content(machine)
    lab.cycle(item.item_id)
    assert_replica_at_latest(lab, item.item_id, expected)


def test_lost_tracking_resynchronizes_by_digest(lab, plugin) -> None:
    _, machine, fabric_id = setup_machine(lab, plugin, [512 * KIB])
    item = lab.protect(fabric_id, machine.machine_id)
    lab.cycle(item.item_id)
    disk = next(iter(machine.disks.values()))
    disk.lose_tracking()
    disk.corrupt(200 * KIB, 100)  # silent: only a digest compare can find it
    write_pattern(disk, 300 * KIB, 4 * KIB, seed=3)
    expected = content(machine)
    report = lab.cycle(item.item_id)
    assert len(report.recorded) == 1
    assert report.resynchronized == (disk.disk_id,)
    assert report.bytes_shipped < disk.capacity // 2
    assert lab.item(item.item_id).state is ReplicationState.PROTECTED
    assert_replica_at_latest(lab, item.item_id, expected)


def test_failed_read_abandons_the_cycle_and_loses_nothing(lab, plugin) -> None:
    _, machine, fabric_id = setup_machine(lab, plugin, [512 * KIB])
    item = lab.protect(fabric_id, machine.machine_id)
    lab.cycle(item.item_id)
    disk = next(iter(machine.disks.values()))
    write_pattern(disk, 100 * KIB, 8 * KIB, seed=11)
    disk.set_read_error(True)
    with pytest.raises(RemoteCommandFailed, match=r"reading disk .* failed"):
        lab.cycle(item.item_id)
    disk.set_read_error(False)
    write_pattern(disk, 400 * KIB, 8 * KIB, seed=12)
    expected = content(machine)
    lab.cycle(item.item_id)
    assert len(lab.points(item.item_id)) == 2
    assert_replica_at_latest(lab, item.item_id, expected)


def test_replication_group_points_share_one_cut(lab, plugin) -> None:
    fabric = plugin.add_fabric("sim-01")
    machines = [fabric.add_machine(f"db{i}", disks=[128 * KIB]) for i in range(3)]
    fabric_id = lab.register_fabric("simulated", "sim-01", "admin", "secret")
    items = [lab.protect(fabric_id, m.machine_id, group="erp") for m in machines]
    for index, machine in enumerate(machines):
        write_pattern(next(iter(machine.disks.values())), 0, 16 * KIB, seed=index)
    report = lab.cycle(*(i.item_id for i in items))
    assert len(report.recorded) == 3
    assert {p.group_cut for p in report.recorded} == {report.cut_id}
    for item, machine in zip(items, machines, strict=True):
        assert_replica_at_latest(lab, item.item_id, content(machine))


def test_app_consistent_point_falls_back_when_quiesce_fails(lab, plugin) -> None:
    fabric, machine, fabric_id = setup_machine(lab, plugin, [128 * KIB])
    item = lab.protect(fabric_id, machine.machine_id)
    report = lab.cycle(item.item_id, consistency=Consistency.APP)
    assert report.recorded[0].consistency is Consistency.APP
    fabric.quiesce_fails = True
    report = lab.cycle(item.item_id, consistency=Consistency.APP)
    assert report.recorded[0].consistency is Consistency.CRASH
    assert "quiesce failed" in report.note
    health = lab.item(item.item_id).health
    assert health.level is Health.WARNING
    assert health.reasons == (f"no app-consistent point: {report.note}",)
    fabric.quiesce_fails = False
    lab.cycle(item.item_id, consistency=Consistency.APP)
    assert lab.item(item.item_id).health.level is Health.NORMAL


def test_rpo_turns_health_critical(lab, plugin, clock) -> None:
    _, machine, fabric_id = setup_machine(lab, plugin, [128 * KIB])
    item = lab.protect(fabric_id, machine.machine_id)
    lab.cycle(item.item_id)
    assert lab.item(item.item_id).health.level is Health.NORMAL
    clock.advance(61 * 60)
    disk = next(iter(machine.disks.values()))
    write_pattern(disk, 0, 4096, seed=5)
    disk.set_read_error(True)
    with pytest.raises(RemoteCommandFailed):
        lab.cycle(item.item_id)
    health = lab.item(item.item_id).health
    assert health.level is Health.CRITICAL
    assert any("RPO is 61.5 min, over the 60 min threshold" in r for r in health.reasons)


@pytest.fixture
def target_down(monkeypatch: pytest.MonkeyPatch):
    """A switch that makes the cloud target refuse to store HRLs, as if unreachable."""
    from provider.errors import TargetUnavailable
    from provider.replica.store import ReplicaStore

    real = ReplicaStore.store_hrl
    state = {"down": False}

    def store_hrl(self, sequence: int, source: Path) -> None:
        if state["down"]:
            raise TargetUnavailable("storage account unreachable (test switch)")
        real(self, sequence, source)

    monkeypatch.setattr(ReplicaStore, "store_hrl", store_hrl)
    return state


def test_target_outage_caches_hrls_and_recovers_every_point(lab, plugin, target_down) -> None:
    _, machine, fabric_id = setup_machine(lab, plugin, [256 * KIB])
    item = lab.protect(fabric_id, machine.machine_id)
    lab.cycle(item.item_id)
    disk = next(iter(machine.disks.values()))
    target_down["down"] = True
    snapshots = []
    for step in range(3):
        write_pattern(disk, step * 20 * KIB, 6 * KIB, seed=40 + step)
        snapshots.append(disk.read(0, disk.capacity))
        report = lab.cycle(item.item_id)
        assert report.recorded == ()
        assert len(report.pending) == step + 1
    assert len(lab.ctx.cache.pending(_ref(lab, item, disk))) == 3
    target_down["down"] = False
    report = lab.cycle(item.item_id)
    assert len(report.recorded) == 4
    points = lab.points(item.item_id)
    for point, expected in zip(points[1:4], snapshots, strict=True):
        assert lab.replica_bytes(item.item_id, disk.disk_id, point.disks[0].sequence) == expected
    assert lab.ctx.cache.pending(_ref(lab, item, disk)) == []


def _ref(lab: EngineHarness, item, disk):
    from provider.contracts.transfer import DiskRef

    return DiskRef(item.item_id, disk.disk_id, disk.capacity)


def test_corrupt_cached_hrl_is_refused_then_resynchronized(lab, plugin, target_down) -> None:
    _, machine, fabric_id = setup_machine(lab, plugin, [256 * KIB])
    item = lab.protect(fabric_id, machine.machine_id)
    lab.cycle(item.item_id)
    disk = next(iter(machine.disks.values()))
    target_down["down"] = True
    write_pattern(disk, 10 * KIB, 6 * KIB, seed=50)
    lab.cycle(item.item_id)
    (sequence,) = lab.ctx.cache.pending(_ref(lab, item, disk))
    cached = lab.ctx.cache.path_for(_ref(lab, item, disk), sequence)
    raw = bytearray(cached.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    cached.write_bytes(bytes(raw))
    target_down["down"] = False
    report = lab.cycle(item.item_id)  # forwards, target refuses, item needs a resync
    assert lab.item(item.item_id).state in (
        ReplicationState.RESYNC_REQUIRED,
        ReplicationState.PROTECTED,
    )
    expected = content(machine)
    report = lab.cycle(item.item_id)
    assert report.recorded
    assert lab.item(item.item_id).state is ReplicationState.PROTECTED
    assert_replica_at_latest(lab, item.item_id, expected)


def test_cache_full_stops_the_cycle_with_a_clear_error(tmp_path, plugin, clock, target_down):
    from provider.errors import CacheFull

    with TickingHarness(tmp_path, plugin, clock, cache_bytes=64 * KIB) as lab:
        _, machine, fabric_id = setup_machine(lab, plugin, [256 * KIB])
        item = lab.protect(fabric_id, machine.machine_id)
        target_down["down"] = True
        disk = next(iter(machine.disks.values()))
        lab.cycle(item.item_id)  # the initial copy fills the cache past its bound
        write_pattern(disk, 0, 4096, seed=1)
        with pytest.raises(CacheFull, match="at its bound"):
            lab.cycle(item.item_id)
        target_down["down"] = False
        expected = content(machine)
        lab.cycle(item.item_id)
        assert_replica_at_latest(lab, item.item_id, expected)


def test_retention_prunes_old_points_but_keeps_the_latest(lab, plugin, clock) -> None:
    _, machine, fabric_id = setup_machine(lab, plugin, [128 * KIB])
    lab.add_policy("short", retention_hours=1)
    item = lab.protect(fabric_id, machine.machine_id, policy="short")
    disk = next(iter(machine.disks.values()))
    for step in range(5):
        write_pattern(disk, step * 4096, 4096, seed=step)
        lab.cycle(item.item_id)
        clock.advance(20 * 60)
    points = lab.points(item.item_id)
    assert all(clock.now() - p.created_at <= 3600 + 20 * 60 for p in points)
    assert len(points) < 5
    expected = disk.read(0, disk.capacity)
    assert lab.replica_bytes(item.item_id, disk.disk_id, points[-1].disks[0].sequence) == expected


def test_resync_waits_for_the_policy_window(lab, plugin, clock) -> None:
    _, machine, fabric_id = setup_machine(lab, plugin, [256 * KIB])
    hour = int(clock.now() // 3600 % 24)
    window = f"{(hour + 2) % 24:02d}:00-{(hour + 3) % 24:02d}:00"
    lab.add_policy("nightly", resync_window=window)
    item = lab.protect(fabric_id, machine.machine_id, policy="nightly")
    lab.cycle(item.item_id)
    disk = next(iter(machine.disks.values()))
    disk.lose_tracking()
    write_pattern(disk, 8 * KIB, 4 * KIB, seed=21)
    report = lab.cycle(item.item_id)
    assert report.recorded == ()
    assert f"waiting for the window {window} UTC" in report.note
    waiting = lab.item(item.item_id)
    assert waiting.state is ReplicationState.RESYNC_REQUIRED
    assert waiting.health.level is Health.CRITICAL
    clock.advance(2 * 3600 - clock.now() % 3600 + 60)
    expected = content(machine)
    report = lab.cycle(item.item_id)
    assert report.resynchronized == (disk.disk_id,)
    assert lab.item(item.item_id).state is ReplicationState.PROTECTED
    assert lab.item(item.item_id).health.level is Health.NORMAL
    assert_replica_at_latest(lab, item.item_id, expected)


def test_manual_resync_policy_waits_for_the_operator(lab, plugin) -> None:
    _, machine, fabric_id = setup_machine(lab, plugin, [256 * KIB])
    lab.add_policy("manual", auto_resync=False)
    item = lab.protect(fabric_id, machine.machine_id, policy="manual")
    lab.cycle(item.item_id)
    disk = next(iter(machine.disks.values()))
    disk.lose_tracking()
    assert "waiting for an operator" in lab.cycle(item.item_id).note
    expected = content(machine)
    report = lab.cycle(item.item_id, resync_now=True)
    assert report.resynchronized == (disk.disk_id,)
    assert_replica_at_latest(lab, item.item_id, expected)


def test_cycles_refuse_an_item_that_is_failed_over(lab, plugin) -> None:
    from dataclasses import replace

    from provider.errors import ReplicationError

    _, machine, fabric_id = setup_machine(lab, plugin, [128 * KIB])
    item = lab.protect(fabric_id, machine.machine_id)
    lab.cycle(item.item_id)
    with lab.store.unit() as tx:
        tx.items.update(replace(tx.items.get(item.item_id), state=ReplicationState.FAILED_OVER))
    with pytest.raises(ReplicationError, match="is failed_over: cycles do not replicate it now"):
        lab.cycle(item.item_id)
    assert len(lab.points(item.item_id)) == 1
