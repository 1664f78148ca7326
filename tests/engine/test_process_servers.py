"""Several process servers: load-aware assignment, own caches, over-capacity health."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakes.clock import VirtualClock
from fakes.fabric import SimulatedFabricPlugin
from fakes.harness import EngineHarness
from fakes.workload import write_pattern
from provider.contracts.transfer import DiskRef
from provider.engine.process_servers import ProcessServer, ProcessServerPool
from provider.errors import ValidationError
from provider.model.states import Health

KIB = 1024


def test_items_go_to_the_least_loaded_server_and_stay(tmp_path: Path) -> None:
    pool = ProcessServerPool(tmp_path, [ProcessServer("ps1", 10**6), ProcessServer("ps2", 10**6)])
    assert pool.server_for("a").name == "ps1"
    assert pool.server_for("b").name == "ps2"  # equal load: fewer items wins
    pool.record_churn("a", 900_000, at=1000.0)
    assert pool.server_for("c").name == "ps2"  # ps1 carries 90% of its capacity
    assert pool.server_for("a").name == "ps1"  # an assignment sticks
    reopened = ProcessServerPool(
        tmp_path, [ProcessServer("ps1", 10**6), ProcessServer("ps2", 10**6)]
    )
    assert reopened.server_for("c").name == "ps2"
    assert [load.items for load in reopened.loads(now=1000.0)] == [1, 2]


def test_churn_older_than_a_day_no_longer_counts(tmp_path: Path) -> None:
    pool = ProcessServerPool(tmp_path, [ProcessServer("ps1", 1000)])
    pool.record_churn("a", 5000, at=0.0)
    assert pool.load_of("a", now=10.0).fraction == 5.0
    assert pool.load_of("a", now=86_401.0).bytes_last_day == 0


def test_pool_needs_unique_servers(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="at least one process server"):
        ProcessServerPool(tmp_path, [])
    with pytest.raises(ValidationError, match="must be unique"):
        ProcessServerPool(tmp_path, [ProcessServer("ps1"), ProcessServer("ps1")])


def test_overloaded_server_warns_its_items_and_each_server_caches_its_own(tmp_path: Path) -> None:
    clock = VirtualClock()
    plugin = SimulatedFabricPlugin(clock=clock)
    fabric = plugin.add_fabric("sim-01")
    small, large = ProcessServer("ps1-small", capacity_per_day=32 * KIB), ProcessServer("ps2-big")
    machines = [fabric.add_machine(f"vm{i}", disks=[256 * KIB]) for i in range(2)]
    for machine in machines:
        write_pattern(next(iter(machine.disks.values())), 0, 64 * KIB, seed=1)
    servers = (small, large)
    with EngineHarness(
        tmp_path, plugins={"simulated": plugin}, clock=clock.now, process_servers=servers
    ) as lab:
        fabric_id = lab.register_fabric("simulated", "sim-01", "admin", "secret")
        items = [lab.protect(fabric_id, m.machine_id) for m in machines]
        for item in items:
            clock.advance(30)
            lab.cycle(item.item_id)
        assert [lab.ctx.pool.server_for(i.item_id).name for i in items] == ["ps1-small", "ps2-big"]
        overloaded = lab.item(items[0].item_id).health
        assert overloaded.level is Health.WARNING
        assert "process server ps1-small is over its capacity" in overloaded.reasons[0]
        assert lab.item(items[1].item_id).health.level is Health.NORMAL
        disk = next(iter(machines[0].disks.values()))
        ref = DiskRef(items[0].item_id, disk.disk_id, disk.capacity)
        assert lab.ctx.cache_for(items[0].item_id).root == tmp_path / "ps" / "cache" / "ps1-small"
        assert lab.ctx.cache_for(items[0].item_id).pending(ref) == []
