"""A three-group plan as test, planned and unplanned failover, byte for byte, with group events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from provider.contracts.declarations import FailoverMode
from provider.errors import PlanError
from provider.model.job import JobState, TaskState
from provider.model.states import ReplicationState
from tests.plans.plan_testkit import PlanLab, plan_lab, three_groups

#: One machine per group gets its bytes checked.
CHECKED = ("db02", "app01", "web02")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[PlanLab]:
    with plan_lab(tmp_path) as made:
        made.store_plan(three_groups())
        yield made


def expected_events(mode: str) -> list[tuple[str, str, str, str]]:
    return [
        (when, group, mode, "")
        for group in ("databases", "apps", "web")
        for when in ("before", "after")
    ]


def test_a_test_failover_plan_runs_every_group_in_order(lab: PlanLab) -> None:
    at_point = {name: lab.content(name) for name in CHECKED}
    # Written after the point: a drill at the recorded point must not show it.
    lab.machines["app01"].disks[next(iter(lab.machines["app01"].disks))].write(0, b"\xee" * 4096)
    job = lab.runner.run("erp", FailoverMode.TEST)
    assert (job.state, job.error, job.kind, job.target) == (
        JobState.SUCCEEDED,
        "",
        "plan.test",
        "erp",
    )
    assert [(t.task_id, t.name, t.state) for t in job.tasks] == [
        (
            f"g1-item-{lab.items['db01']}",
            "group 1 databases: test failover of db01",
            TaskState.DONE,
        ),
        (
            f"g1-item-{lab.items['db02']}",
            "group 1 databases: test failover of db02",
            TaskState.DONE,
        ),
        (f"g2-item-{lab.items['app01']}", "group 2 apps: test failover of app01", TaskState.DONE),
        (f"g2-item-{lab.items['app02']}", "group 2 apps: test failover of app02", TaskState.DONE),
        (f"g3-item-{lab.items['web01']}", "group 3 web: test failover of web01", TaskState.DONE),
        (f"g3-item-{lab.items['web02']}", "group 3 web: test failover of web02", TaskState.DONE),
    ]
    for name in CHECKED:
        item = lab.lab.item(lab.items[name])
        assert item.state is ReplicationState.TEST_FAILOVER
        assert lab.lab.replica_content(item.test_replica_id) == at_point[name]
    assert lab.recorder.events == expected_events("test")


def test_a_planned_plan_loses_nothing(lab: PlanLab) -> None:
    for name in CHECKED:
        disk = next(iter(lab.machines[name].disks.values()))
        disk.write(70 * 1024, name.encode() * 100)  # after the last point: the final cut carries it
    lab.lab.virtual_clock.advance(30)
    job = lab.runner.run("erp", FailoverMode.PLANNED)
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    for name in CHECKED:
        item = lab.lab.item(lab.items[name])
        assert (item.state, item.failover_mode) == (ReplicationState.FAILED_OVER, "planned")
        assert lab.machines[name].power_state == "off"
        assert lab.lab.replica_content(item.replica_id) == lab.content(name)
    assert lab.recorder.events == expected_events("planned")


def test_an_unplanned_plan_fails_over_to_the_latest_point_without_the_source(
    lab: PlanLab,
) -> None:
    at_point = {name: lab.content(name) for name in CHECKED}
    for name in CHECKED:
        next(iter(lab.machines[name].disks.values())).write(0, b"\x01" * 512)  # lost with the site
    lab.fabric.unreachable = True
    job = lab.runner.run("erp", FailoverMode.UNPLANNED)
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    for name in CHECKED:
        item = lab.lab.item(lab.items[name])
        assert (item.state, item.failover_mode) == (ReplicationState.FAILED_OVER, "unplanned")
        assert lab.lab.replica_content(item.replica_id) == at_point[name]
    assert lab.recorder.events == expected_events("unplanned")


def test_a_plan_that_cannot_run_in_a_mode_is_refused_before_anything_is_touched(
    lab: PlanLab,
) -> None:
    first = lab.runner.run("erp", FailoverMode.TEST)
    assert first.state is JobState.SUCCEEDED
    with pytest.raises(PlanError) as raised:
        lab.runner.submit("erp", FailoverMode.TEST)
    lines = str(raised.value).splitlines()
    assert lines[0] == "recovery plan 'erp' cannot run as test failover:"
    assert len(lines) == 7
    assert lines[1].startswith(f"machine 'db01': db01 ({lab.items['db01']})")
    assert len(lab.jobs.list()) == 1
