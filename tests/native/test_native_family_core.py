"""The core's native failover family on :mod:`fakes.native`: refusals, failures, rounds.

What the failover suite's ``simulated-native`` scenario does not cover: the
hooks a plugin may lack, the modes a native target does not offer, a target
failing mid-operation (the item keeps a state it can be retried from), the
target replicating on the virtual clock, and its retention.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.clock import VirtualClock
from fakes.native import SimulatedNativeTarget
from provider.errors import MappingMissing, NotSupported
from provider.failover import FailoverOptions, PointChoice, PointSpec
from provider.model.item import Direction
from provider.model.job import JobState
from provider.model.states import ReplicationState
from provider.native import refresh_group
from tests.failover.failover_testkit import Protected
from tests.failover.native_scenario import GROUP, SimulatedNativeSide, simulated_native_scenario

_R = ReplicationState


class WithoutDrillsOrReverse(SimulatedNativeTarget):
    """A native plugin written before the family grew."""

    srp_native_test_failover = None
    srp_native_cleanup_test = None
    srp_native_reverse = None


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def native(tmp_path: Path, clock: VirtualClock) -> Iterator[Protected]:
    with simulated_native_scenario(tmp_path, clock) as machine:
        yield machine


def side(protected: Protected) -> SimulatedNativeSide:
    assert isinstance(protected.lab.native, SimulatedNativeSide)
    return protected.lab.native


def committed(native: Protected) -> str:
    options = FailoverOptions(PointSpec(PointChoice.LATEST_PROCESSED))
    assert native.lab.failover.unplanned_failover([native.item_id], options).state is (
        JobState.SUCCEEDED
    )
    assert native.lab.failover.commit([native.item_id]).state is JobState.SUCCEEDED
    return native.item.replica_id


def test_a_plugin_without_the_drill_hook_is_refused_before_any_job(
    tmp_path: Path, clock: VirtualClock
) -> None:
    with simulated_native_scenario(tmp_path, clock, WithoutDrillsOrReverse) as native:
        with pytest.raises(NotSupported) as caught:
            native.lab.failover.test_failover([native.item_id])
        assert str(caught.value) == (
            "native test failover is not supported: the plugin serving target kind "
            "'simulated-native' does not implement srp_native_test_failover"
        )
        assert native.lab.failover.jobs.list() == []
        assert native.item.state is _R.PROTECTED


def test_a_plugin_without_the_reverse_hook_is_refused_and_the_item_stays_committed(
    tmp_path: Path, clock: VirtualClock
) -> None:
    with simulated_native_scenario(tmp_path, clock, WithoutDrillsOrReverse) as native:
        committed(native)
        with pytest.raises(NotSupported) as caught:
            native.lab.failover.reverse_replication([native.item_id])
        assert str(caught.value) == (
            "native reverse replication is not supported: the plugin serving target kind "
            "'simulated-native' does not implement srp_native_reverse"
        )
        assert (native.item.state, native.item.direction) == (_R.COMMITTED, Direction.FORWARD)


def test_cancel_of_a_native_failover_is_not_offered(native: Protected) -> None:
    native.lab.failover.unplanned_failover([native.item_id])
    with pytest.raises(NotSupported) as caught:
        native.lab.failover.cancel([native.item_id])
    assert str(caught.value) == (
        f"failover.cancel of item {native.item_id} is not supported on a natively "
        "replicating target"
    )


def test_a_native_failback_to_an_alternate_host_is_refused(native: Protected) -> None:
    native.lab.failover.planned_failover([native.item_id])
    with pytest.raises(NotSupported) as caught:
        native.lab.failover.failback([native.item_id], FailoverOptions(alternate_host="hv09"))
    assert str(caught.value) == (
        f"failback of web01 ({native.item_id}) to an alternate host is not supported on a "
        "natively replicating target: it fails back to the original machine"
    )
    assert (native.item.state, native.item.direction) == (_R.PROTECTED, Direction.REVERSE)


def test_a_mapping_to_a_network_the_site_lacks_is_refused_before_anything_changes(
    native: Protected,
) -> None:
    native.lab.map_network(native.fabric_id, target_network="vnet-gone")
    with pytest.raises(MappingMissing) as caught:
        native.lab.failover.unplanned_failover([native.item_id])
    assert str(caught.value) == (
        f"web01 ({native.item_id}): network 'net-prod' is mapped to 'vnet-gone', which target "
        f"'{native.lab.target_id}' does not have (it has: vnet-prod, vnet-test) "
        "(fix the network mapping)"
    )
    assert native.item.state is _R.PROTECTED and side(native).site.replicas == {}


def test_a_reverse_the_site_cannot_take_leaves_the_item_committed_and_a_retry_completes(
    native: Protected,
) -> None:
    replica_id = committed(native)
    side(native).site.unreachable = True
    failed = native.lab.failover.reverse_replication([native.item_id])
    assert failed.state is JobState.FAILED
    assert failed.error == (
        "task reverse replication of web01 failed: dr-site: no simulated recovery site "
        "answers there"
    )
    item = native.item
    assert (item.state, item.direction, item.replica_id) == (
        _R.COMMITTED,
        Direction.FORWARD,
        replica_id,
    )
    side(native).site.unreachable = False
    assert native.lab.failover.reverse_replication([native.item_id]).state is JobState.SUCCEEDED
    assert native.source.content() == native.lab.replica_content(replica_id)


def test_a_failback_the_site_cannot_take_stays_reversed_and_a_retry_loses_nothing(
    native: Protected,
) -> None:
    native.lab.failover.planned_failover([native.item_id])
    replica_id = native.item.replica_id
    side(native).write_replica(replica_id, native.first_disk(), 0, b"\x21" * 4096)
    final = native.lab.replica_content(replica_id)
    side(native).site.unreachable = True
    assert native.lab.failover.failback([native.item_id]).state is JobState.FAILED
    assert (native.item.state, native.item.direction) == (_R.PROTECTED, Direction.REVERSE)
    side(native).site.unreachable = False
    assert native.lab.failover.failback([native.item_id]).state is JobState.SUCCEEDED
    assert native.source.content() == final


def test_the_target_replicates_on_the_clock_and_the_refresh_records_each_round(
    tmp_path: Path, clock: VirtualClock
) -> None:
    with simulated_native_scenario(tmp_path, clock, round_seconds=60) as native:
        before = len(native.lab.points(native.item_id))
        native.source.write(native.first_disk(), 0, b"\x31" * 4096)
        clock.advance(180)
        refreshed = refresh_group(native.lab.ctx, native.lab.target_id, GROUP)
        assert refreshed.points_added == 3
        assert len(native.lab.points(native.item_id)) == before + 3
        target = side(native).target
        (machine,) = target.sites["dr-site"].groups[GROUP].machines.values()
        assert machine.held == native.source.content()


def test_points_out_of_the_groups_retention_leave_the_target_and_the_vault(
    native: Protected, clock: VirtualClock
) -> None:
    first = native.lab.points(native.item_id)[0]
    clock.advance(25 * 3600)
    native.cycle()
    kept = [p.point_id for p in native.lab.points(native.item_id)]
    assert first.point_id not in kept and len(kept) == 1
