"""Scenario S4 through the core: Hyper-V Replica toward a secondary site (``hyperv-replica``).

Two fake Hyper-V hosts of the S4 lab (``hv01`` on the primary site, ``hv11``
on the recovery site, a Replica server) are served over loopback WinRM and
reached with real pywinrm (NTLM). The primary host is a registered
``hyperv`` fabric; the replica server is a ``hyperv-replica`` target whose
native hooks (``plugins/hyperv/native.py``) carry the core's decisions
(``provider.native``, the failover service) to Hyper-V Replica.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fakes.clock import VirtualClock
from fakes.harness import EngineHarness
from fakes.hyperv import HyperVLab, start_winrm_lab
from fakes.hyperv.backend import ServedLab
from fakes.hyperv.enums import SwitchType
from fakes.lab.scenarios import build_s4
from plugins.hyperv import plugin as hyperv_plugin
from plugins.hyperv.native import GroupBook, GroupRecord, latest_point_name
from provider.blockdigest import digest_of_bytes
from provider.contracts.connection import FabricConnection, Secret
from provider.contracts.native import NativeFailover, PointChoice
from provider.errors import FailoverError, MappingMissing
from provider.failover import FailoverOptions, FailoverService, PointSpec
from provider.failover.subject import QuietReporter
from provider.model.inventory import Machine
from provider.model.item import Direction
from provider.model.job import JobState
from provider.model.mapping import NetworkMapping
from provider.model.recovery import Consistency
from provider.model.states import Health, ReplicationState
from provider.native import (
    NativeProtectRequest,
    protect_native,
    refresh_all,
    refresh_group,
    run_native_cleanup,
    run_native_failback,
    run_native_planned,
    run_native_reverse,
    run_native_test_failover,
)
from provider.store.targets import Target
from provider.vault.sealed import SealedSecrets

_R = ReplicationState
START = 1_800_000_000.0
PRIMARY, REPLICA = "hv01", "hv11"


@dataclass
class S4:
    """The served lab; a harness with the primary host as fabric, the replica server as target."""

    lab: HyperVLab
    served: ServedLab
    harness: EngineHarness
    fabric_id: str
    target_id: str
    failover: FailoverService

    def protect(self, vm_name: str) -> str:
        machine = next(m for m in self._machines() if m.name == vm_name)
        options = (("primary_address", self.served.endpoint(PRIMARY)), ("frequency_sec", "30"))
        request = NativeProtectRequest(
            self.fabric_id, (machine.machine_id,), "replica", self.target_id, options=options
        )
        (item,) = protect_native(self.harness.ctx, request)
        return item.item_id

    def _machines(self) -> list[Machine]:
        with self.harness.store.read() as tx:
            return list(tx.fabrics.inventory(self.fabric_id).machines)

    def disk_bytes(self, host: str, vm_name: str) -> list[bytes]:
        disks = self.lab.host(host).vm(vm_name).disks
        return [disk.read(0, disk.capacity) for disk in disks]


def _add_target(harness: EngineHarness, served: ServedLab, book: Path) -> str:
    username, password = served.credentials
    options = (
        ("transport", "ntlm"),
        ("retry_wait", "0"),
        ("username", username),
        ("group_book", str(book)),
    )
    target = Target(
        f"tgt-{uuid.uuid4().hex[:8]}", "hyperv-replica", served.endpoint(REPLICA), options
    )
    with harness.store.unit() as tx:
        SealedSecrets(harness.vault.box).add_target(tx, target, Secret(password))
    return target.target_id


@pytest.fixture
def s4(tmp_path: Path) -> Iterator[S4]:
    lab = build_s4(seed=4, clock=VirtualClock(start=START)).hyperv
    with (
        start_winrm_lab(lab) as served,
        EngineHarness(tmp_path, plugins={"hyperv": hyperv_plugin}, clock=lab.clock.now) as harness,
    ):
        username, password = served.credentials
        options = {"transport": "ntlm", "retry_wait": "0"}
        fabric_id = harness.register_fabric(
            "hyperv", served.endpoint(PRIMARY), username, password, options
        )
        target_id = _add_target(harness, served, tmp_path / "groups.json")
        harness.add_policy("replica", copy_frequency_sec=30, retention_hours=4)
        _map_lan(harness, lab, fabric_id, target_id)
        try:
            yield S4(lab, served, harness, fabric_id, target_id, FailoverService(harness.ctx))
        finally:
            for owner in (fabric_id, target_id):
                hyperv_plugin.CLIENTS.drop(FabricConnection(owner, "hyperv", "-"))


def _switch_id(lab: HyperVLab, host: str, name: str) -> str:
    return next(str(s.id) for s in lab.host(host).switches if s.name == name)


def _map_lan(harness: EngineHarness, lab: HyperVLab, fabric_id: str, target_id: str) -> None:
    """hv01's LAN -> hv11's LAN in the vault; hv11 also gets a private switch for drills."""
    lab.host(REPLICA).add_switch("Isolated", SwitchType.Private)
    source, target = _switch_id(lab, PRIMARY, "LAN"), _switch_id(lab, REPLICA, "LAN")
    with harness.store.unit() as tx:
        tx.mappings.put_network(NetworkMapping(fabric_id, source, target_id, target))


def _stamp(at: float) -> str:
    moment = datetime.fromtimestamp(at, tz=UTC)
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    clock = f"{hour}:{moment.minute:02d}:{moment.second:02d} {suffix}"
    return f"{moment.month}/{moment.day}/{moment.year} - {clock}"


def _replicated(s4: S4) -> str:
    """web01 protected toward hv11, its initial copy done (one virtual second at lab bandwidth)."""
    item_id = s4.protect("web01")
    s4.lab.clock.advance(1)
    refresh_group(s4.harness.ctx, s4.target_id, item_id)
    return item_id


def test_protect_enables_replication_and_waits_for_the_initial_copy(s4: S4) -> None:
    item_id = s4.protect("web01")
    item = s4.harness.item(item_id)
    assert item.state is _R.INITIAL_REPLICATION
    replica_vm = s4.lab.host(REPLICA).vm("web01")
    assert replica_vm.vm_id == s4.lab.host(PRIMARY).vm("web01").vm_id
    assert s4.disk_bytes(REPLICA, "web01") != s4.disk_bytes(PRIMARY, "web01")

    s4.lab.clock.advance(1)
    refreshed = refresh_group(s4.harness.ctx, s4.target_id, item_id)

    (state,) = refreshed.state.machines
    assert (state.state, state.health, state.detail) == (_R.PROTECTED, Health.NORMAL, "Replicating")
    assert [(i.state, i.health.level) for i in refreshed.items] == [(_R.PROTECTED, Health.NORMAL)]
    assert s4.disk_bytes(REPLICA, "web01") == s4.disk_bytes(PRIMARY, "web01")


def test_the_group_book_keeps_the_primary_and_the_members_for_another_process(s4: S4) -> None:
    item_id = s4.protect("web01")
    machine_id = s4.harness.item(item_id).machine_id
    target = s4.harness.ctx.target_connection(s4.target_id)

    record = GroupBook().get(target, item_id)  # a fresh book reads the target's file

    machine = next(m for m in s4._machines() if m.name == "web01")
    disks = tuple((machine_id, d.disk_id) for d in machine.disks)
    assert record == GroupRecord(
        s4.served.endpoint(PRIMARY),
        s4.served.credentials[0],
        ((machine_id, "web01"),),
        nics=((machine_id, _switch_id(s4.lab, PRIMARY, "LAN")),),
        disks=disks,
    )


def test_recovery_points_come_from_the_replica_server(s4: S4) -> None:
    item_id = _replicated(s4)
    first = START + 1
    names = [(p.cut_id, p.created_at, p.consistency) for p in s4.harness.points(item_id)]
    assert sorted(names) == sorted(
        [
            (f"web01 - Standard Replica - ({_stamp(first)})", first, Consistency.CRASH),
            (latest_point_name("web01", first), first, Consistency.CRASH),
        ]
    )
    assert s4.harness.item(item_id).last_point_at == first

    s4.lab.clock.advance(30)  # one replication cycle: the latest point moves, the hourly stays
    again = refresh_group(s4.harness.ctx, s4.target_id, item_id)

    assert (again.points_added, again.points_removed) == (1, 1)
    latest = [p.cut_id for p in s4.harness.points(item_id) if "Latest" in p.cut_id]
    assert latest == [latest_point_name("web01", first + 30)]
    assert s4.harness.item(item_id).last_point_at == first + 30


def _latest_point_id(s4: S4, item_id: str) -> str:
    return next(p.point_id for p in s4.harness.points(item_id) if "Latest" in p.cut_id)


def test_unplanned_failover_with_the_primary_down_lands_on_the_chosen_point(s4: S4) -> None:
    item_id = _replicated(s4)
    primary_disk = s4.lab.host(PRIMARY).vm("web01").disks[0]
    primary_disk.write(8192, b"written before the last cycle")
    s4.lab.clock.advance(30)
    at_point = s4.disk_bytes(PRIMARY, "web01")
    primary_disk.write(16384, b"never replicated")  # after the point: must not reach the replica
    s4.lab.host(PRIMARY).crash()
    refresh_group(s4.harness.ctx, s4.target_id, item_id)
    point_id = _latest_point_id(s4, item_id)

    job = s4.failover.unplanned_failover([item_id], FailoverOptions(PointSpec.named(point_id)))

    assert job.state is JobState.SUCCEEDED
    item = s4.harness.item(item_id)
    assert (item.state, item.failover_point_id) == (_R.FAILED_OVER, point_id)
    assert item.replica_id == s4.lab.host(REPLICA).vm("web01").vm_id.lower()
    assert s4.disk_bytes(REPLICA, "web01") == at_point
    assert s4.lab.host(REPLICA).vm("web01").state.name == "Running"


def test_seed_rule_unplanned_failover_leaves_the_item_unprotected_then_commit(s4: S4) -> None:
    item_id = _replicated(s4)
    s4.lab.host(PRIMARY).crash()
    s4.failover.unplanned_failover([item_id], FailoverOptions(PointSpec()))
    replica_vm = s4.lab.host(REPLICA).vm("web01")
    assert replica_vm.replication is not None
    assert replica_vm.replication.replica_state.name == "FailedOver"
    # The replica server replicates the VM no more: a refresh does not bring it back.
    assert refresh_all(s4.harness.ctx) == []
    assert s4.harness.item(item_id).state is _R.FAILED_OVER

    s4.failover.commit([item_id])

    item = s4.harness.item(item_id)
    assert item.state is _R.COMMITTED
    assert [p.point_id for p in s4.harness.points(item_id)] == [item.failover_point_id]


def test_an_older_named_point_is_refused_and_the_item_stays_protected(s4: S4) -> None:
    item_id = _replicated(s4)
    s4.lab.clock.advance(30)
    refresh_group(s4.harness.ctx, s4.target_id, item_id)
    hourly = next(p for p in s4.harness.points(item_id) if "Standard" in p.cut_id)

    options = FailoverOptions(PointSpec.named(hourly.point_id))

    job = s4.failover.unplanned_failover([item_id], options)

    # The core cannot know which points a target rolls to: the plugin refuses, nothing changes.
    latest = latest_point_name("web01", START + 31)
    assert job.state is JobState.FAILED
    assert job.tasks[0].error == (
        f"web01: Hyper-V Replica fails over to its latest recovery point only ({latest!r}), "
        f"not to {hourly.cut_id!r}"
    )
    assert s4.harness.item(item_id).state is _R.PROTECTED
    link = s4.lab.host(REPLICA).vm("web01").replication
    assert link is not None
    assert link.replica_state.name == "Replicating"


def test_seed_rule_planned_failover_shuts_the_source_loses_nothing_and_stays_protected(
    s4: S4,
) -> None:
    item_id = _replicated(s4)
    s4.lab.clock.advance(30)
    s4.lab.host(PRIMARY).vm("web01").disks[1].write(4096, b"written after the last cycle")

    recovered = run_native_planned(
        s4.harness.ctx, item_id, FailoverOptions(PointSpec()), QuietReporter()
    )

    source, replica = s4.lab.host(PRIMARY).vm("web01"), s4.lab.host(REPLICA).vm("web01")
    assert (source.state.name, replica.state.name) == ("Off", "Running")
    assert s4.disk_bytes(REPLICA, "web01") == s4.disk_bytes(PRIMARY, "web01")
    assert recovered.point_name == latest_point_name("web01", s4.lab.clock.now())
    item = s4.harness.item(item_id)
    assert (item.state, item.direction, item.replica_id) == (
        _R.PROTECTED,
        Direction.REVERSE,
        replica.vm_id.lower(),
    )
    assert s4.harness.points(item_id) == []
    # Replicating back: the old primary now holds the replica and the points.
    refreshed = refresh_group(s4.harness.ctx, s4.target_id, item_id)
    assert [(m.state, m.detail) for m in refreshed.state.machines] == [
        (_R.PROTECTED, "Replicating")
    ]
    assert [p.cut_id for p in s4.harness.points(item_id) if "Latest" in p.cut_id] == [
        recovered.point_name
    ]


# -- round 4: test failover, reverse, failback, NIC placement ---------------------------------


def _adapters(s4: S4, host: str, vm_name: str) -> list[str | None]:
    return [a.switch_name for a in s4.lab.host(host).vm(vm_name).adapters]


def test_test_failover_starts_a_copy_in_the_isolated_network_and_replication_goes_on(
    s4: S4,
) -> None:
    item_id = _replicated(s4)
    s4.lab.host(PRIMARY).vm("web01").disks[0].write(8192, b"in the drill's point")
    s4.lab.clock.advance(30)
    refresh_group(s4.harness.ctx, s4.target_id, item_id)
    at_point = s4.disk_bytes(PRIMARY, "web01")
    options = FailoverOptions(PointSpec(), test_network=_switch_id(s4.lab, REPLICA, "Isolated"))

    report = run_native_test_failover(s4.harness.ctx, item_id, options, QuietReporter())

    test_vm = s4.lab.host(REPLICA).vm("web01 - Test")
    assert report.replica_id == test_vm.vm_id.lower()
    assert s4.disk_bytes(REPLICA, "web01 - Test") == at_point
    assert [d.replica_digest for d in report.disks] == [digest_of_bytes(b) for b in at_point]
    assert _adapters(s4, REPLICA, "web01 - Test") == ["Isolated"]
    link = s4.lab.host(REPLICA).vm("web01").replication
    assert link is not None and link.replica_state.name == "Replicating"
    assert s4.harness.item(item_id).state is _R.TEST_FAILOVER


def test_cleanup_removes_the_test_vm_and_a_second_cleanup_removes_nothing(s4: S4) -> None:
    item_id = _replicated(s4)
    options = FailoverOptions(PointSpec(), test_network=_switch_id(s4.lab, REPLICA, "Isolated"))
    run_native_test_failover(s4.harness.ctx, item_id, options, QuietReporter())
    target = s4.harness.ctx.target_connection(s4.target_id)
    machine_id = s4.harness.item(item_id).machine_id

    first = run_native_cleanup(s4.harness.ctx, item_id, QuietReporter())
    second = s4.harness.ctx.plugins.native_cleanup_test(target, item_id, (machine_id,))

    assert (first.removed, second.removed) == (("web01 - Test",), ())
    assert s4.lab.host(REPLICA).find_vms("web01 - Test") == []
    assert s4.harness.item(item_id).state is _R.PROTECTED


def test_unplanned_failover_connects_the_nic_to_the_mapped_switch(s4: S4) -> None:
    item_id = _replicated(s4)
    s4.lab.host(PRIMARY).crash()

    s4.failover.unplanned_failover([item_id], FailoverOptions(PointSpec()))

    assert _adapters(s4, REPLICA, "web01") == ["LAN"]


def test_an_unmapped_nic_network_is_refused_by_the_plugin_before_any_change(s4: S4) -> None:
    item_id = _replicated(s4)
    target = s4.harness.ctx.target_connection(s4.target_id)
    machine_id = s4.harness.item(item_id).machine_id
    request = NativeFailover(item_id, (machine_id,), PointChoice.LATEST)
    lan = _switch_id(s4.lab, PRIMARY, "LAN")

    with pytest.raises(MappingMissing) as refused:
        s4.harness.ctx.plugins.native_failover(target, request)

    assert refused.value.message == (
        f"web01: NIC network {lan!r} has no mapping on the recovery site; nothing was changed"
    )
    link = s4.lab.host(REPLICA).vm("web01").replication
    assert link is not None and link.replica_state.name == "Replicating"
    assert s4.lab.host(PRIMARY).vm("web01").state.name == "Running"


def test_a_network_mapped_to_a_switch_the_replica_server_lacks_is_refused(s4: S4) -> None:
    item_id = _replicated(s4)
    target = s4.harness.ctx.target_connection(s4.target_id)
    machine_id = s4.harness.item(item_id).machine_id
    lan = _switch_id(s4.lab, PRIMARY, "LAN")
    request = NativeFailover(
        item_id, (machine_id,), PointChoice.LATEST, networks=((lan, "no-such-switch"),)
    )

    with pytest.raises(FailoverError) as refused:
        s4.harness.ctx.plugins.native_failover(target, request)

    assert refused.value.message == (
        f"web01: network {lan!r} is mapped to 'no-such-switch', which "
        f"{s4.served.endpoint(REPLICA)} does not have; nothing was changed"
    )
    link = s4.lab.host(REPLICA).vm("web01").replication
    assert link is not None and link.replica_state.name == "Replicating"


def test_a_drill_naming_no_network_runs_on_the_replica_servers_private_switch(s4: S4) -> None:
    item_id = _replicated(s4)

    report = run_native_test_failover(
        s4.harness.ctx, item_id, FailoverOptions(PointSpec()), QuietReporter()
    )

    assert report.replica_id == s4.lab.host(REPLICA).vm("web01 - Test").vm_id.lower()
    assert _adapters(s4, REPLICA, "web01 - Test") == ["Isolated"]


def test_a_vault_mapping_to_a_switch_the_replica_server_lacks_is_refused_by_the_core(
    s4: S4,
) -> None:
    item_id = _replicated(s4)
    lan = _switch_id(s4.lab, PRIMARY, "LAN")
    with s4.harness.store.unit() as tx:
        tx.mappings.put_network(NetworkMapping(s4.fabric_id, lan, s4.target_id, "no-such-switch"))
    # The core lists hv11's switches (LAN, then the private Isolated) through the plugin.
    have = [str(switch.id) for switch in s4.lab.host(REPLICA).switches]

    with pytest.raises(MappingMissing) as refused:
        s4.failover.unplanned_failover([item_id], FailoverOptions(PointSpec()))

    assert refused.value.message == (
        f"web01 ({item_id}): network {lan!r} is mapped to 'no-such-switch', which target "
        f"{s4.target_id!r} does not have (it has: {', '.join(have)})"
    )
    link = s4.lab.host(REPLICA).vm("web01").replication
    assert link is not None and link.replica_state.name == "Replicating"
    assert s4.harness.item(item_id).state is _R.PROTECTED


def _differing_bytes(first: list[bytes], second: list[bytes], block: int = 4096) -> int:
    return sum(
        block
        for a, b in zip(first, second, strict=True)
        for at in range(0, len(a), block)
        if a[at : at + block] != b[at : at + block]
    )


def test_seed_rule_unplanned_commit_reverse_sends_only_differing_blocks_then_failback(
    s4: S4,
) -> None:
    item_id = _replicated(s4)
    s4.lab.host(PRIMARY).vm("web01").disks[0].write(65536, b"lost with the primary")
    s4.lab.host(PRIMARY).crash()
    s4.failover.unplanned_failover([item_id], FailoverOptions(PointSpec()))
    s4.lab.host(REPLICA).vm("web01").disks[1].write(4096, b"written on the recovery site")
    s4.failover.commit([item_id])
    differing = _differing_bytes(s4.disk_bytes(REPLICA, "web01"), s4.disk_bytes(PRIMARY, "web01"))

    reversed_item = run_native_reverse(s4.harness.ctx, item_id, QuietReporter())

    assert (reversed_item.direction, reversed_item.state) == (
        Direction.REVERSE,
        _R.REVERSE_REPLICATION,
    )
    s4.lab.clock.advance(1)
    refresh_group(s4.harness.ctx, s4.target_id, item_id)
    assert s4.harness.item(item_id).state is _R.PROTECTED
    link = s4.lab.host(REPLICA).vm("web01").replication
    assert link is not None and link.sizes[-1] == differing == 2 * 4096
    assert s4.disk_bytes(PRIMARY, "web01") == s4.disk_bytes(REPLICA, "web01")

    s4.lab.host(REPLICA).vm("web01").disks[0].write(0, b"changed before failback")
    recovery_side = s4.disk_bytes(REPLICA, "web01")
    home = run_native_failback(s4.harness.ctx, item_id, FailoverOptions(), QuietReporter())

    assert s4.disk_bytes(PRIMARY, "web01") == recovery_side
    original, replica = s4.lab.host(PRIMARY).vm("web01"), s4.lab.host(REPLICA).vm("web01")
    assert (original.state.name, replica.state.name) == ("Running", "Off")
    assert home.replica_id == original.vm_id.lower()
    assert original.replication is not None and original.replication.primary is original
    item = s4.harness.item(item_id)
    assert (item.state, item.direction) == (_R.PROTECTED, Direction.FORWARD)
    assert _adapters(s4, PRIMARY, "web01") == ["LAN"]


def test_seed_rule_planned_failover_then_failback_brings_every_change_home(s4: S4) -> None:
    item_id = _replicated(s4)
    run_native_planned(s4.harness.ctx, item_id, FailoverOptions(PointSpec()), QuietReporter())
    s4.lab.clock.advance(30)
    s4.lab.host(REPLICA).vm("web01").disks[0].write(12288, b"after the planned failover")
    recovery_side = s4.disk_bytes(REPLICA, "web01")

    run_native_failback(s4.harness.ctx, item_id, FailoverOptions(), QuietReporter())

    assert s4.disk_bytes(PRIMARY, "web01") == recovery_side
    assert s4.lab.host(PRIMARY).vm("web01").state.name == "Running"
    item = s4.harness.item(item_id)
    assert (item.state, item.direction) == (_R.PROTECTED, Direction.FORWARD)
    refreshed = refresh_group(s4.harness.ctx, s4.target_id, item_id)
    assert [(m.state, m.detail) for m in refreshed.state.machines] == [
        (_R.PROTECTED, "Replicating")
    ]
