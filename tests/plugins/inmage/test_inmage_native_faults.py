"""Native replication through the inmage plugin when components fail: nothing is lost."""

from __future__ import annotations

from fakes.inmage.lab import S5Lab
from provider.contracts.native import Accuracy, NativeGroupState, NativeProtection
from provider.model.states import Health, ReplicationState
from provider.pluginmanager import PluginManager

from .conftest import Connect, Target


def _protect_db(plugins: PluginManager, connect: Connect, target: Target) -> tuple[str, str]:
    db = next(m for m in plugins.discover(connect()).machines if m.name == "db01")
    plugins.native_protect(target(), NativeProtection("grp", (db,), 24))
    return db.machine_id, target().target_id


def _only(state: NativeGroupState) -> tuple[ReplicationState, Health, str]:
    (machine,) = state.machines
    return machine.state, machine.health, machine.reason


def test_out_of_retention_space_is_a_state_and_resumes_without_loss(
    plugins: PluginManager, connect: Connect, target: Target, lab: S5Lab
) -> None:
    db_id, _ = _protect_db(plugins, connect, target)
    lab.cx.replicate()  # the initial copy keeps no undo data
    lab.mt.retention_space = 4096
    disk = lab.physical.disks[0]
    disk.write(0, b"x" * 8192)
    lab.cx.replicate()
    state, health, reason = _only(plugins.native_state(target(), "grp"))
    assert (state, health) == (ReplicationState.PROTECTED, Health.CRITICAL)
    assert reason == (
        "RetentionSpaceFull: master target mt01: 8192 bytes of retention needed, 4096 free"
    )
    assert plugins.native_state(target(), "grp").machines[0].pending_bytes > 0
    lab.mt.retention_space = 1 << 20
    lab.cx.replicate()
    assert _only(plugins.native_state(target(), "grp")) == (
        ReplicationState.PROTECTED,
        Health.NORMAL,
        "",
    )
    replica = lab.mt.replicas[db_id].disks["physicaldrive0"]
    assert replica.digest() == disk.digest()


def test_a_process_server_gone_mid_transfer_loses_nothing(
    plugins: PluginManager, connect: Connect, target: Target, lab: S5Lab
) -> None:
    db_id, _ = _protect_db(plugins, connect, target)
    lab.cx.replicate()
    disk = lab.physical.disks[0]
    lab.ps.go_away()
    for n in range(3):
        disk.write(n * 4096, bytes([n + 1]) * 4096)
        lab.cx.replicate()
    machine = plugins.native_state(target(), "grp").machines[0]
    assert (machine.health, machine.reason) == (
        Health.CRITICAL,
        "ProcessServerUnreachable: process server ps01 is not responding",
    )
    assert machine.pending_bytes == 3 * 4096  # still on the source
    lab.ps.come_back()
    lab.ps.faults.fail_after = 1  # one batch through, then gone mid-transfer
    lab.cx.replicate()
    assert _only(plugins.native_state(target(), "grp"))[2] == (
        "ProcessServerUnreachable: process server ps01 went away during a transfer"
    )
    assert lab.ps.cached_bytes(db_id) > 0
    lab.ps.come_back()
    lab.cx.replicate()
    assert _only(plugins.native_state(target(), "grp")) == (
        ReplicationState.PROTECTED,
        Health.NORMAL,
        "",
    )
    assert lab.mt.replicas[db_id].disks["physicaldrive0"].digest() == disk.digest()
    assert lab.ps.cached_bytes(db_id) == 0


def test_tags_issued_while_the_agent_spills_are_approximate(
    plugins: PluginManager, connect: Connect, target: Target, lab: S5Lab
) -> None:
    db_id, _ = _protect_db(plugins, connect, target)
    lab.cx.replicate()
    disk = lab.physical.disks[0]
    lab.cx.host(db_id).agent.buffer_limit = 4096
    lab.ps.go_away()
    disk.write(0, b"a" * 8192)
    lab.cx.issue_tag("grp", "during-outage", "System")
    lab.cx.replicate()
    assert lab.cx.host(db_id).agent.bitmap_mode
    lab.ps.come_back()
    lab.cx.replicate()
    (point,) = plugins.native_points(target(), "grp")
    assert (point.name, point.accuracy) == ("during-outage", Accuracy.APPROXIMATE)
    assert lab.mt.replicas[db_id].disks["physicaldrive0"].digest() == disk.digest()
