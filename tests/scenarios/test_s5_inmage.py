"""Scenario S5: VMware VMs and physical servers to a secondary site through InMage Scout.

The real inmage plugin (requests + lxml over loopback HTTP and HTTPS, signed
with ComponentAuth_V2015_01) drives the simulated CX through the plugin
manager's native replication hooks: register, discover, protect a VMware
VM and a physical server in one group, consistency tags across both, a
multi-VM rollback to their common tag, resync, and failback to VMware.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes.inmage import CxServer, serve_cx
from fakes.inmage.lab import S5Lab, build_s5_lab
from plugins.inmage import plugin
from provider.contracts.connection import FabricConnection, Secret, TargetConnection
from provider.contracts.declarations import FailoverMode
from provider.contracts.native import Accuracy, NativeFailover, NativeProtection, PointChoice
from provider.errors import RecoveryPointUnavailable, RemoteCommandFailed
from provider.model.inventory import Inventory, Machine
from provider.model.recovery import Consistency
from provider.model.states import Health, ReplicationState
from provider.pluginmanager import PluginManager


@pytest.fixture
def lab() -> S5Lab:
    return build_s5_lab()


@pytest.fixture(params=["http", "https"])
def server(request: pytest.FixtureRequest, lab: S5Lab) -> Iterator[CxServer]:
    with serve_cx(lab.cx, tls=request.param == "https") as served:
        yield served


@pytest.fixture
def plugins() -> Iterator[PluginManager]:
    manager = PluginManager()
    manager.register(plugin, name="inmage")
    yield manager
    for ident in ("cx", "dr-site", "primary-site"):
        plugin.CLIENTS.drop(ident)


def _options(server: CxServer, **extra: str) -> tuple[tuple[str, str], ...]:
    options = {"transport": "https" if server.tls else "http", **extra}
    if server.tls:
        options["ca_trust_path"] = str(server.ca_cert)
    return tuple(options.items())


def _fabric(server: CxServer, lab: S5Lab) -> FabricConnection:
    secret = Secret(lab.cx.passphrase)
    return FabricConnection("cx", "inmage", server.address, "srp", secret, _options(server))


def _site(server: CxServer, lab: S5Lab, ident: str, ps: str, mt: str) -> TargetConnection:
    options = _options(server, process_server=ps, master_target=mt)
    return TargetConnection(
        ident, "inmage-site", server.address, Secret(lab.cx.passphrase), options
    )


def _machines(inventory: Inventory, *names: str) -> tuple[Machine, ...]:
    return tuple(next(m for m in inventory.machines if m.name == name) for name in names)


def _digests(disks: list[object]) -> list[str]:
    return [disk.digest().hex() for disk in disks]  # type: ignore[attr-defined]


def _protected(
    plugins: PluginManager, server: CxServer, lab: S5Lab
) -> tuple[TargetConnection, tuple[Machine, ...]]:
    assert plugins.connect(_fabric(server, lab)).kind == "inmage"
    web, db = _machines(plugins.discover(_fabric(server, lab)), "web01", "db01")
    site = _site(server, lab, "dr-site", "ps01", "mt01")
    state = plugins.native_protect(site, NativeProtection("s5-group", (web, db), 72))
    assert [(s.state, s.detail) for s in state.machines] == [
        (ReplicationState.RESYNCHRONIZING, "Resync Step I")
    ] * 2
    return site, (web, db)


def test_s5_multi_vm_rollback_lands_every_machine_on_the_common_tag(
    plugins: PluginManager, server: CxServer, lab: S5Lab
) -> None:
    site, (web, db) = _protected(plugins, server, lab)
    vm_disks = lab.vcenter.vm_named("web01").virtual_disks
    vm_disks[0].write(0, b"web-os" * 1000)
    lab.physical.disks[0].write(4096, b"db-data" * 500)
    lab.cx.replicate()
    state = plugins.native_state(site, "s5-group")
    assert {(s.state, s.health, s.pending_bytes) for s in state.machines} == {
        (ReplicationState.PROTECTED, Health.NORMAL, 0)
    }
    vm_disks[1].write(8192, b"web-logs" * 300)
    lab.clock.advance(300)
    lab.cx.issue_tag("s5-group", "app-1", "Application")
    at_tag = (_digests(vm_disks), _digests(lab.physical.disks))
    lab.clock.advance(60)
    lab.physical.disks[0].write(4096, b"after-the-tag")
    vm_disks[0].write(0, b"after-the-tag")
    lab.cx.replicate()

    points = plugins.native_points(site, "s5-group")
    assert [(p.name, p.consistency, p.accuracy, p.machine_ids) for p in points] == [
        ("app-1", Consistency.APP, Accuracy.EXACT, (web.machine_id, db.machine_id))
    ]
    request = NativeFailover("s5-group", (web.machine_id, db.machine_id), PointChoice.LATEST_COMMON)
    result = plugins.native_failover(site, request)
    web_replica, db_replica = result.machine(web.machine_id), result.machine(db.machine_id)
    assert (web_replica.point_name, db_replica.point_name) == ("app-1", "app-1")
    assert web_replica.point_time == db_replica.point_time == points[0].created_at
    assert [d.digest for d in web_replica.disks] == at_tag[0]
    assert [d.digest for d in db_replica.disks] == at_tag[1]
    # The bytes on the recovery site are what the report says.
    assert _digests(lab.cx.hosts[web_replica.replica_id].disks) == at_tag[0]
    assert _digests(lab.cx.hosts[db_replica.replica_id].disks) == at_tag[1]
    assert lab.cx.plans == {}


def test_s5_rollback_to_a_named_tag_and_to_the_latest_time(
    plugins: PluginManager, server: CxServer, lab: S5Lab
) -> None:
    site, (web, db) = _protected(plugins, server, lab)
    disk = lab.physical.disks[0]
    lab.cx.replicate()
    disk.write(0, b"first")
    lab.cx.issue_tag("s5-group", "sys-1", "System")
    first = disk.digest().hex()
    disk.write(0, b"second")
    lab.cx.issue_tag("s5-group", "sys-2", "System")
    disk.write(0, b"third")
    lab.cx.replicate()
    latest = disk.digest().hex()
    named = NativeFailover("s5-group", (db.machine_id,), PointChoice.NAMED, point_name="sys-1")
    result = plugins.native_failover(site, named)
    assert [d.digest for d in result.machine(db.machine_id).disks] == [first]
    timed = plugins.native_failover(
        site, NativeFailover("s5-group", (web.machine_id,), PointChoice.LATEST_TIME)
    )
    assert timed.machine(web.machine_id).point_name == "LatestTime"
    assert [d.digest for d in timed.machine(web.machine_id).disks] == _digests(
        lab.vcenter.vm_named("web01").virtual_disks
    )
    assert latest != first


def test_s5_a_tag_before_the_initial_copy_is_not_guaranteed_and_not_used(
    plugins: PluginManager, server: CxServer, lab: S5Lab
) -> None:
    site, (web, _) = _protected(plugins, server, lab)
    lab.cx.issue_tag("s5-group", "too-early", "System")
    lab.cx.replicate()
    (point,) = plugins.native_points(site, "s5-group")
    assert (point.name, point.accuracy) == ("too-early", Accuracy.NOT_GUARANTEED)
    with pytest.raises(RecoveryPointUnavailable, match="holds no usable tag \\(no consistency"):
        plugins.native_failover(
            site, NativeFailover("s5-group", (web.machine_id,), PointChoice.LATEST)
        )
    assert [s.detail for s in plugins.native_state(site, "s5-group").machines] == [
        "Differential Sync"
    ] * 2


def test_s5_resync_sends_everything_again_and_keeps_the_points(
    plugins: PluginManager, server: CxServer, lab: S5Lab
) -> None:
    site, (web, db) = _protected(plugins, server, lab)
    lab.cx.replicate()
    lab.cx.issue_tag("s5-group", "before-resync", "Application")
    lab.cx.replicate()
    state = plugins.native_resync(site, "s5-group", (web.machine_id,))
    assert state.machine(web.machine_id).state is ReplicationState.RESYNCHRONIZING
    assert state.machine(db.machine_id).state is ReplicationState.PROTECTED
    lab.vcenter.vm_named("web01").virtual_disks[0].write(12288, b"during resync")
    lab.cx.replicate()
    assert plugins.native_state(site, "s5-group").machine(web.machine_id).detail == (
        "Differential Sync"
    )
    replica = lab.mt.replicas[web.machine_id]
    source = lab.vcenter.vm_named("web01").virtual_disks
    assert _digests(list(replica.disks.values())) == _digests(source)
    assert [p.name for p in plugins.native_points(site, "s5-group")] == ["before-resync"]


def test_s5_failback_goes_back_to_the_vmware_vm_through_the_primary_master_target(
    plugins: PluginManager, server: CxServer, lab: S5Lab
) -> None:
    site, (web, db) = _protected(plugins, server, lab)
    lab.cx.replicate()
    lab.cx.issue_tag("s5-group", "app-1", "Application")
    lab.cx.replicate()
    lab.cx.power_off_source(web.machine_id)
    both = (web.machine_id, db.machine_id)
    result = plugins.native_failover(site, NativeFailover("s5-group", both, PointChoice.LATEST))
    web_replica_id = result.machine(web.machine_id).replica_id
    db_replica_id = result.machine(db.machine_id).replica_id
    # The replica runs on the recovery site and is written to.
    lab.cx.hosts[web_replica_id].disks[1].write(0, b"written on the recovery site")

    inventory = plugins.discover(_fabric(server, lab))
    replicas = tuple(m for m in inventory.machines if m.container_id == "site-secondary")
    assert sorted(m.machine_id for m in replicas) == sorted((web_replica_id, db_replica_id))
    back = _site(server, lab, "primary-site", "ps-dr", "mt-primary")
    web_back = next(m for m in replicas if m.machine_id == web_replica_id)
    plugins.native_protect(back, NativeProtection("s5-back", (web_back,), 24))
    lab.cx.replicate()
    lab.cx.issue_tag("s5-back", "failback-1", "Application")
    lab.cx.replicate()
    expected = _digests(lab.cx.hosts[web_replica_id].disks)
    request = NativeFailover(
        "s5-back", (web_replica_id,), PointChoice.NAMED, FailoverMode.FAILBACK, "failback-1"
    )
    landed = plugins.native_failover(back, request).machine(web_replica_id)
    vm = lab.vcenter.vm_named("web01")
    assert landed.replica_id == web.machine_id
    assert [d.digest for d in landed.disks] == expected == _digests(vm.virtual_disks)
    assert vm.power_state == "POWERED_ON"


def test_s5_failback_to_a_physical_server_is_refused(
    plugins: PluginManager, server: CxServer, lab: S5Lab
) -> None:
    site, (_, db) = _protected(plugins, server, lab)
    lab.cx.replicate()
    lab.cx.issue_tag("s5-group", "app-1", "Application")
    lab.cx.replicate()
    result = plugins.native_failover(
        site, NativeFailover("s5-group", (db.machine_id,), PointChoice.LATEST)
    )
    replica_id = result.machine(db.machine_id).replica_id
    replica = next(
        m for m in plugins.discover(_fabric(server, lab)).machines if m.machine_id == replica_id
    )
    back = _site(server, lab, "primary-site", "ps-dr", "mt-primary")
    plugins.native_protect(back, NativeProtection("db-back", (replica,), 24))
    lab.cx.replicate()
    lab.cx.issue_tag("db-back", "failback-1", "System")
    lab.cx.replicate()
    before = _digests(lab.physical.disks)
    request = NativeFailover("db-back", (replica_id,), PointChoice.LATEST, FailoverMode.FAILBACK)
    with pytest.raises(RemoteCommandFailed) as caught:
        plugins.native_failover(back, request)
    assert caught.value.message == (
        f"CX {server.address}: CreateRollback: failed with code 1006: Failback to physical "
        "server 'db01' is not supported; fail back to a VMware VM."
    )
    assert _digests(lab.physical.disks) == before
    assert plugins.native_state(back, "db-back").machines[0].state is ReplicationState.PROTECTED
