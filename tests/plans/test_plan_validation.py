"""A plan checked against the vault; a machine failing mid-group, retried."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import provider.plans.machines as plan_machines
from fakes.workload import write_pattern
from provider.contracts.declarations import FailoverMode
from provider.errors import FailoverError, PlanError
from provider.model.job import JobState, TaskState
from provider.model.states import ReplicationState
from provider.plans import parse_plan_text
from tests.plans.plan_testkit import DISK_SIZE, PlanLab, plan_lab

NAMES = ("db01", "web01", "web02")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[PlanLab]:
    with plan_lab(tmp_path, NAMES) as made:
        yield made


def test_every_problem_against_the_vault_is_listed(lab: PlanLab, tmp_path: Path) -> None:
    spare = lab.fabric.add_machine("spare01", disks=[DISK_SIZE])
    lab.fabric.add_machine("lab01", disks=[DISK_SIZE], networks=("net-lab",))
    lab.lab.refresh(lab.fabric_id)
    fresh = lab.fabric.add_machine("new01", disks=[DISK_SIZE])
    write_pattern(next(iter(fresh.disks.values())), 0, 4096, seed=9)
    lab.lab.refresh(lab.fabric_id)
    lab.lab.protect(lab.fabric_id, fresh.machine_id)
    lab01 = next(m for m in lab.fabric.machines.values() if m.name == "lab01")
    lab01_item = lab.lab.protect(lab.fabric_id, lab01.machine_id)
    lab.lab.cycle(lab01_item.item_id)
    not_executable = tmp_path / "check.sh"
    not_executable.write_text("#!/bin/sh\n", encoding="utf-8")
    plan = parse_plan_text(f"""
name = "erp"
[[groups]]
name = "a"
machines = ["db01", "{lab.items["db01"]}", "ghost", "{spare.machine_id}", "new01", "lab01"]
[[groups.post]]
name = "check"
kind = "script"
command = ["{not_executable}"]
""")
    target = lab.lab.target_id
    item = lab.items["db01"]
    assert lab.runner.problems(plan) == [
        f"group a: machine '{item}' is item {item}, already in the plan as 'db01'",
        "group a: machine 'ghost' is unknown: no protected item or discovered machine has "
        "that name",
        f"group a: machine '{spare.machine_id}' is not protected: protect it first",
        "group a: machine 'new01' is not protected: it is initial_replication",
        f"group a: machine 'lab01': NIC {lab01.machine_id}-nic0 is on network 'net-lab', "
        f"which has no network mapping to target {target}",
        f"group a: script action 'check': {not_executable} is not an executable file on the "
        "service's host",
    ]


def test_a_machine_failing_mid_group_stops_the_plan_and_a_retry_finishes_it(
    lab: PlanLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = plan_machines._OPERATIONS[FailoverMode.TEST]
    broken = {lab.items["web01"]}

    def flaky(ctx: object, item_id: str, options: object, reporter: object) -> object:
        if item_id in broken:
            raise FailoverError("compute quota exceeded (test switch)")
        return real(ctx, item_id, options, reporter)  # type: ignore[arg-type]

    monkeypatch.setitem(plan_machines._OPERATIONS, FailoverMode.TEST, flaky)
    lab.store_plan("""
name = "erp"
concurrency = 2
[[groups]]
name = "all"
machines = ["db01", "web01", "web02"]
""")
    failed = lab.runner.run("erp", FailoverMode.TEST)
    assert (failed.state, failed.error) == (
        JobState.FAILED,
        "task group 1 all: test failover of web01 failed: compute quota exceeded (test switch)",
    )
    assert [t.state for t in failed.tasks][:2] == [TaskState.DONE, TaskState.FAILED]
    # Started together with web01: never left half-way, whatever its task says.
    assert lab.lab.item(lab.items["web01"]).state is ReplicationState.PROTECTED
    assert lab.lab.item(lab.items["web02"]).state in (
        ReplicationState.PROTECTED,
        ReplicationState.TEST_FAILOVER,
    )
    broken.clear()
    job = lab.runner.resume(failed.job_id, retry=True)
    assert (job.state, [t.state for t in job.tasks]) == (JobState.SUCCEEDED, [TaskState.DONE] * 3)
    assert {lab.lab.item(i).state for i in lab.items.values()} == {ReplicationState.TEST_FAILOVER}
    with pytest.raises(PlanError, match="cannot run as test failover"):
        lab.runner.submit("erp", FailoverMode.TEST)
