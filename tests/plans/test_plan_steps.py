"""Plan actions (scripts, hooks, manual steps), failed steps retried or skipped, cancel, restart."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from provider.contracts.declarations import FailoverMode
from provider.contracts.events import ActionOutcome, PlanActionContext
from provider.errors import JobError
from provider.jobs import JobService
from provider.model.job import Job, JobState, TaskState
from provider.model.states import ReplicationState
from provider.plans import PlanRunner
from tests.plans.plan_testkit import PlanLab, plan_lab

NAMES = ("db01", "web01")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[PlanLab]:
    with plan_lab(tmp_path, NAMES) as made:
        yield made


def two_groups(between: str) -> str:
    """db01, then the post actions ``between`` of group 1, then web01."""
    return f"""
name = "erp"

[[groups]]
name = "databases"
machines = ["db01"]
{between}

[[groups]]
name = "web"
machines = ["web01"]
"""


def script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
    path.chmod(0o755)
    return path


def post_script(path: Path, timeout: int = 30) -> str:
    return f"""
[[groups.post]]
name = "check"
kind = "script"
command = ["{path}", "one two"]
timeout_sec = {timeout}
"""


def states(lab: PlanLab) -> dict[str, ReplicationState]:
    return {name: lab.lab.item(lab.items[name]).state for name in NAMES}


def task(job: Job, task_id: str) -> tuple[TaskState, str, str]:
    (found,) = [t for t in job.tasks if t.task_id == task_id]
    return found.state, found.error, found.output


def test_a_script_runs_without_a_shell_and_its_output_is_kept(lab: PlanLab, tmp_path: Path) -> None:
    body = (
        "import os, sys\n"
        "print('args', sys.argv[1:], os.environ['SRP_PLAN'], os.environ['SRP_GROUP'])\n"
        "print('careful', file=sys.stderr)\n"
    )
    path = script(tmp_path, "ok.py", body)
    lab.store_plan(two_groups(post_script(path)))
    job = lab.runner.run("erp", FailoverMode.TEST)
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    assert [t.task_id for t in job.tasks] == [
        f"g1-item-{lab.items['db01']}",
        "g1-post-1",
        f"g2-item-{lab.items['web01']}",
    ]
    assert job.tasks[1].name == "group 1 databases: post action check (script)"
    assert task(job, "g1-post-1") == (
        TaskState.DONE,
        "",
        f"running {path} 'one two' (timeout 30 s)\n"
        "stdout:\nargs ['one two'] erp databases\n"
        "stderr:\ncareful\n"
        "exit code 0\n",
    )


def test_a_script_exiting_non_zero_stops_the_plan_between_groups(
    lab: PlanLab, tmp_path: Path
) -> None:
    path = script(tmp_path, "bad.py", "print('no quorum')\nraise SystemExit(3)\n")
    lab.store_plan(two_groups(post_script(path)))
    job = lab.runner.run("erp", FailoverMode.TEST)
    assert (job.state, job.error) == (
        JobState.FAILED,
        "task group 1 databases: post action check (script) failed: "
        "script action 'check' exited with code 3",
    )
    assert task(job, "g1-post-1")[2].endswith("stdout:\nno quorum\n")
    assert states(lab) == {
        "db01": ReplicationState.TEST_FAILOVER,
        "web01": ReplicationState.PROTECTED,
    }
    assert lab.recorder.events == [
        ("before", "databases", "test", ""),
        ("after", "databases", "test", "script action 'check' exited with code 3"),
    ]


def test_a_hanging_script_is_killed_at_its_timeout(lab: PlanLab, tmp_path: Path) -> None:
    path = script(
        tmp_path, "hang.py", "import time\nprint('started', flush=True)\ntime.sleep(60)\n"
    )
    lab.store_plan(two_groups(post_script(path, timeout=1)))
    job = lab.runner.run("erp", FailoverMode.TEST)
    assert (job.state, job.error) == (
        JobState.FAILED,
        "task group 1 databases: post action check (script) failed: "
        "script action 'check' did not finish within 1 s and was killed",
    )
    assert task(job, "g1-post-1")[2] == (
        f"running {path} 'one two' (timeout 1 s)\nstdout:\nstarted\n"
    )
    assert states(lab)["web01"] is ReplicationState.PROTECTED


def test_a_failed_step_is_retried_then_the_plan_goes_on(lab: PlanLab, tmp_path: Path) -> None:
    flag = tmp_path / "ready"
    body = f"import pathlib\nraise SystemExit(0 if pathlib.Path({str(flag)!r}).exists() else 1)\n"
    lab.store_plan(two_groups(post_script(script(tmp_path, "gate.py", body))))
    failed = lab.runner.run("erp", FailoverMode.TEST)
    assert failed.state is JobState.FAILED
    with pytest.raises(JobError, match="resume it with either retry or skip"):
        lab.runner.resume(failed.job_id)
    flag.touch()
    job = lab.runner.resume(failed.job_id, retry=True)
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    assert [t.state for t in job.tasks] == [TaskState.DONE] * 3
    assert states(lab) == dict.fromkeys(NAMES, ReplicationState.TEST_FAILOVER)


def test_a_failed_step_can_be_skipped(lab: PlanLab, tmp_path: Path) -> None:
    lab.store_plan(two_groups(post_script(script(tmp_path, "no.py", "raise SystemExit(1)\n"))))
    failed = lab.runner.run("erp", FailoverMode.TEST)
    job = lab.runner.resume(failed.job_id, skip=True)
    assert job.state is JobState.SUCCEEDED
    assert [t.state for t in job.tasks] == [TaskState.DONE, TaskState.SKIPPED, TaskState.DONE]
    assert task(job, "g1-post-1")[1] == "script action 'check' exited with code 1"
    assert states(lab) == dict.fromkeys(NAMES, ReplicationState.TEST_FAILOVER)


MANUAL = """
[[groups.post]]
name = "dns"
kind = "manual"
message = "point DNS at the replicas, then resume"
"""


def test_a_manual_action_pauses_the_plan_until_an_operator_resumes_it(lab: PlanLab) -> None:
    lab.store_plan(two_groups(MANUAL))
    waiting = lab.runner.run("erp", FailoverMode.TEST)
    assert waiting.state is JobState.WAITING
    assert task(waiting, "g1-post-1") == (
        TaskState.RUNNING,
        "",
        "waiting for an operator: point DNS at the replicas, then resume\n",
    )
    assert states(lab)["web01"] is ReplicationState.PROTECTED
    job = lab.runner.resume(waiting.job_id)
    assert job.state is JobState.SUCCEEDED
    assert states(lab) == dict.fromkeys(NAMES, ReplicationState.TEST_FAILOVER)
    assert lab.recorder.events == [
        ("before", "databases", "test", ""),
        ("after", "databases", "test", ""),
        ("before", "web", "test", ""),
        ("after", "web", "test", ""),
    ]


HOOK = """
[[groups.pre]]
name = "drain-lb"
kind = "hook"
"""


def test_a_hook_action_is_answered_by_a_plugin(lab: PlanLab) -> None:
    seen: list[tuple[str, str, str]] = []

    def drain(context: PlanActionContext) -> ActionOutcome:
        seen.append((context.plan.name, context.group.name, context.mode.value))
        return ActionOutcome(True, "load balancer drained")

    lab.recorder.answers["drain-lb"] = drain
    lab.store_plan(two_groups(HOOK))
    job = lab.runner.run("erp", FailoverMode.TEST)
    assert job.state is JobState.SUCCEEDED
    assert job.tasks[0].task_id == "g1-pre-1"
    assert task(job, "g1-pre-1") == (
        TaskState.DONE,
        "",
        "load balancer drained\nhook action drain-lb succeeded\n",
    )
    assert seen == [("erp", "databases", "test")]


def test_a_hook_action_nobody_answers_fails_naming_it(lab: PlanLab) -> None:
    lab.store_plan(two_groups(HOOK))
    job = lab.runner.run("erp", FailoverMode.TEST)
    assert (job.state, job.error) == (
        JobState.FAILED,
        "task group 1 databases: pre action drain-lb (hook) failed: hook action 'drain-lb': "
        "no plugin answers it (install or enable the plugin that provides it)",
    )
    assert states(lab) == dict.fromkeys(NAMES, ReplicationState.PROTECTED)


def test_an_operator_cancelling_mid_plan_stops_before_the_next_step(lab: PlanLab) -> None:
    def cancel(context: PlanActionContext) -> ActionOutcome:
        (running,) = lab.jobs.list([JobState.RUNNING])
        lab.jobs.cancel(running.job_id)  # the operator, while the hook runs
        return ActionOutcome(True)

    lab.recorder.answers["drain-lb"] = cancel
    lab.store_plan(two_groups(HOOK.replace("groups.pre", "groups.post")))
    job = lab.runner.run("erp", FailoverMode.TEST)
    assert job.state is JobState.CANCELLED
    assert [t.state for t in job.tasks] == [TaskState.DONE, TaskState.DONE, TaskState.PENDING]
    assert states(lab) == {
        "db01": ReplicationState.TEST_FAILOVER,
        "web01": ReplicationState.PROTECTED,
    }


class Crash(BaseException):
    """The service process dying in the middle of a step."""


def test_a_plan_resumes_after_a_restart_from_its_last_completed_step(lab: PlanLab) -> None:
    def crash(context: PlanActionContext) -> ActionOutcome:
        raise Crash()

    lab.recorder.answers["drain-lb"] = crash
    lab.store_plan(two_groups(HOOK.replace("groups.pre", "groups.post")))
    with pytest.raises(Crash):
        lab.runner.run("erp", FailoverMode.TEST)
    (left,) = lab.jobs.list([JobState.RUNNING])
    # A new process: a new job service and runner on the same vault.
    jobs = JobService(lab.lab.store, clock=lab.lab.virtual_clock.now)
    PlanRunner(lab.lab.ctx, jobs)
    assert jobs.recover().requeued == (left.job_id,)
    lab.recorder.answers["drain-lb"] = lambda context: ActionOutcome(True, "drained")
    lab.recorder.events.clear()
    job = jobs.run(left.job_id)
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    assert task(job, "g1-post-1") == (
        TaskState.DONE,
        "",
        "drained\nhook action drain-lb succeeded\n",
    )
    assert lab.recorder.events == [
        ("after", "databases", "test", ""),
        ("before", "web", "test", ""),
        ("after", "web", "test", ""),
    ]
    assert states(lab) == dict.fromkeys(NAMES, ReplicationState.TEST_FAILOVER)
