"""Commit, cancel, reverse replication (differences only) and failback, end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.clock import VirtualClock
from provider.contracts.declarations import Capabilities, FailoverMode
from provider.errors import FailoverError, NotSupported
from provider.failover import FailoverOptions, PointSpec
from provider.model.item import Direction
from provider.model.job import JobState
from provider.model.states import ReplicationState
from tests.failover.failover_testkit import KIB, Protected, simulated_scenario

BLOCK = 64 * KIB
#: A physical-server-like kind: it fails back to a VMware-like kind only.
PHYSICAL = Capabilities(
    copy_frequencies=(30, 300, 900),
    failover_modes=(FailoverMode.TEST, FailoverMode.UNPLANNED, FailoverMode.FAILBACK),
    failback_to=("simvmware",),
    reverse_replication=True,
)
NO_REVERSE = Capabilities(copy_frequencies=(30, 300, 900))


@pytest.fixture
def physical(tmp_path: Path, clock: VirtualClock) -> Iterator[Protected]:
    with simulated_scenario(tmp_path, clock, "simphysical", PHYSICAL) as machine:
        yield machine


@pytest.fixture
def no_reverse(tmp_path: Path, clock: VirtualClock) -> Iterator[Protected]:
    with simulated_scenario(tmp_path, clock, "simlegacy", NO_REVERSE) as machine:
        yield machine


def failed_over_and_committed(protected: Protected) -> str:
    protected.source.set_reachable(False)
    assert (
        protected.lab.failover.unplanned_failover([protected.item_id]).state is JobState.SUCCEEDED
    )
    assert protected.lab.failover.commit([protected.item_id]).state is JobState.SUCCEEDED
    protected.source.set_reachable(True)
    return protected.item.replica_id


def test_commit_keeps_only_the_failover_point(protected: Protected) -> None:
    protected.require_hrl("it checks the HRL undo logs (native commit: test_native_family.py)")
    protected.source.write(protected.first_disk(), 0, b"\x10" * 4096)
    middle = protected.cycle()
    protected.source.write(protected.first_disk(), 0, b"\x11" * 4096)
    protected.cycle()
    protected.source.set_reachable(False)
    options = FailoverOptions(PointSpec.named(middle.point_id))
    protected.lab.failover.unplanned_failover([protected.item_id], options)
    before = protected.lab.replica_content(protected.item.replica_id)
    job = protected.lab.failover.commit([protected.item_id])
    assert job.state is JobState.SUCCEEDED
    assert job.tasks[0].output == (
        f"committed web01 ({protected.item_id}) at point {middle.point_id}; "
        "discarded 2 other points\n"
    )
    assert [p.point_id for p in protected.lab.points(protected.item_id)] == [middle.point_id]
    assert protected.item.state is ReplicationState.COMMITTED
    undo = protected.lab.root / "storage-account" / "items" / protected.item_id / "disks"
    kept = sorted(int(p.stem) for p in undo.glob(f"{protected.first_disk()}/undo/*.undo"))
    assert kept and min(kept) > middle.disk(protected.first_disk()).sequence
    assert protected.lab.replica_content(protected.item.replica_id) == before


def test_cancel_removes_the_replica_and_replication_goes_on(protected: Protected) -> None:
    protected.require_hrl("a native failover has no cancel")
    protected.lab.failover.planned_failover([protected.item_id])
    replica_id = protected.item.replica_id
    job = protected.lab.failover.cancel([protected.item_id])
    assert job.state is JobState.SUCCEEDED
    assert protected.lab.compute.find(replica_id) is None
    assert protected.source.power_state == "running"
    item = protected.item
    assert (item.state, item.replica_id, item.failover_mode) == (ReplicationState.PROTECTED, "", "")
    protected.source.write(protected.first_disk(), 0, b"\x12" * 4096)
    point = protected.cycle()
    for disk in point.disks:
        replica = protected.lab.replica_bytes(protected.item_id, disk.disk_id, disk.sequence)
        assert replica == protected.source.content()[disk.disk_id]


def test_cancel_of_a_committed_failover_is_refused(protected: Protected) -> None:
    protected.require_hrl("a native failover has no cancel")
    failed_over_and_committed(protected)
    with pytest.raises(FailoverError) as caught:
        protected.lab.failover.cancel([protected.item_id])
    assert str(caught.value) == (
        f"cannot cancel the failover of web01 ({protected.item_id}): it is committed; only a "
        "failed-over item that is not committed can be cancelled"
    )


def test_reverse_replication_sends_only_the_blocks_that_differ(protected: Protected) -> None:
    protected.require_hrl("it checks the HRL sync's lines (native reverse: test_native_family.py)")
    disk = protected.first_disk()
    protected.source.write(disk, 3 * BLOCK, b"\x13" * 100)  # never replicated: lost, sent back
    replica_id = failed_over_and_committed(protected)
    protected.lab.compute.write_disk(replica_id, disk, 0, b"\x14" * 10)
    protected.lab.compute.write_disk(replica_id, disk, BLOCK + 5, b"\x15" * 10)
    job = protected.lab.failover.reverse_replication([protected.item_id])
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    lines = job.tasks[0].output.splitlines()
    others = [d for d in protected.source.content() if d != disk]
    assert lines == [
        f"original {protected.item.machine_name} is off",  # never two live copies of one machine
        f"disk {disk}: 3 of 4 blocks differed and were sent ({3 * BLOCK} bytes)",
        *(f"disk {d}: 0 of 8 blocks differed and were sent (0 bytes)" for d in others),
    ]
    assert protected.source.content() == protected.lab.replica_content(replica_id)
    item = protected.item
    assert (item.state, item.direction) == (ReplicationState.PROTECTED, Direction.REVERSE)


def test_failback_sends_the_last_differences_and_replication_resumes(protected: Protected) -> None:
    protected.require_hrl("it checks the HRL sync's lines (native failback: test_native_family.py)")
    disk = protected.first_disk()
    replica_id = failed_over_and_committed(protected)
    protected.lab.failover.reverse_replication([protected.item_id])
    protected.lab.compute.write_disk(replica_id, disk, 2 * BLOCK, b"\x16" * 300)
    final = protected.lab.replica_content(replica_id)
    job = protected.lab.failover.failback([protected.item_id])
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    assert (
        f"disk {disk}: 1 of 4 blocks differed and were sent ({BLOCK} bytes)" in job.tasks[0].output
    )
    assert protected.source.content() == final
    assert protected.source.power_state == "running"
    assert protected.lab.compute.find(replica_id) is None
    item = protected.item
    assert (item.state, item.direction, item.replica_id) == (
        ReplicationState.PROTECTED,
        Direction.FORWARD,
        "",
    )
    point = protected.cycle()
    for disk_point in point.disks:
        replica = protected.lab.replica_bytes(
            protected.item_id, disk_point.disk_id, disk_point.sequence
        )
        assert replica == final[disk_point.disk_id]


def test_failback_before_reverse_replication_is_refused(protected: Protected) -> None:
    failed_over_and_committed(protected)
    with pytest.raises(FailoverError) as caught:
        protected.lab.failover.failback([protected.item_id])
    assert str(caught.value) == (
        f"failback of web01 ({protected.item_id}) needs a re-protected replica: it is committed "
        "in the forward direction (fail over, commit and run reverse replication first)"
    )


def test_a_physical_server_never_fails_back_to_physical(physical: Protected) -> None:
    failed_over_and_committed(physical)
    assert physical.lab.failover.reverse_replication([physical.item_id]).state is JobState.SUCCEEDED
    with pytest.raises(NotSupported) as caught:
        physical.lab.failover.failback([physical.item_id])
    assert str(caught.value) == (
        f"failback of web01 ({physical.item_id}) to a simphysical machine is not supported: "
        "simphysical machines fail back to simvmware (fail back to an alternate location of an "
        "allowed kind)"
    )
    assert physical.item.state is ReplicationState.PROTECTED


def test_reverse_replication_is_refused_where_the_kind_cannot(no_reverse: Protected) -> None:
    failed_over_and_committed(no_reverse)
    with pytest.raises(NotSupported) as caught:
        no_reverse.lab.failover.reverse_replication([no_reverse.item_id])
    assert str(caught.value) == (
        f"reverse replication of web01 ({no_reverse.item_id}) is not supported: simlegacy "
        "machines cannot be re-protected from the target"
    )
    assert no_reverse.item.state is ReplicationState.COMMITTED
