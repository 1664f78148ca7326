"""Planned failover with zero data loss; unplanned failover to each kind of point."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.clock import VirtualClock
from provider.contracts.declarations import Capabilities, FailoverMode
from provider.contracts.failover import NicPlacement
from provider.errors import (
    InvalidTransition,
    MappingMissing,
    NotSupported,
    RecoveryPointUnavailable,
    TargetUnavailable,
)
from provider.failover import FailoverOptions, PointChoice, PointSpec
from provider.model.job import JobState
from provider.model.mapping import IpPolicy
from provider.model.recovery import Consistency
from provider.model.states import ReplicationState
from provider.replica.store import ReplicaStore
from tests.failover.conftest import skip_unless
from tests.failover.failover_testkit import Protected, simulated_scenario

LATEST_PROCESSED = FailoverOptions(PointSpec(PointChoice.LATEST_PROCESSED))
LATEST_APP = FailoverOptions(PointSpec(PointChoice.LATEST_APP))
#: A VMware-like kind: to the cloud, unplanned only.
UNPLANNED_ONLY = Capabilities(
    copy_frequencies=(30, 300, 900),
    failover_modes=(FailoverMode.TEST, FailoverMode.UNPLANNED),
    failback_to=("simvmware",),
    reverse_replication=True,
)


@pytest.fixture
def vmware_like(tmp_path: Path, clock: VirtualClock) -> Iterator[Protected]:
    with simulated_scenario(tmp_path, clock, "simvmware", UNPLANNED_ONLY) as machine:
        yield machine


@pytest.fixture
def target_down(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """A switch that makes the cloud target refuse HRLs, so they stay in the cache."""
    state = {"down": False}
    real = ReplicaStore.store_hrl

    def store_hrl(self: ReplicaStore, sequence: int, source: Path) -> None:
        if state["down"]:
            raise TargetUnavailable("storage account unreachable (test switch)")
        real(self, sequence, source)

    monkeypatch.setattr(ReplicaStore, "store_hrl", store_hrl)
    return state


def test_planned_failover_loses_nothing(protected: Protected) -> None:
    protected.require_hrl(
        "a native planned failover ends protected in reverse (test_native_family.py)"
    )
    # Written after the last cycle: only the final cut can carry it.
    protected.source.write(protected.first_disk(), 100_000, b"\x77" * 5000)
    protected.lab.virtual_clock.advance(30)  # the final cut comes later than the last one
    job = protected.lab.failover.planned_failover([protected.item_id])
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    assert protected.source.power_state == "off"
    item = protected.item
    latest = protected.lab.points(protected.item_id)[-1]
    assert (item.state, item.failover_mode, item.failover_point_id) == (
        ReplicationState.FAILED_OVER,
        "planned",
        latest.point_id,
    )
    assert protected.lab.replica_content(item.replica_id) == protected.source.content()
    machine = protected.lab.compute.find(item.replica_id)
    assert machine is not None and machine.power_state == "running"
    assert machine.nics == (
        NicPlacement(protected.source.nic_id, "vnet-prod", protected.source.ip_address),
    )


def test_planned_failover_is_refused_where_the_kind_does_not_declare_it(
    vmware_like: Protected,
) -> None:
    with pytest.raises(NotSupported) as caught:
        vmware_like.lab.failover.planned_failover([vmware_like.item_id])
    assert str(caught.value) == (
        f"planned failover of web01 ({vmware_like.item_id}) is not supported: simvmware "
        "machines to a cloud target declare test, unplanned (use an unplanned failover)"
    )
    assert vmware_like.source.power_state == "running"
    assert vmware_like.item.state is ReplicationState.PROTECTED
    assert vmware_like.lab.failover.jobs.list() == []


def test_a_planned_failover_whose_final_point_fails_starts_the_source_again(
    protected: Protected, target_down: dict[str, bool]
) -> None:
    protected.require_hrl("it fails the HRL final cycle's upload")
    target_down["down"] = True
    job = protected.lab.failover.planned_failover([protected.item_id])
    assert job.state is JobState.FAILED
    assert "the final cycle's point was not recorded" in job.error
    assert protected.source.power_state == "running"
    item = protected.item
    assert (item.state, item.failover_mode, item.replica_id) == (ReplicationState.PROTECTED, "", "")
    target_down["down"] = False
    protected.lab.cycle(protected.item_id)
    assert len(protected.lab.points(protected.item_id)) == 3


def test_unplanned_latest_forwards_the_cache_first(
    protected: Protected, target_down: dict[str, bool]
) -> None:
    protected.require_hrl("it holds HRLs in the process server's cache")
    protected.source.write(protected.first_disk(), 0, b"\x42" * 8192)
    target_down["down"] = True
    report = protected.lab.cycle(protected.item_id)
    assert report.recorded == () and len(report.pending) == 1
    expected = protected.source.content()
    protected.source.set_reachable(False)
    target_down["down"] = False
    job = protected.lab.failover.unplanned_failover([protected.item_id])
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    item = protected.item
    assert item.failover_point_id == report.pending[0]
    assert protected.lab.replica_content(item.replica_id) == expected


def test_unplanned_latest_processed_takes_the_recorded_point_only(
    protected: Protected, target_down: dict[str, bool]
) -> None:
    protected.require_hrl("it holds HRLs in the process server's cache")
    recorded = protected.lab.points(protected.item_id)[-1]
    expected = protected.source.content()
    protected.source.write(protected.first_disk(), 0, b"\x42" * 8192)
    target_down["down"] = True
    protected.lab.cycle(protected.item_id)
    protected.source.set_reachable(False)
    target_down["down"] = False
    job = protected.lab.failover.unplanned_failover([protected.item_id], LATEST_PROCESSED)
    assert job.state is JobState.SUCCEEDED
    item = protected.item
    assert item.failover_point_id == recorded.point_id
    assert protected.lab.replica_content(item.replica_id) == expected
    assert [p.point_id for p in protected.lab.points(protected.item_id)] == [recorded.point_id]


def test_unplanned_latest_app_consistent(protected: Protected) -> None:
    protected.require_hrl("it asks an HRL cycle for an app-consistent cut")
    protected.source.write(protected.first_disk(), 0, b"\x01" * 4096)
    (app,) = protected.lab.cycle(protected.item_id, consistency=Consistency.APP).recorded
    expected = protected.source.content()
    protected.source.write(protected.first_disk(), 0, b"\x02" * 4096)
    protected.cycle()
    protected.source.set_reachable(False)
    job = protected.lab.failover.unplanned_failover([protected.item_id], LATEST_APP)
    assert job.state is JobState.SUCCEEDED
    item = protected.item
    assert item.failover_point_id == app.point_id
    assert protected.lab.replica_content(item.replica_id) == expected


def test_unplanned_to_a_named_point(protected: Protected) -> None:
    skip_unless(protected, lambda traits: traits.no_older_points)
    first = protected.lab.points(protected.item_id)[0]
    expected = protected.source.content()
    protected.source.write(protected.first_disk(), 0, b"\x03" * 4096)
    protected.cycle()
    protected.source.set_reachable(False)
    options = FailoverOptions(PointSpec.named(first.point_id))
    assert (
        protected.lab.failover.unplanned_failover([protected.item_id], options).state
        is JobState.SUCCEEDED
    )
    assert protected.lab.replica_content(protected.item.replica_id) == expected


def test_an_unknown_point_is_refused_before_anything_is_touched(protected: Protected) -> None:
    options = FailoverOptions(PointSpec.named("cut-nope.item"))
    with pytest.raises(RecoveryPointUnavailable) as caught:
        protected.lab.failover.unplanned_failover([protected.item_id], options)
    assert str(caught.value) == (
        f"web01 ({protected.item_id}) has no recovery point 'cut-nope.item': it is outside "
        "retention or never existed (list the item's points and choose a retained one)"
    )
    assert protected.item.state is ReplicationState.PROTECTED
    assert protected.lab.compute.machines(protected.item_id) == ()


def test_a_point_outside_retention_is_unavailable(
    protected: Protected, clock: VirtualClock
) -> None:
    skip_unless(protected, lambda traits: traits.retention_lag)
    old = protected.lab.points(protected.item_id)[0]
    clock.advance(25 * 3600)
    protected.source.write(protected.first_disk(), 0, b"\x04" * 4096)
    protected.cycle()
    assert old.point_id not in [p.point_id for p in protected.lab.points(protected.item_id)]
    with pytest.raises(RecoveryPointUnavailable, match="outside retention or never existed"):
        protected.lab.failover.unplanned_failover(
            [protected.item_id], FailoverOptions(PointSpec.named(old.point_id))
        )


def test_a_machine_already_failed_over_is_refused(protected: Protected) -> None:
    protected.lab.failover.unplanned_failover([protected.item_id])
    with pytest.raises(InvalidTransition) as caught:
        protected.lab.failover.unplanned_failover([protected.item_id])
    assert str(caught.value) == (
        f"web01 ({protected.item_id}): cannot go from 'failed_over' to 'failing_over'; "
        "allowed from 'failed_over': committed, protected"
    )


def test_an_item_not_yet_protected_is_refused(protected: Protected) -> None:
    skip_unless(protected, lambda traits: traits.plain_protect)
    fabric = protected.source.fabric  # type: ignore[attr-defined]
    other = fabric.add_machine("db01", disks=[64 * 1024])
    protected.lab.refresh(protected.fabric_id)
    item = protected.lab.protect(protected.fabric_id, other.machine_id)
    with pytest.raises(InvalidTransition) as caught:
        protected.lab.failover.test_failover([item.item_id])
    assert str(caught.value) == (
        f"db01 ({item.item_id}): cannot go from 'initial_replication' to 'test_failover'; "
        "allowed from 'initial_replication': disabling, protected, resync_required"
    )


def test_an_unmapped_network_refuses_before_anything_is_touched(protected: Protected) -> None:
    protected.require_hrl("it reads the cloud compute's replicas (native: test_native_family.py)")
    with protected.lab.store.unit() as tx:
        tx.mappings.remove_network(protected.fabric_id, "net-prod", protected.lab.target_id)
    with pytest.raises(MappingMissing) as caught:
        protected.lab.failover.unplanned_failover([protected.item_id])
    assert str(caught.value) == (
        f"web01 ({protected.item_id}): NIC {protected.source.nic_id} on network "
        f"'net-prod' has no mapping to target '{protected.lab.target_id}'; nothing was changed "
        "(map the network, or override to fail over without those NICs)"
    )
    assert protected.item.state is ReplicationState.PROTECTED
    assert protected.lab.compute.machines(protected.item_id) == ()
    override = FailoverOptions(allow_unmapped=True)
    assert (
        protected.lab.failover.unplanned_failover([protected.item_id], override).state
        is JobState.SUCCEEDED
    )
    machine = protected.lab.compute.find(protected.item.replica_id)
    assert machine is not None and machine.nics == ()


def test_a_mapping_to_a_network_the_target_lacks_is_refused(protected: Protected) -> None:
    skip_unless(protected, lambda traits: traits.unlisted_networks)
    protected.lab.map_network(protected.fabric_id, target_network="vnet-gone")
    with pytest.raises(
        MappingMissing, match=r"mapped to 'vnet-gone', which target .* does not have"
    ):
        protected.lab.failover.unplanned_failover([protected.item_id])


@pytest.mark.parametrize(
    ("policy", "subnet", "address"),
    [(IpPolicy.ASSIGN, "", "10.1.0.4"), (IpPolicy.STATIC, "10.1.0.128/25", "10.1.0.132")],
)
def test_ip_settings_are_assigned_as_mapped(
    protected: Protected, policy: IpPolicy, subnet: str, address: str
) -> None:
    protected.require_hrl("IP assignment is the cloud compute's")
    protected.lab.map_network(protected.fabric_id, policy=policy, subnet=subnet)
    protected.lab.failover.unplanned_failover([protected.item_id])
    machine = protected.lab.compute.find(protected.item.replica_id)
    assert machine is not None
    assert machine.nics == (NicPlacement(protected.source.nic_id, "vnet-prod", address, subnet),)
