"""Test failover (drills) and their cleanup, byte for byte, while replication goes on."""

from __future__ import annotations

import json

import pytest

from fakes.compute import ISOLATED_NETWORK
from provider.contracts.failover import NicPlacement
from provider.errors import InvalidTransition
from provider.failover import FailoverOptions, PointSpec
from provider.model.job import JobState
from provider.model.states import ReplicationState
from tests.failover.failover_testkit import Protected


def leases(protected: Protected) -> list[str]:
    account = protected.lab.root / "storage-account" / "items" / protected.item_id / "disks"
    return sorted(p.name for p in account.glob("*/leases/*.json"))


def test_a_drill_starts_the_replica_at_the_point_in_the_isolated_network(
    protected: Protected,
) -> None:
    protected.require_hrl(
        "it reads the cloud compute's drill (native drills: test_native_family.py)"
    )
    expected = protected.source.content()
    point = protected.lab.points(protected.item_id)[-1]
    job = protected.lab.failover.test_failover([protected.item_id])
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    (report,) = protected.lab.failover.drill_reports(job.job_id)
    item = protected.item
    assert item.state is ReplicationState.TEST_FAILOVER
    assert item.test_replica_id == report.replica_id
    assert (report.point_id, report.power_state, report.replica_name) == (
        point.point_id,
        "running",
        "web01-test",
    )
    assert report.verified
    assert [(d.disk_id, d.source_digest, d.equal) for d in report.disks] == [
        (d.disk_id, d.digest, True) for d in point.disks
    ]
    assert protected.lab.replica_content(report.replica_id) == expected
    machine = protected.lab.compute.find(report.replica_id)
    assert machine is not None
    # A guest that reports no address (VMware) gets the isolated network's first free one.
    address = protected.source.ip_address or "192.168.250.4"
    assert machine.nics == (NicPlacement(protected.source.nic_id, ISOLATED_NETWORK, address),)


def test_replication_goes_on_while_the_drills_view_keeps_its_point(protected: Protected) -> None:
    protected.require_hrl(
        "it reads HRL views on the storage account (native: test_native_family.py)"
    )
    at_point = protected.source.content()
    job = protected.lab.failover.test_failover([protected.item_id])
    (report,) = protected.lab.failover.drill_reports(job.job_id)
    disk = protected.first_disk()
    protected.source.write(disk, 4096, b"\xaa" * 70_000)
    protected.lab.compute.write_disk(report.replica_id, disk, 0, b"drill scratch")
    later = protected.cycle()
    assert protected.item.state is ReplicationState.TEST_FAILOVER
    now = protected.source.content()
    for disk_point in later.disks:
        replica = protected.lab.replica_bytes(
            protected.item_id, disk_point.disk_id, disk_point.sequence
        )
        assert replica == now[disk_point.disk_id]
    seen = protected.lab.replica_content(report.replica_id)
    assert seen[disk] == b"drill scratch" + at_point[disk][13:]
    others = [d for d in at_point if d != disk]
    assert all(seen[d] == at_point[d] for d in others)


def test_a_drill_to_a_named_older_point_materialises_that_point(protected: Protected) -> None:
    protected.require_hrl(
        "its drill report verifies HRL point digests (native: test_native_family.py)"
    )
    older_content = protected.source.content()
    older = protected.lab.points(protected.item_id)[-1]
    protected.source.write(protected.first_disk(), 0, b"\x55" * 9000)
    protected.cycle()
    options = FailoverOptions(PointSpec.named(older.point_id))
    job = protected.lab.failover.test_failover([protected.item_id], options)
    (report,) = protected.lab.failover.drill_reports(job.job_id)
    assert report.point_id == older.point_id and report.verified
    assert protected.lab.replica_content(report.replica_id) == older_content


def test_cleanup_removes_every_artefact_and_a_second_cleanup_is_a_no_op(
    protected: Protected,
) -> None:
    protected.require_hrl(
        "it checks storage-account leases (native cleanup: test_native_family.py)"
    )
    job = protected.lab.failover.test_failover([protected.item_id])
    (report,) = protected.lab.failover.drill_reports(job.job_id)
    assert len(leases(protected)) == 2
    cleanup = protected.lab.failover.cleanup_test_failover([protected.item_id])
    assert cleanup.state is JobState.SUCCEEDED
    assert protected.lab.compute.find(report.replica_id) is None
    assert leases(protected) == []
    item = protected.item
    assert (item.state, item.test_replica_id) == (ReplicationState.PROTECTED, "")
    (task,) = cleanup.tasks
    assert f"removed machine web01-test ({report.replica_id})" in task.output.splitlines()
    again = protected.lab.failover.cleanup_test_failover([protected.item_id])
    assert again.state is JobState.SUCCEEDED
    assert (
        again.tasks[0].output == f"web01 ({protected.item_id}) has no test failover to clean up\n"
    )
    protected.cycle()


def test_a_failed_cleanup_says_what_is_left_and_can_be_retried(protected: Protected) -> None:
    protected.require_hrl("it uses the cloud compute's faults (native: test_native_family.py)")
    job = protected.lab.failover.test_failover([protected.item_id])
    (report,) = protected.lab.failover.drill_reports(job.job_id)
    protected.lab.compute.faults.undeletable.add(report.replica_id)
    failed = protected.lab.failover.cleanup_test_failover([protected.item_id])
    assert failed.state is JobState.FAILED
    assert failed.error == (
        f"task test failover cleanup of web01 failed: cleanup of the test failover of web01 "
        f"({protected.item_id}) is incomplete; left: machine web01-test ({report.replica_id}): "
        "the service refused to delete it (fix the cause and run the cleanup again)"
    )
    assert protected.item.state is ReplicationState.TEST_FAILOVER
    assert len(leases(protected)) == 2
    protected.lab.compute.faults.undeletable.clear()
    assert (
        protected.lab.failover.cleanup_test_failover([protected.item_id]).state
        is JobState.SUCCEEDED
    )
    assert leases(protected) == []


def test_a_second_drill_on_the_same_machine_is_refused_before_any_job(protected: Protected) -> None:
    protected.lab.failover.test_failover([protected.item_id])
    jobs_before = protected.lab.failover.jobs.list()
    with pytest.raises(InvalidTransition) as caught:
        protected.lab.failover.test_failover([protected.item_id])
    assert str(caught.value) == (
        f"web01 ({protected.item_id}): cannot go from 'test_failover' to 'test_failover'; "
        "allowed from 'test_failover': protected, resync_required"
    )
    assert protected.lab.failover.jobs.list() == jobs_before


def test_the_drill_report_is_kept_in_the_job(protected: Protected) -> None:
    protected.require_hrl(
        "its report names the cloud compute's isolated network (native: test_native_family.py)"
    )
    job = protected.lab.failover.test_failover([protected.item_id])
    (task,) = protected.lab.failover.jobs.get(job.job_id).tasks
    line = task.output.splitlines()[-1]
    body = json.loads(line.removeprefix("drill report: "))
    assert body["item_id"] == protected.item_id
    assert body["network_ids"] == [ISOLATED_NETWORK]
    assert [d["source_digest"] == d["replica_digest"] for d in body["disks"]] == [True, True]
