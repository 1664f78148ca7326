"""Durable jobs: running, failing, resuming, cancelling, waiting, observing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from provider.contracts.events import JobProgress, JobStateChange
from provider.errors import AlreadyExists, InvalidTransition, JobError, ValidationError
from provider.jobs import JobService, TaskContext, WaitForOperator
from provider.model.job import Job, JobState, Task, TaskState
from provider.store import VaultStore

TASKS = [("t1", "copy disk 1"), ("t2", "copy disk 2"), ("t3", "copy disk 3")]


class Clock:
    """Manual clock: time moves only when a test says so."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A handler that records the tasks it ran and can be told what to do per task."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.actions: dict[str, Callable[[Job, Task, TaskContext], WaitForOperator | None]] = {}

    def __call__(self, job: Job, task: Task, context: TaskContext) -> WaitForOperator | None:
        self.ran.append(task.task_id)
        action = self.actions.pop(task.task_id, None)
        return None if action is None else action(job, task, context)


def _fail(message: str) -> Callable[[Job, Task, TaskContext], None]:
    def action(job: Job, task: Task, context: TaskContext) -> None:
        raise RuntimeError(message)

    return action


def _service(store: VaultStore, recorder: Recorder, **options: object) -> JobService:
    service = JobService(store, clock=Clock(), **options)  # type: ignore[arg-type]
    service.register("copy", recorder)
    return service


def test_a_job_runs_its_tasks_in_order(store: VaultStore) -> None:
    recorder = Recorder()
    service = _service(store, recorder)
    job = service.submit("copy", "vm01", TASKS, {"policy": "gold", "mode": "full"})
    assert job.state is JobState.QUEUED
    assert job.params == (("mode", "full"), ("policy", "gold"))
    done = service.run(job.job_id)
    assert recorder.ran == ["t1", "t2", "t3"]
    assert done.state is JobState.SUCCEEDED
    assert (done.created_at, done.started_at, done.finished_at) == (100.0, 100.0, 100.0)
    assert [(t.state, t.progress) for t in done.tasks] == [(TaskState.DONE, 1.0)] * 3
    assert service.get(job.job_id) == done
    assert service.list() == [done]
    assert service.list([JobState.FAILED]) == []


def test_submit_refuses_unknown_kinds_and_bad_concurrency(store: VaultStore) -> None:
    service = _service(store, Recorder())
    with pytest.raises(JobError) as caught:
        service.submit("fly", "vm01", TASKS)
    assert str(caught.value) == "no handler for job kind 'fly' (known kinds: copy)"
    with pytest.raises(ValidationError) as bad:
        service.submit("copy", "vm01", TASKS, concurrency=0)
    assert str(bad.value) == "job concurrency must be 1 or more, got 0"
    with pytest.raises(AlreadyExists) as twice:
        service.register("copy", Recorder())
    assert str(twice.value) == "job kind 'copy' already has a handler"
    assert service.list() == []


def test_only_a_queued_job_can_be_run(store: VaultStore) -> None:
    service = _service(store, Recorder())
    job = service.run(service.submit("copy", "vm01", TASKS).job_id)
    with pytest.raises(JobError) as caught:
        service.run(job.job_id)
    assert str(caught.value) == f"job {job.job_id} is succeeded; only a queued job can be run"


def test_a_failed_task_fails_the_job_and_stops_it(store: VaultStore) -> None:
    recorder = Recorder()
    recorder.actions["t2"] = _fail("disk 2 is gone")
    service = _service(store, recorder)
    job = service.run(service.submit("copy", "vm01", TASKS).job_id)
    assert recorder.ran == ["t1", "t2"]
    assert job.state is JobState.FAILED
    assert job.error == "task copy disk 2 failed: RuntimeError: disk 2 is gone"
    assert [t.state for t in job.tasks] == [TaskState.DONE, TaskState.FAILED, TaskState.PENDING]
    assert job.tasks[1].error == "RuntimeError: disk 2 is gone"


def test_an_srp_error_keeps_its_own_message(store: VaultStore) -> None:
    recorder = Recorder()

    def refuse(job: Job, task: Task, context: TaskContext) -> None:
        raise JobError("target full", hint="free some space")

    recorder.actions["t1"] = refuse
    service = _service(store, recorder)
    job = service.run(service.submit("copy", "vm01", TASKS).job_id)
    assert job.error == "task copy disk 1 failed: target full (free some space)"


def test_resume_with_retry_runs_the_failed_task_again(store: VaultStore) -> None:
    recorder = Recorder()
    recorder.actions["t2"] = _fail("flaky")
    service = _service(store, recorder)
    job = service.run(service.submit("copy", "vm01", TASKS).job_id)
    resumed = service.resume(job.job_id, retry=True)
    assert recorder.ran == ["t1", "t2", "t2", "t3"]
    assert resumed.state is JobState.SUCCEEDED
    assert resumed.error == ""
    assert [t.state for t in resumed.tasks] == [TaskState.DONE] * 3


def test_resume_with_skip_goes_past_the_failed_task(store: VaultStore) -> None:
    recorder = Recorder()
    recorder.actions["t2"] = _fail("broken")
    service = _service(store, recorder)
    job = service.run(service.submit("copy", "vm01", TASKS).job_id)
    resumed = service.resume(job.job_id, skip=True)
    assert recorder.ran == ["t1", "t2", "t3"]
    assert resumed.state is JobState.SUCCEEDED
    assert [t.state for t in resumed.tasks] == [TaskState.DONE, TaskState.SKIPPED, TaskState.DONE]
    assert resumed.tasks[1].error == "RuntimeError: broken"


def test_resume_needs_exactly_one_of_retry_and_skip(store: VaultStore) -> None:
    recorder = Recorder()
    recorder.actions["t1"] = _fail("x")
    service = _service(store, recorder)
    job = service.run(service.submit("copy", "vm01", TASKS).job_id)
    for flags in ({}, {"retry": True, "skip": True}):
        with pytest.raises(JobError) as caught:
            service.resume(job.job_id, **flags)
        assert str(caught.value) == (
            f"job {job.job_id} failed: resume it with either retry or skip "
            "(task copy disk 1 failed: RuntimeError: x)"
        )
    assert service.get(job.job_id).state is JobState.FAILED


def test_a_finished_job_cannot_be_resumed_or_cancelled(store: VaultStore) -> None:
    service = _service(store, Recorder())
    job = service.run(service.submit("copy", "vm01", TASKS).job_id)
    with pytest.raises(JobError) as resumed:
        service.resume(job.job_id, retry=True)
    assert str(resumed.value) == (
        f"job {job.job_id} is succeeded; only a failed or waiting job can be resumed"
    )
    with pytest.raises(JobError) as cancelled:
        service.cancel(job.job_id)
    assert str(cancelled.value) == (
        f"job {job.job_id} is succeeded; only a queued, running or waiting job can be cancelled"
    )


def test_cancelling_a_queued_job(store: VaultStore) -> None:
    recorder = Recorder()
    service = _service(store, recorder)
    job = service.cancel(service.submit("copy", "vm01", TASKS).job_id)
    assert job.state is JobState.CANCELLED
    assert job.finished_at == 100.0
    with pytest.raises(JobError):
        service.run(job.job_id)
    assert recorder.ran == []


def test_cancelling_a_running_job_stops_before_the_next_task(store: VaultStore) -> None:
    recorder = Recorder()
    service = _service(store, recorder)

    def cancel_me(job: Job, task: Task, context: TaskContext) -> None:
        cancelled = service.cancel(job.job_id)
        assert cancelled.state is JobState.RUNNING
        assert context.cancel_requested

    recorder.actions["t2"] = cancel_me
    job = service.run(service.submit("copy", "vm01", TASKS).job_id)
    assert recorder.ran == ["t1", "t2"]
    assert job.state is JobState.CANCELLED
    assert [t.state for t in job.tasks] == [TaskState.DONE, TaskState.DONE, TaskState.PENDING]
    with store.read() as tx:
        assert not tx.jobs.cancel_requested(job.job_id)


def test_a_task_waiting_for_an_operator_pauses_the_job(store: VaultStore) -> None:
    recorder = Recorder()
    recorder.actions["t2"] = lambda job, task, context: WaitForOperator("shut down the app")
    service = _service(store, recorder)
    job = service.run(service.submit("copy", "vm01", TASKS).job_id)
    assert job.state is JobState.WAITING
    assert job.tasks[1].state is TaskState.RUNNING
    assert job.tasks[1].output == "waiting for an operator: shut down the app\n"
    resumed = service.resume(job.job_id)
    assert recorder.ran == ["t1", "t2", "t3"]
    assert resumed.state is JobState.SUCCEEDED
    assert [t.state for t in resumed.tasks] == [TaskState.DONE] * 3


def test_a_raised_wait_works_like_a_returned_one(store: VaultStore) -> None:
    recorder = Recorder()

    def wait(job: Job, task: Task, context: TaskContext) -> None:
        raise WaitForOperator("check the replica")

    recorder.actions["t1"] = wait
    service = _service(store, recorder)
    job = service.run(service.submit("copy", "vm01", TASKS).job_id)
    assert job.state is JobState.WAITING
    with pytest.raises(JobError) as caught:
        service.resume(job.job_id, retry=True)
    assert str(caught.value) == (f"job {job.job_id} is waiting for an operator; resume it plainly")


def test_cancelling_a_waiting_job(store: VaultStore) -> None:
    recorder = Recorder()
    recorder.actions["t1"] = lambda job, task, context: WaitForOperator("approve")
    service = _service(store, recorder)
    job = service.run(service.submit("copy", "vm01", TASKS).job_id)
    cancelled = service.cancel(job.job_id)
    assert cancelled.state is JobState.CANCELLED
    assert [t.state for t in cancelled.tasks] == [TaskState.PENDING] * 3


def test_progress_is_throttled_and_output_appended(store: VaultStore) -> None:
    ticks = Clock(0.0)
    recorder = Recorder()
    seen: list[float] = []

    def copy(job: Job, task: Task, context: TaskContext) -> None:
        for fraction, at in ((0.1, 0.0), (0.2, 0.5), (0.3, 1.0), (0.4, 1.2), (0.5, 2.5)):
            ticks.now = at
            context.progress(fraction)
            seen.append(service.get(job.job_id).tasks[0].progress)
        context.log("copied 5 of 10 blocks")
        context.log("halfway\n")
        with pytest.raises(ValidationError):
            context.progress(1.5)

    recorder.actions["t1"] = copy
    service = _service(store, recorder, monotonic=ticks, progress_interval=1.0)
    job = service.run(service.submit("copy", "vm01", TASKS[:1]).job_id)
    assert seen == [0.1, 0.1, 0.3, 0.3, 0.5]
    assert job.tasks[0].output == "copied 5 of 10 blocks\nhalfway\n"


def test_observers_see_every_state_change_and_progress(store: VaultStore) -> None:
    states: list[tuple[JobState, JobState]] = []
    progress: list[tuple[str, TaskState, float]] = []

    def on_state(change: JobStateChange) -> None:
        states.append((change.previous, change.job.state))

    def on_progress(event: JobProgress) -> None:
        assert event.task is not None
        progress.append((event.task.task_id, event.task.state, event.task.progress))

    recorder = Recorder()
    recorder.actions["t1"] = lambda job, task, context: context.progress(0.5)
    service = _service(store, recorder, on_state=on_state, on_progress=on_progress)
    service.run(service.submit("copy", "vm01", TASKS[:2]).job_id)
    assert states == [
        (JobState.QUEUED, JobState.RUNNING),
        (JobState.RUNNING, JobState.SUCCEEDED),
    ]
    assert progress == [
        ("t1", TaskState.RUNNING, 0.0),
        ("t1", TaskState.RUNNING, 0.5),
        ("t1", TaskState.DONE, 1.0),
        ("t2", TaskState.RUNNING, 0.0),
        ("t2", TaskState.DONE, 1.0),
    ]


def test_a_failing_observer_does_not_stop_the_job(
    store: VaultStore, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("observer bug")

    service = _service(store, Recorder(), on_state=broken, on_progress=broken)
    job = service.run(service.submit("copy", "vm01", TASKS).job_id)
    assert job.state is JobState.SUCCEEDED
    assert "a job observer failed on JobStateChange; the job goes on" in caplog.text


def test_tasks_of_a_job_can_run_in_parallel(store: VaultStore) -> None:
    # Both tasks must be inside their handler at once to pass the barrier.
    barrier = threading.Barrier(2, timeout=60)
    recorder = Recorder()

    def meet(job: Job, task: Task, context: TaskContext) -> None:
        barrier.wait()

    recorder.actions["t1"] = meet
    recorder.actions["t2"] = meet
    service = _service(store, recorder)
    job = service.run(service.submit("copy", "vm01", TASKS, concurrency=2).job_id)
    assert job.state is JobState.SUCCEEDED
    assert sorted(recorder.ran) == ["t1", "t2", "t3"]


def test_a_parallel_failure_lets_running_siblings_finish(store: VaultStore) -> None:
    barrier = threading.Barrier(2, timeout=60)
    recorder = Recorder()

    def fail_together(job: Job, task: Task, context: TaskContext) -> None:
        barrier.wait()
        raise RuntimeError("boom")

    def finish_after_the_failure(job: Job, task: Task, context: TaskContext) -> None:
        barrier.wait()
        for _ in range(6000):
            if service.get(job.job_id).tasks[0].state is TaskState.FAILED:
                return
            time.sleep(0.01)
        raise AssertionError("t1 never failed")

    recorder.actions["t1"] = fail_together
    recorder.actions["t2"] = finish_after_the_failure
    service = _service(store, recorder)
    job = service.run(service.submit("copy", "vm01", TASKS, concurrency=2).job_id)
    assert job.state is JobState.FAILED
    assert [t.state for t in job.tasks] == [TaskState.FAILED, TaskState.DONE, TaskState.PENDING]
    assert sorted(recorder.ran) == ["t1", "t2"]


def test_illegal_moves_are_refused_by_the_model(store: VaultStore) -> None:
    service = _service(store, Recorder())
    job = service.submit("copy", "vm01", TASKS)
    with store.unit() as tx:
        tx.jobs.save_state(job.moved_to(JobState.RUNNING).moved_to(JobState.SUCCEEDED))
    with pytest.raises(InvalidTransition):
        service.get(job.job_id).moved_to(JobState.RUNNING)
