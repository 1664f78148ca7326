"""Scenario S4 between two VMM clouds through the core (target kind ``vmm-replica``).

The replica lab (:func:`fakes.vmm.samples.build_replica_lab`): ``vmm01``
manages the primary site (``hv01``, cloud Gold, ``web01`` on VM network
Corp-VMs), ``vmm02`` the recovery site (``hv11`` running ``dc11``, ``hv12``
empty and not yet a Replica server; clouds DR and Tiny; VM networks DR-VMs
and Drill). Both VMM servers and the three hosts are served over loopback
WinRM and reached with real pywinrm (NTLM). ``vmm01`` is a registered
``vmm`` fabric; ``vmm02`` with a cloud is a ``vmm-replica`` target whose
hooks (``plugins/vmm/native.py``) carry the core's decisions
(``provider.native``, the failover service) to Hyper-V Replica.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fakes.clock import VirtualClock
from fakes.harness import EngineHarness
from fakes.hyperv.backend import ServedLab
from fakes.hyperv.host import HyperVHost
from fakes.vmm import VmmLab, start_winrm_lab
from fakes.vmm.samples import build_replica_lab
from plugins.hyperv.native import latest_point_name
from plugins.vmm import plugin as vmm_plugin
from provider.blockdigest import digest_of_bytes
from provider.contracts.connection import FabricConnection, Secret
from provider.errors import FailoverError
from provider.failover import FailoverOptions, FailoverService, PointSpec
from provider.failover.subject import QuietReporter
from provider.model.item import Direction
from provider.model.job import JobState
from provider.model.mapping import NetworkMapping
from provider.model.states import ReplicationState
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
PRIMARY, SPARE = "hv01", "hv12"


@dataclass
class S4:
    """The served lab; a harness with vmm01 as fabric and vmm02 (cloud DR) as target."""

    lab: VmmLab
    served: ServedLab
    harness: EngineHarness
    fabric_id: str
    target_id: str
    failover: FailoverService
    book: Path

    def host(self, name: str) -> HyperVHost:
        return self.lab.hyperv.host(name)

    def protect(self, vm_name: str = "web01", target_id: str = "") -> str:
        with self.harness.store.read() as tx:
            machines = tx.fabrics.inventory(self.fabric_id).machines
        machine = next(m for m in machines if m.name == vm_name)
        request = NativeProtectRequest(
            self.fabric_id,
            (machine.machine_id,),
            "replica",
            target_id or self.target_id,
            options=(("frequency_sec", "30"),),
        )
        (item,) = protect_native(self.harness.ctx, request)
        return item.item_id

    def replicated(self, target_id: str = "") -> str:
        """web01 protected, its initial copy done (one virtual second at lab bandwidth)."""
        item_id = self.protect(target_id=target_id)
        self.lab.hyperv.clock.advance(1)
        refresh_group(self.harness.ctx, target_id or self.target_id, item_id)
        return item_id

    def disk_bytes(self, host: str, vm_name: str = "web01") -> list[bytes]:
        return [d.read(0, d.capacity) for d in self.host(host).vm(vm_name).disks]

    def adapters(self, host: str, vm_name: str = "web01") -> list[str | None]:
        return [a.switch_name for a in self.host(host).vm(vm_name).adapters]

    def vm_network_id(self, server: str, name: str) -> str:
        return str(self.lab.server(server).vm_network(name).id)

    def add_target(self, cloud: str) -> str:
        username, password = self.served.credentials
        endpoints = ",".join(
            f"{h.name}={self.served.endpoint(h.name)}" for h in self.lab.hyperv.hosts
        )
        options = (
            ("transport", "ntlm"),
            ("retry_wait", "0"),
            ("username", username),
            ("vmm_server", "vmm02"),
            ("host_endpoints", endpoints),
            ("group_book", str(self.book)),
            ("cloud", cloud),
        )
        target = Target(
            f"tgt-{uuid.uuid4().hex[:8]}", "vmm-replica", self.served.endpoint("vmm02"), options
        )
        with self.harness.store.unit() as tx:
            SealedSecrets(self.harness.vault.box).add_target(tx, target, Secret(password))
        return target.target_id


@pytest.fixture
def s4(tmp_path: Path) -> Iterator[S4]:
    lab = build_replica_lab(seed=4, clock=VirtualClock(start=START))
    with (
        start_winrm_lab(lab) as served,
        EngineHarness(tmp_path, plugins={"vmm": vmm_plugin}, clock=lab.hyperv.clock.now) as harness,
    ):
        username, password = served.credentials
        endpoints = ",".join(f"{h.name}={served.endpoint(h.name)}" for h in lab.hyperv.hosts)
        options = {
            "transport": "ntlm",
            "retry_wait": "0",
            "vmm_server": "vmm01",
            "host_endpoints": endpoints,
        }
        fabric_id = harness.register_fabric(
            "vmm", served.endpoint("vmm01"), username, password, options
        )
        harness.add_policy("replica", copy_frequency_sec=30, retention_hours=4)
        s4 = S4(
            lab, served, harness, fabric_id, "", FailoverService(harness.ctx), tmp_path / "g.json"
        )
        s4.target_id = s4.add_target("DR")
        _map(s4, s4.target_id)
        try:
            yield s4
        finally:
            vmm_plugin.srp_disconnect(FabricConnection(fabric_id, "vmm", "-"))


def _map(s4: S4, target_id: str) -> None:
    """vmm01's Corp-VMs -> vmm02's DR-VMs in the vault."""
    source, target = s4.vm_network_id("vmm01", "Corp-VMs"), s4.vm_network_id("vmm02", "DR-VMs")
    with s4.harness.store.unit() as tx:
        tx.mappings.put_network(NetworkMapping(s4.fabric_id, source, target_id, target))


def _link_state(s4: S4, host: str) -> str:
    link = s4.host(host).vm("web01").replication
    assert link is not None
    return link.replica_state.name


# -- protection and points ------------------------------------------------------------------


def test_protect_places_the_replica_on_the_least_loaded_host_and_makes_it_a_replica_server(
    s4: S4,
) -> None:
    assert not s4.host(SPARE).replication_server.enabled
    item_id = s4.protect()

    assert s4.harness.item(item_id).state is _R.INITIAL_REPLICATION
    assert s4.host(SPARE).replication_server.enabled
    assert s4.host(SPARE).vm("web01").vm_id == s4.host(PRIMARY).vm("web01").vm_id
    assert s4.host("hv11").find_vms("web01") == []

    s4.lab.hyperv.clock.advance(1)
    refreshed = refresh_group(s4.harness.ctx, s4.target_id, item_id)

    assert [(m.state, m.detail) for m in refreshed.state.machines] == [
        (_R.PROTECTED, "Replicating")
    ]
    assert s4.disk_bytes(SPARE) == s4.disk_bytes(PRIMARY)


def test_recovery_points_come_from_the_replica_host(s4: S4) -> None:
    item_id = s4.replicated()

    latest = [p.cut_id for p in s4.harness.points(item_id) if "Latest" in p.cut_id]

    assert latest == [latest_point_name("web01", START + 1)]
    assert s4.harness.item(item_id).last_point_at == START + 1


# -- test failover --------------------------------------------------------------------------


def test_test_failover_starts_a_copy_on_the_isolated_vm_network_then_cleanup(s4: S4) -> None:
    item_id = s4.replicated()
    s4.host(PRIMARY).vm("web01").disks[0].write(8192, b"in the drill's point")
    s4.lab.hyperv.clock.advance(30)
    refresh_group(s4.harness.ctx, s4.target_id, item_id)
    at_point = s4.disk_bytes(PRIMARY)
    drill = FailoverOptions(PointSpec(), test_network=s4.vm_network_id("vmm02", "Drill"))

    report = run_native_test_failover(s4.harness.ctx, item_id, drill, QuietReporter())

    assert report.replica_id == s4.host(SPARE).vm("web01 - Test").vm_id.lower()
    assert s4.disk_bytes(SPARE, "web01 - Test") == at_point
    assert [d.replica_digest for d in report.disks] == [digest_of_bytes(b) for b in at_point]
    assert s4.adapters(SPARE, "web01 - Test") == ["Isolated"]
    assert _link_state(s4, SPARE) == "Replicating"

    first = run_native_cleanup(s4.harness.ctx, item_id, QuietReporter())
    target = s4.harness.ctx.target_connection(s4.target_id)
    machine_id = s4.harness.item(item_id).machine_id
    second = s4.harness.ctx.plugins.native_cleanup_test(target, item_id, (machine_id,))

    assert (first.removed, second.removed) == (("web01 - Test",), ())
    assert s4.host(SPARE).find_vms("web01 - Test") == []
    assert s4.harness.item(item_id).state is _R.PROTECTED


# -- planned failover and failback ------------------------------------------------------------


def test_seed_rule_planned_failover_shuts_the_source_first_and_loses_nothing(s4: S4) -> None:
    item_id = s4.replicated()
    s4.lab.hyperv.clock.advance(30)
    s4.host(PRIMARY).vm("web01").disks[1].write(4096, b"written after the last cycle")

    run_native_planned(s4.harness.ctx, item_id, FailoverOptions(PointSpec()), QuietReporter())

    source, replica = s4.host(PRIMARY).vm("web01"), s4.host(SPARE).vm("web01")
    assert (source.state.name, replica.state.name) == ("Off", "Running")
    assert s4.disk_bytes(SPARE) == s4.disk_bytes(PRIMARY)
    item = s4.harness.item(item_id)
    assert (item.state, item.direction) == (_R.PROTECTED, Direction.REVERSE)


def test_planned_failover_puts_the_nic_on_the_mapped_vm_networks_switch(s4: S4) -> None:
    item_id = s4.replicated()

    run_native_planned(s4.harness.ctx, item_id, FailoverOptions(PointSpec()), QuietReporter())

    assert s4.adapters(SPARE) == ["DR-LAN"]


def test_seed_rule_failback_after_a_planned_failover_brings_every_change_home(s4: S4) -> None:
    item_id = s4.replicated()
    run_native_planned(s4.harness.ctx, item_id, FailoverOptions(PointSpec()), QuietReporter())
    s4.lab.hyperv.clock.advance(30)
    s4.host(SPARE).vm("web01").disks[0].write(12288, b"after the planned failover")
    recovery_side = s4.disk_bytes(SPARE)

    run_native_failback(s4.harness.ctx, item_id, FailoverOptions(), QuietReporter())

    assert s4.disk_bytes(PRIMARY) == recovery_side
    assert s4.host(PRIMARY).vm("web01").state.name == "Running"
    assert s4.adapters(PRIMARY) == ["LAN"]
    item = s4.harness.item(item_id)
    assert (item.state, item.direction) == (_R.PROTECTED, Direction.FORWARD)
    refreshed = refresh_group(s4.harness.ctx, s4.target_id, item_id)
    assert [(m.state, m.detail) for m in refreshed.state.machines] == [
        (_R.PROTECTED, "Replicating")
    ]


# -- unplanned failover, commit, reverse, failback ---------------------------------------------


def test_seed_rule_unplanned_failover_leaves_the_vm_unprotected(s4: S4) -> None:
    item_id = s4.replicated()
    s4.host(PRIMARY).crash()

    job = s4.failover.unplanned_failover([item_id], FailoverOptions(PointSpec()))

    assert job.state is JobState.SUCCEEDED
    assert _link_state(s4, SPARE) == "FailedOver"
    assert refresh_all(s4.harness.ctx) == []
    assert s4.harness.item(item_id).state is _R.FAILED_OVER
    assert s4.adapters(SPARE) == ["DR-LAN"]


def test_seed_rule_unplanned_commit_reverse_then_failback(s4: S4) -> None:
    item_id = s4.replicated()
    s4.host(PRIMARY).crash()
    s4.failover.unplanned_failover([item_id], FailoverOptions(PointSpec()))
    s4.host(SPARE).vm("web01").disks[1].write(4096, b"written on the recovery site")
    s4.failover.commit([item_id])
    assert s4.harness.item(item_id).state is _R.COMMITTED

    reversed_item = run_native_reverse(s4.harness.ctx, item_id, QuietReporter())

    assert (reversed_item.direction, reversed_item.state) == (
        Direction.REVERSE,
        _R.REVERSE_REPLICATION,
    )
    s4.lab.hyperv.clock.advance(1)
    refresh_group(s4.harness.ctx, s4.target_id, item_id)
    assert s4.harness.item(item_id).state is _R.PROTECTED
    assert s4.disk_bytes(PRIMARY) == s4.disk_bytes(SPARE)

    s4.host(SPARE).vm("web01").disks[0].write(0, b"changed before failback")
    recovery_side = s4.disk_bytes(SPARE)
    run_native_failback(s4.harness.ctx, item_id, FailoverOptions(), QuietReporter())

    assert s4.disk_bytes(PRIMARY) == recovery_side
    assert (s4.host(PRIMARY).vm("web01").state.name, s4.host(SPARE).vm("web01").state.name) == (
        "Running",
        "Off",
    )
    item = s4.harness.item(item_id)
    assert (item.state, item.direction) == (_R.PROTECTED, Direction.FORWARD)


# -- refused before anything changes ------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """What must not change when a failover is refused."""

    item: tuple[ReplicationState, Direction]
    points: list[str]
    vms: dict[str, list[tuple[str, str]]]
    link: str


def _snapshot(s4: S4, item_id: str) -> Snapshot:
    item = s4.harness.item(item_id)
    vms = {host.name: [(vm.name, vm.state.name) for vm in host.vms] for host in s4.lab.hyperv.hosts}
    points = [p.point_id for p in s4.harness.points(item_id)]
    return Snapshot((item.state, item.direction), points, vms, _link_state(s4, SPARE))


def test_a_cloud_without_capacity_refuses_every_failover_before_anything_changes(s4: S4) -> None:
    tiny = s4.add_target("Tiny")
    _map(s4, tiny)
    item_id = s4.replicated(target_id=tiny)
    before = _snapshot(s4, item_id)
    drill = FailoverOptions(PointSpec(), test_network=s4.vm_network_id("vmm02", "Drill"))
    expected = (
        "cloud 'Tiny' of VMM server 'vmm02' cannot hold the failed-over VMs: "
        "2048 MB of memory needed, 512 free; nothing was changed"
    )

    for run in (
        lambda: run_native_planned(s4.harness.ctx, item_id, FailoverOptions(), QuietReporter()),
        lambda: run_native_test_failover(s4.harness.ctx, item_id, drill, QuietReporter()),
    ):
        with pytest.raises(FailoverError) as refused:
            run()
        assert refused.value.message == expected
    job = s4.failover.unplanned_failover([item_id], FailoverOptions(PointSpec()))

    hint = " (raise the cloud's capacity or fail over fewer VMs)"
    assert (job.state, job.tasks[0].error) == (JobState.FAILED, expected + hint)
    assert _snapshot(s4, item_id) == before
    assert s4.host(PRIMARY).vm("web01").state.name == "Running"


def test_a_vm_network_removed_after_mapping_is_refused_before_anything_changes(s4: S4) -> None:
    item_id = s4.replicated()
    removed = s4.vm_network_id("vmm02", "DR-VMs")
    source = s4.vm_network_id("vmm01", "Corp-VMs")
    s4.lab.server("vmm02").remove_vm_network("DR-VMs")
    before = _snapshot(s4, item_id)

    with pytest.raises(FailoverError) as refused:
        run_native_planned(s4.harness.ctx, item_id, FailoverOptions(PointSpec()), QuietReporter())

    # The target lists its VM networks (srp_target_networks): the core refuses first.
    drill = s4.vm_network_id("vmm02", "Drill")
    assert refused.value.message == (
        f"web01 ({item_id}): network {source!r} is mapped to {removed!r}, which target "
        f"{s4.target_id!r} does not have (it has: {drill})"
    )
    assert _snapshot(s4, item_id) == before
    assert s4.host(PRIMARY).vm("web01").state.name == "Running"
