"""The failover family on natively replicating targets, byte for byte, through the service.

Runs on every scenario of ``NATIVE_SCENARIOS`` (see the conftest): the
target replicates by itself; the core keeps the items, their states and
points, and drives test failover, cleanup, unplanned and planned failover,
commit, reverse replication and failback through the ``srp_native_*`` hooks.
Checks that need the simulated target's own switches skip on the others.
"""

from __future__ import annotations

import pytest

from provider.errors import InvalidTransition, MappingMissing
from provider.failover import FailoverOptions, PointChoice, PointSpec
from provider.model.item import Direction
from provider.model.job import JobState
from provider.model.states import ReplicationState
from provider.native import refresh_group
from tests.failover.conftest import NativeTraits
from tests.failover.failover_testkit import NativeSide, Protected
from tests.failover.native_scenario import SimulatedNativeSide
from tests.failover.s4_scenario import HyperVReplicaSide
from tests.failover.s5_scenario import ScoutSide

_R = ReplicationState
LATEST_PROCESSED = FailoverOptions(PointSpec(PointChoice.LATEST_PROCESSED))


def side(protected: Protected) -> NativeSide:
    assert protected.lab.native is not None
    return protected.lab.native


def simulated(protected: Protected) -> SimulatedNativeSide:
    found = protected.lab.native
    if not isinstance(found, SimulatedNativeSide):
        pytest.skip(f"scenario {protected.kind!r}: the check needs the simulated target's switches")
    return found


def digests(content: dict[str, bytes], traits: NativeTraits) -> dict[str, str]:
    """Each disk's digest as the target computes it."""
    return {disk: traits.digest(data) for disk, data in content.items()}


def drill_options(traits: NativeTraits, spec: PointSpec | None = None) -> FailoverOptions:
    """A drill as the operator asks it on the target: naming the isolated network if it must."""
    return FailoverOptions(spec or PointSpec(), test_network=traits.test_network)


def drilled(protected: Protected, traits: NativeTraits) -> str:
    job = protected.lab.failover.test_failover([protected.item_id], drill_options(traits))
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    return protected.item.test_replica_id


def test_a_native_drill_starts_a_copy_at_the_point_in_the_isolated_network(
    native: Protected, traits: NativeTraits
) -> None:
    expected = native.source.content()
    latest = native.lab.points(native.item_id)[-1]
    job = native.lab.failover.test_failover([native.item_id], drill_options(traits))
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    (report,) = native.lab.failover.drill_reports(job.job_id)
    item = native.item
    assert (item.state, item.test_replica_id) == (_R.TEST_FAILOVER, report.replica_id)
    # "latest" is the newest data the target holds: a recorded point only where the target
    # records its latest data as one (Hyper-V Replica's latest recovery point).
    point_id = latest.point_id if traits.latest_is_recorded else ""
    assert (report.point_id, report.network_ids) == (point_id, (traits.drill_network,))
    assert native.lab.replica_content(report.replica_id) == expected
    # srp holds no source digest of a native point: the report gives the target's, unverified.
    assert {d.disk_id: d.replica_digest for d in report.disks} == digests(expected, traits)
    assert [d.source_digest for d in report.disks] == ["", ""] and not report.verified


def test_replication_goes_on_while_the_native_copy_keeps_its_point(
    native: Protected, traits: NativeTraits
) -> None:
    at_point = native.source.content()
    copy_id = drilled(native, traits)
    disk = native.first_disk()
    native.source.write(disk, 4096, b"\xaa" * 70_000)
    side(native).write_replica(copy_id, disk, 0, b"drill scratch")
    before = native.lab.points(native.item_id)[-1]
    newest = native.cycle()
    assert native.item.state is _R.TEST_FAILOVER
    # A newer point is recorded (a target may replace its latest-data point by it).
    assert newest.point_id != before.point_id and newest.created_at > before.created_at
    seen = native.lab.replica_content(copy_id)
    assert seen[disk] == b"drill scratch" + at_point[disk][13:]
    assert all(seen[d] == at_point[d] for d in at_point if d != disk)


def test_a_native_drill_to_a_named_older_point_materialises_that_point(
    native: Protected, traits: NativeTraits
) -> None:
    if traits.no_older_points:
        pytest.skip(f"scenario {native.kind!r}: {traits.no_older_points}")
    older_content = native.source.content()
    older = native.lab.points(native.item_id)[-1]
    native.source.write(native.first_disk(), 0, b"\x55" * 9000)
    native.cycle()
    job = native.lab.failover.test_failover(
        [native.item_id], drill_options(traits, PointSpec.named(older.point_id))
    )
    (report,) = native.lab.failover.drill_reports(job.job_id)
    assert report.point_id == older.point_id
    assert native.lab.replica_content(report.replica_id) == older_content


def test_native_cleanup_removes_the_copy_and_a_second_cleanup_is_a_no_op(
    native: Protected, traits: NativeTraits
) -> None:
    copy_id = drilled(native, traits)
    cleanup = native.lab.failover.cleanup_test_failover([native.item_id])
    assert (cleanup.state, cleanup.error) == (JobState.SUCCEEDED, "")
    assert not side(native).holds(copy_id)
    item = native.item
    assert (item.state, item.test_replica_id) == (_R.PROTECTED, "")
    removed = "removed " + traits.removed_copy.format(copy_id=copy_id)
    assert removed in cleanup.tasks[0].output.splitlines()
    again = native.lab.failover.cleanup_test_failover([native.item_id])
    assert again.tasks[0].output == f"web01 ({native.item_id}) has no test failover to clean up\n"
    native.cycle()
    assert native.item.state is _R.PROTECTED


def test_a_failed_native_cleanup_says_what_is_left_and_can_be_retried(
    native: Protected, traits: NativeTraits
) -> None:
    site = simulated(native).site
    copy_id = drilled(native, traits)
    site.undeletable.add(copy_id)
    failed = native.lab.failover.cleanup_test_failover([native.item_id])
    assert failed.state is JobState.FAILED
    assert failed.error == (
        f"task test failover cleanup of web01 failed: cleanup of the test failover of web01 "
        f"({native.item_id}) is incomplete; left: machine web01-test ({copy_id}): the site "
        "refused to delete it (fix the cause and run the cleanup again)"
    )
    assert native.item.state is _R.TEST_FAILOVER and side(native).holds(copy_id)
    site.undeletable.clear()
    assert native.lab.failover.cleanup_test_failover([native.item_id]).state is JobState.SUCCEEDED
    assert not side(native).holds(copy_id)


def one_round(native: Protected) -> None:
    """One replication round of the target, then the core's refresh of the group."""
    side(native).replicate()
    refresh_group(native.lab.ctx, native.item.target, side(native).group_id)


def failed_over_and_committed(native: Protected) -> str:
    native.source.set_reachable(False)
    job = native.lab.failover.unplanned_failover([native.item_id], LATEST_PROCESSED)
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    assert native.lab.failover.commit([native.item_id]).state is JobState.SUCCEEDED
    native.source.set_reachable(True)
    return native.item.replica_id


def test_unplanned_failover_lands_on_the_point_and_leaves_the_machine_unprotected(
    native: Protected,
) -> None:
    native.source.write(native.first_disk(), 0, b"\x10" * 4096)
    point = native.cycle()
    expected = native.source.content()
    native.source.write(native.first_disk(), 0, b"\x11" * 4096)  # never shipped: lost
    native.source.set_reachable(False)
    job = native.lab.failover.unplanned_failover([native.item_id], LATEST_PROCESSED)
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    item = native.item
    assert (item.state, item.failover_point_id) == (_R.FAILED_OVER, point.point_id)
    assert native.lab.replica_content(item.replica_id) == expected
    assert native.lab.failover.commit([native.item_id]).state is JobState.SUCCEEDED
    assert [p.point_id for p in native.lab.points(native.item_id)] == [point.point_id]
    assert native.item.state is _R.COMMITTED


def test_reverse_sends_the_replicas_differences_home_and_failback_brings_every_change(
    native: Protected, traits: NativeTraits
) -> None:
    disk = native.first_disk()
    native.source.write(disk, 3 * 4096, b"\x13" * 100)  # never replicated: overwritten by reverse
    replica_id = failed_over_and_committed(native)
    side(native).write_replica(replica_id, disk, 5, b"\x14" * 10)
    job = native.lab.failover.reverse_replication([native.item_id])
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    # The reverse copy runs on the target's time (Hyper-V Replica's initial replication):
    # one round and a refresh see it done.
    one_round(native)
    item = native.item
    assert (item.state, item.direction, item.replica_id) == (
        _R.PROTECTED,
        Direction.REVERSE,
        replica_id,
    )
    # Scout's master target holds the reversed data apart from the original VM until failback.
    if traits.reverse_writes_source:
        assert native.source.content() == native.lab.replica_content(replica_id)
    assert native.source.power_state == "off"
    side(native).write_replica(replica_id, disk, 2 * 4096, b"\x16" * 300)
    native.cycle()
    final = native.lab.replica_content(replica_id)
    back = native.lab.failover.failback([native.item_id])
    assert (back.state, back.error) == (JobState.SUCCEEDED, "")
    assert native.source.content() == final and native.source.power_state == "running"
    # Hyper-V Replica keeps the recovered VM (off) as the replica of the original again.
    assert side(native).holds(replica_id) is traits.failback_keeps_replica
    item = native.item
    # Forward replication resumes; Scout resynchronizes the original first (differences only).
    assert item.state in (_R.PROTECTED, _R.RESYNCHRONIZING)
    assert (item.direction, item.replica_id) == (Direction.FORWARD, "")
    # No point of the reverse direction survives; a target may record the data it failed
    # back as a point at once (Hyper-V Replica's final sync), never an older one.
    at_failback = native.lab.virtual_clock.now()
    assert all(p.created_at == at_failback for p in native.lab.points(native.item_id))
    native.source.write(disk, 0, b"\x17" * 4096)
    point = native.cycle()
    assert point.item_id == native.item_id and native.item.last_point_at == point.created_at


def test_reverse_sends_only_the_blocks_that_differ(native: Protected) -> None:
    sim = simulated(native)
    disk = native.first_disk()
    replica_id = failed_over_and_committed(native)
    sim.write_replica(replica_id, disk, 0, b"\x14" * 10)
    sim.write_replica(replica_id, disk, 4096 + 5, b"\x15" * 10)
    native.lab.failover.reverse_replication([native.item_id])
    (machine,) = sim.site.groups[sim.group_id].machines.values()
    assert machine.blocks_sent == 2


def test_planned_native_failover_loses_nothing_and_replicates_back(native: Protected) -> None:
    native.source.write(native.first_disk(), 100_000, b"\x77" * 5000)  # after the last round
    native.lab.virtual_clock.advance(30)
    job = native.lab.failover.planned_failover([native.item_id])
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    assert native.source.power_state == "off"
    item = native.item
    assert (item.state, item.direction, item.failover_mode) == (
        _R.PROTECTED,
        Direction.REVERSE,
        "planned",
    )
    assert native.lab.replica_content(item.replica_id) == native.source.content()
    assert native.lab.points(native.item_id) == []
    side(native).write_replica(item.replica_id, native.first_disk(), 0, b"\x18" * 4096)
    final = native.lab.replica_content(item.replica_id)
    assert native.lab.failover.failback([native.item_id]).state is JobState.SUCCEEDED
    assert native.source.content() == final and native.source.power_state == "running"
    assert (native.item.direction, native.item.failover_mode) == (Direction.FORWARD, "")


def test_an_unmapped_network_refuses_a_native_failover_before_anything_changes(
    native: Protected,
) -> None:
    with native.lab.store.unit() as tx:
        tx.mappings.remove_network(
            native.fabric_id, native.lab.source_network, native.lab.target_id
        )
    with pytest.raises(MappingMissing) as caught:
        native.lab.failover.unplanned_failover([native.item_id])
    assert str(caught.value) == (
        f"web01 ({native.item_id}): NIC {native.source.nic_id} on network "
        f"{native.lab.source_network!r} has no mapping to target '{native.lab.target_id}'; "
        "nothing was changed "
        "(map the network, or override to fail over without those NICs)"
    )
    assert native.item.state is _R.PROTECTED and native.item.replica_id == ""
    override = FailoverOptions(allow_unmapped=True)
    assert native.lab.failover.unplanned_failover([native.item_id], override).state is (
        JobState.SUCCEEDED
    )
    assert native.lab.replica_content(native.item.replica_id) == native.source.content()


def landed(native: Protected) -> list[str | None]:
    """The network of each NIC of the recovered machine, as its target shows it (None: none)."""
    found, replica_id = native.lab.native, native.item.replica_id
    if isinstance(found, SimulatedNativeSide):
        return [network for _, network in found.site.replicas[replica_id].nics]
    if isinstance(found, HyperVReplicaSide):
        return found.switches_of(replica_id)
    if isinstance(found, ScoutSide):
        return found.networks_of(replica_id)
    pytest.skip(f"scenario {native.kind!r}: the check reads the recovered NICs of another target")


def test_the_recovered_nic_lands_on_the_mapped_network(native: Protected) -> None:
    native.lab.failover.unplanned_failover([native.item_id])
    assert landed(native) == ["vnet-prod"]


def test_the_override_leaves_the_unmapped_nic_off_the_network(
    native: Protected, traits: NativeTraits
) -> None:
    with native.lab.store.unit() as tx:
        tx.mappings.remove_network(
            native.fabric_id, native.lab.source_network, native.lab.target_id
        )
    native.lab.failover.unplanned_failover([native.item_id], FailoverOptions(allow_unmapped=True))
    assert landed(native) == list(traits.unmapped_landing)


def test_reverse_before_commit_is_refused_before_any_job(native: Protected) -> None:
    native.lab.failover.unplanned_failover([native.item_id])
    jobs = native.lab.failover.jobs.list()
    with pytest.raises(InvalidTransition) as caught:
        native.lab.failover.reverse_replication([native.item_id])
    assert str(caught.value) == (
        f"web01 ({native.item_id}): cannot go from 'failed_over' to 'reverse_replication'; "
        "allowed from 'failed_over': committed, protected"
    )
    assert native.lab.failover.jobs.list() == jobs
