"""Storage mapping: replica disks land on the target storage mapped from their source storage."""

from __future__ import annotations

from pathlib import PurePath, PureWindowsPath

import pytest

from provider.model.job import JobState
from provider.model.mapping import StorageMapping
from tests.failover.failover_testkit import Protected


def _folder(path: str) -> str:
    return str((PureWindowsPath(path) if "\\" in path else PurePath(path)).parent)


def test_replica_disks_land_on_the_mapped_storage(protected: Protected) -> None:
    protected.require_hrl("it reads the cloud compute's replica disks (the HRL path's placement)")
    with protected.lab.store.read() as tx:
        item = tx.items.get(protected.item_id)
        machine = tx.fabrics.inventory(item.fabric_id).machine(item.machine_id)
    stored = [d for d in machine.disks if d.path]
    if not stored:
        pytest.skip(f"kind {protected.kind!r} reports no disk paths, so no source storage to map")
    mapped = stored[0]
    mapping = StorageMapping(item.fabric_id, _folder(mapped.path), item.target, "premium-ssd")
    with protected.lab.store.unit() as tx:
        tx.mappings.put_storage(mapping)
    job = protected.lab.failover.test_failover([protected.item_id])
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    (report,) = protected.lab.failover.drill_reports(job.job_id)
    replica = protected.lab.compute.find(report.replica_id)
    assert replica is not None
    placed = {disk.disk_id: disk.storage for disk in replica.disks}
    for disk in machine.disks:
        expected = (
            "premium-ssd" if disk.path and _folder(disk.path) == mapping.source_storage else ""
        )
        assert placed[disk.disk_id] == expected
