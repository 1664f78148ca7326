"""Scenario S5: VMware VMs and physical servers to a secondary site through InMage Scout.

The real inmage plugin (requests + lxml over loopback HTTP and HTTPS, signed
with ComponentAuth_V2015_01) drives the simulated CX through the plugin
manager's native replication hooks: register, discover, protect a VMware
VM and a physical server in one group, consistency tags across both, a
multi-VM rollback to their common tag, resync, test failover (virtual
snapshots) and cleanup, NIC placement from the network mappings, reverse
replication (only differing blocks) and failback to VMware, with the faults
a failback meets: the primary master target out of space, the CX unreachable.
These go through the plugin manager's facade (``PluginManager.native_*``).
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
from provider.errors import (
    FabricUnreachable,
    FailoverError,
    MappingMissing,
    NotSupported,
    RecoveryPointUnavailable,
)
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
    options = _options(
        server,
        process_server=ps,
        master_target=mt,
        failback_master_target="mt-primary",
        failback_process_server="ps-dr",
    )
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


HTTP_ONLY = pytest.mark.parametrize("server", ["http"], indirect=True)
ISOLATED = "dr-isolated"


def _tagged(
    plugins: PluginManager, server: CxServer, lab: S5Lab
) -> tuple[TargetConnection, tuple[Machine, ...], list[str]]:
    """web01 and db01 replicated, tag app-1 on both; the web01 digests at the tag."""
    site, machines = _protected(plugins, server, lab)
    lab.vcenter.vm_named("web01").virtual_disks[0].write(0, b"web-os" * 1000)
    lab.cx.replicate()
    lab.clock.advance(60)
    lab.cx.issue_tag("s5-group", "app-1", "Application")
    lab.cx.replicate()
    return site, machines, _digests(lab.vcenter.vm_named("web01").virtual_disks)


def test_s5_test_failover_copies_the_point_onto_the_isolated_network_while_replication_goes_on(
    plugins: PluginManager, server: CxServer, lab: S5Lab
) -> None:
    site, (web, db), at_tag = _tagged(plugins, server, lab)
    db_at_tag = _digests(lab.physical.disks)
    lab.physical.disks[0].write(0, b"after-the-tag")
    both = (web.machine_id, db.machine_id)
    request = NativeFailover(
        "s5-group",
        both,
        PointChoice.LATEST_COMMON,
        FailoverMode.TEST,
        options=(("network", ISOLATED),),
    )
    result = plugins.native_test_failover(site, request)
    copies = [lab.cx.test_copies[result.machine(m).replica_id] for m in both]
    assert [c.name for c in copies] == ["web01-test", "db01-test"]
    assert (
        [d.digest for d in result.machine(web.machine_id).disks]
        == at_tag
        == _digests(copies[0].disks)
    )
    assert (
        [d.digest for d in result.machine(db.machine_id).disks]
        == db_at_tag
        == _digests(copies[1].disks)
    )
    assert [nic[3] for c in copies for nic in c.nics] == [ISOLATED, ISOLATED]
    # Replication goes on: the change after the tag reaches the master target.
    lab.cx.replicate()
    assert (
        plugins.native_state(site, "s5-group").machine(db.machine_id).detail == "Differential Sync"
    )
    replica = lab.mt.replicas[db.machine_id].disks["physicaldrive0"]
    assert replica.digest() == lab.physical.disks[0].digest()
    cleaned = plugins.native_cleanup_test(site, "s5-group", both)
    assert sorted(cleaned.removed) == sorted(c.host_id for c in copies)
    assert (lab.cx.test_copies, cleaned.left) == ({}, ())
    assert plugins.native_cleanup_test(site, "s5-group", both).removed == ()


@HTTP_ONLY
def test_s5_failover_places_each_nic_on_its_mapped_network_and_refuses_an_unmapped_one(
    plugins: PluginManager, server: CxServer, lab: S5Lab
) -> None:
    site, (web, _), _ = _tagged(plugins, server, lab)
    (nic,) = web.nics
    unmapped = NativeFailover(
        "s5-group", (web.machine_id,), PointChoice.LATEST, networks=(("other", "x"),)
    )
    with pytest.raises(MappingMissing) as caught:
        plugins.native_failover(site, unmapped)
    assert caught.value.message == (
        f"CX {server.address}: NIC {nic.nic_id} of web01 is on network {nic.network_id!r}, "
        "which no network mapping sends to the recovery site"
    )
    assert [len(p.pairs) for p in lab.cx.plans.values()] == [2]
    mapped = NativeFailover(
        "s5-group", (web.machine_id,), PointChoice.LATEST, networks=((nic.network_id, "dr-prod"),)
    )
    replica_id = plugins.native_failover(site, mapped).machine(web.machine_id).replica_id
    assert [n[3] for n in lab.cx.hosts[replica_id].nics] == ["dr-prod"]


def _failed_over(
    plugins: PluginManager, server: CxServer, lab: S5Lab
) -> tuple[TargetConnection, dict[str, str]]:
    """web01 and app01 failed over unplanned at app-1 (primary lost); original -> recovered id."""
    assert plugins.connect(_fabric(server, lab)).kind == "inmage"
    machines = _machines(plugins.discover(_fabric(server, lab)), "web01", "app01")
    site = _site(server, lab, "dr-site", "ps01", "mt01")
    plugins.native_protect(site, NativeProtection("s5-group", machines, 72))
    lab.vcenter.vm_named("web01").virtual_disks[1].write(8192, b"web-logs" * 300)
    lab.cx.replicate()
    lab.cx.issue_tag("s5-group", "app-1", "Application")
    lab.cx.replicate()
    ids = tuple(m.machine_id for m in machines)
    for machine_id in ids:
        lab.cx.power_off_source(machine_id)
    result = plugins.native_failover(site, NativeFailover("s5-group", ids, PointChoice.LATEST))
    return site, {m: result.machine(m).replica_id for m in ids}


def _reversed(
    plugins: PluginManager, server: CxServer, lab: S5Lab
) -> tuple[TargetConnection, dict[str, str]]:
    site, recovered = _failed_over(plugins, server, lab)
    web_id = next(iter(recovered))
    lab.cx.hosts[recovered[web_id]].disks[0].write(0, b"R" * 4096)  # one block differs
    before = lab.ps_dr.received_bytes
    state = plugins.native_reverse(site, "s5-group", tuple(recovered))
    assert [(s.machine_id, s.detail) for s in state.machines] == [
        (r, "Resync Step I") for r in recovered.values()
    ]
    lab.cx.replicate()
    # Only the block written on the recovery site travelled back.
    assert lab.ps_dr.received_bytes - before == 4096
    assert {s.detail for s in plugins.native_state(site, "s5-group").machines} == {
        "Differential Sync"
    }
    return site, recovered


def test_s5_reverse_then_failback_brings_every_change_home_and_protects_forward_again(
    plugins: PluginManager, server: CxServer, lab: S5Lab
) -> None:
    site, recovered = _reversed(plugins, server, lab)
    _, app_id = recovered
    lab.cx.hosts[recovered[app_id]].disks[0].write(65536, b"last write before failback")
    expected = {m: _digests(lab.cx.hosts[r].disks) for m, r in recovered.items()}
    request = NativeFailover(
        "s5-group", tuple(recovered.values()), PointChoice.LATEST, FailoverMode.FAILBACK
    )
    sent = lab.ps.received_bytes
    result = plugins.native_failover(site, request)
    for original, replica in recovered.items():
        landed = result.machine(replica)
        vm = lab.vcenter.vm_named(lab.cx.hosts[original].name)
        assert landed.replica_id == original
        assert [d.digest for d in landed.disks] == expected[original] == _digests(vm.virtual_disks)
        assert vm.power_state == "POWERED_ON"
        assert replica not in lab.cx.hosts  # retired: its disks seed the secondary replica
    lab.cx.replicate()
    state = plugins.native_state(site, "s5-group")
    assert [(s.machine_id, s.detail) for s in state.machines] == [
        (m, "Differential Sync") for m in recovered
    ]
    assert lab.ps.received_bytes == sent  # forward again without sending a byte
    assert [p.name for p in lab.cx.plans.values()] == ["s5-group"]


@HTTP_ONLY
def test_s5_reverse_of_a_physical_server_is_refused_before_anything_changes(
    plugins: PluginManager, server: CxServer, lab: S5Lab
) -> None:
    site, (_, db) = _protected(plugins, server, lab)
    lab.cx.replicate()
    lab.cx.issue_tag("s5-group", "app-1", "Application")
    lab.cx.replicate()
    plugins.native_failover(site, NativeFailover("s5-group", (db.machine_id,), PointChoice.LATEST))
    plans = {p.name: sorted(p.pairs) for p in lab.cx.plans.values()}
    with pytest.raises(NotSupported) as caught:
        plugins.native_reverse(site, "s5-group", (db.machine_id,))
    assert caught.value.message == (
        f"CX {server.address}: db01 is a physical server: InMage fails back to a VMware VM "
        "only, and no VMware VM is given to fail back to"
    )
    assert {p.name: sorted(p.pairs) for p in lab.cx.plans.values()} == plans


@HTTP_ONLY
def test_s5_failback_with_the_primary_master_target_full_loses_nothing_and_completes_later(
    plugins: PluginManager, server: CxServer, lab: S5Lab
) -> None:
    site, recovered = _reversed(plugins, server, lab)
    web_id = next(iter(recovered))
    web_vm = lab.vcenter.vm_named("web01")
    at_home = _digests(web_vm.virtual_disks)
    lab.mt_primary.retention_space = lab.mt_primary.retention_used
    lab.cx.hosts[recovered[web_id]].disks[0].write(4096, b"W" * 8192)
    lab.cx.replicate()
    machine = plugins.native_state(site, "s5-group").machine(recovered[web_id])
    assert (machine.health, machine.reason) == (
        Health.CRITICAL,
        "RetentionSpaceFull: master target mt-primary: 8192 bytes of retention needed, 0 free",
    )
    expected = _digests(lab.cx.hosts[recovered[web_id]].disks)
    request = NativeFailover(
        "s5-group", (recovered[web_id],), PointChoice.LATEST, FailoverMode.FAILBACK
    )
    with pytest.raises(FailoverError) as caught:
        plugins.native_failover(site, request)
    assert caught.value.message == (
        f"CX {server.address}: the last changes of {recovered[web_id]} (RetentionSpaceFull: "
        "master target mt-primary: 8192 bytes of retention needed, 0 free) have not reached "
        "the primary master target; they wait on the recovery site, nothing is lost: fail "
        "back again once replication is healthy"
    )
    assert _digests(web_vm.virtual_disks) == at_home
    assert lab.ps_dr.cached_bytes(recovered[web_id]) > 0
    lab.mt_primary.retention_space = 1 << 30
    landed = plugins.native_failover(site, request).machine(recovered[web_id])
    assert [d.digest for d in landed.disks] == expected == _digests(web_vm.virtual_disks)


@HTTP_ONLY
def test_s5_failback_interrupted_by_an_unreachable_cx_completes_on_the_next_attempt(
    plugins: PluginManager, server: CxServer, lab: S5Lab
) -> None:
    site, recovered = _reversed(plugins, server, lab)
    expected = {m: _digests(lab.cx.hosts[r].disks) for m, r in recovered.items()}
    request = NativeFailover(
        "s5-group", tuple(recovered.values()), PointChoice.LATEST, FailoverMode.FAILBACK
    )
    lab.cx.faults.unavailable = {"CreateProtectionV2"}  # gone after the rollback
    with pytest.raises(FabricUnreachable, match="CreateProtectionV2: HTTP 503"):
        plugins.native_failover(site, request)
    assert lab.cx.plans == {}  # rolled back home, not yet protected forward
    for original in recovered:
        assert _digests(lab.cx.hosts[original].disks) == expected[original]
    lab.cx.faults.unavailable = set()
    result = plugins.native_failover(site, request)
    assert [result.machine(r).replica_id for r in recovered.values()] == list(recovered)
    assert [[d.digest for d in result.machine(r).disks] for r in recovered.values()] == [
        expected[m] for m in recovered
    ]
    assert [(p.name, sorted(p.pairs)) for p in lab.cx.plans.values()] == [
        ("s5-group", sorted(recovered))
    ]
