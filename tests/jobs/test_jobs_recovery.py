"""Recovery after the service dies: nothing stays running forever."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from provider.jobs import JobService, RecoveryReport, TaskContext, WaitForOperator
from provider.model.job import Job, JobState, Task, TaskState
from provider.store import VaultStore

WORKER = Path(__file__).with_name("job_worker.py")
ROOT = Path(__file__).resolve().parents[2]
TASKS = [("t1", "copy disk 1"), ("t2", "copy disk 2"), ("t3", "copy disk 3")]


class Recorder:
    def __init__(self) -> None:
        self.ran: list[str] = []

    def __call__(self, job: Job, task: Task, context: TaskContext) -> None:
        self.ran.append(task.task_id)


def _service(store: VaultStore, recorder: Recorder, *, resumable: bool) -> JobService:
    service = JobService(store, clock=lambda: 500.0)
    service.register("copy", recorder, resumable=resumable)
    return service


def _kill_mid_job(store_url: str, job_id: str, tmp_path: Path) -> None:
    """Run the job in another process and SIGKILL it while task t2 runs."""
    marker = tmp_path / "t2.started"
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), store_url, job_id, str(marker)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(12000):
            if marker.exists() or worker.poll() is not None:
                break
            time.sleep(0.01)
        assert marker.exists(), worker.stderr.read() if worker.stderr else ""
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    assert worker.returncode == -signal.SIGKILL


def test_a_killed_service_leaves_the_job_running_in_the_store(
    store: VaultStore, store_url: str, tmp_path: Path
) -> None:
    service = _service(store, Recorder(), resumable=False)
    job = service.submit("copy", "vm01", TASKS)
    _kill_mid_job(store_url, job.job_id, tmp_path)
    left = service.get(job.job_id)
    assert left.state is JobState.RUNNING
    assert [(t.state, t.progress) for t in left.tasks] == [
        (TaskState.DONE, 1.0),
        (TaskState.RUNNING, 0.25),
        (TaskState.PENDING, 0.0),
    ]
    assert left.tasks[1].output == "worker ran t2\n"


def test_a_resumable_job_is_requeued_from_its_last_done_task(
    store: VaultStore, store_url: str, tmp_path: Path
) -> None:
    recorder = Recorder()
    service = _service(store, recorder, resumable=True)
    job = service.submit("copy", "vm01", TASKS)
    _kill_mid_job(store_url, job.job_id, tmp_path)
    assert service.recover() == RecoveryReport(requeued=(job.job_id,))
    queued = service.get(job.job_id)
    assert queued.state is JobState.QUEUED
    assert [(t.state, t.progress) for t in queued.tasks] == [
        (TaskState.DONE, 1.0),
        (TaskState.PENDING, 0.0),
        (TaskState.PENDING, 0.0),
    ]
    done = service.run(job.job_id)
    assert recorder.ran == ["t2", "t3"]
    assert done.state is JobState.SUCCEEDED


def test_a_job_that_cannot_resume_fails_with_instructions(
    store: VaultStore, store_url: str, tmp_path: Path
) -> None:
    recorder = Recorder()
    service = _service(store, recorder, resumable=False)
    job = service.submit("copy", "vm01", TASKS)
    _kill_mid_job(store_url, job.job_id, tmp_path)
    assert service.recover() == RecoveryReport(failed=(job.job_id,))
    failed = service.get(job.job_id)
    assert failed.state is JobState.FAILED
    assert failed.finished_at == 500.0
    assert failed.error == (
        "interrupted: the service stopped during task copy disk 2; "
        f"resume it with `srp job resume {job.job_id}`"
    )
    assert [t.state for t in failed.tasks] == [TaskState.DONE, TaskState.FAILED, TaskState.PENDING]
    assert failed.tasks[1].error == "interrupted: the service stopped during this task"
    resumed = service.resume(job.job_id, retry=True)
    assert recorder.ran == ["t2", "t3"]
    assert resumed.state is JobState.SUCCEEDED


def _left_running(store: VaultStore, service: JobService, states: list[TaskState]) -> Job:
    """A job as a dead process would leave it: running, tasks in ``states``."""
    job = service.submit("copy", "vm01", TASKS)
    with store.unit() as tx:
        tx.jobs.save_state(job.moved_to(JobState.RUNNING, started_at=1.0))
        for task, state in zip(job.tasks, states, strict=True):
            tx.jobs.save_task(job.job_id, Task(task.task_id, task.name, state))
    return service.get(job.job_id)


def test_a_job_that_died_between_tasks_blames_the_next_one(store: VaultStore) -> None:
    service = _service(store, Recorder(), resumable=False)
    job = _left_running(store, service, [TaskState.DONE, TaskState.PENDING, TaskState.PENDING])
    assert service.recover() == RecoveryReport(failed=(job.job_id,))
    failed = service.get(job.job_id)
    assert failed.error.startswith("interrupted: the service stopped during task copy disk 2;")
    assert [t.state for t in failed.tasks] == [TaskState.DONE, TaskState.FAILED, TaskState.PENDING]


def test_a_job_that_died_after_its_last_task_succeeds(store: VaultStore) -> None:
    service = _service(store, Recorder(), resumable=False)
    job = _left_running(store, service, [TaskState.DONE, TaskState.SKIPPED, TaskState.DONE])
    assert service.recover() == RecoveryReport(succeeded=(job.job_id,))
    assert service.get(job.job_id).state is JobState.SUCCEEDED


def test_a_job_whose_cancel_was_requested_is_cancelled(store: VaultStore) -> None:
    service = _service(store, Recorder(), resumable=True)
    job = _left_running(store, service, [TaskState.DONE, TaskState.RUNNING, TaskState.PENDING])
    service.cancel(job.job_id)
    assert service.recover() == RecoveryReport(cancelled=(job.job_id,))
    cancelled = service.get(job.job_id)
    assert cancelled.state is JobState.CANCELLED
    assert [t.state for t in cancelled.tasks] == [
        TaskState.DONE,
        TaskState.PENDING,
        TaskState.PENDING,
    ]


def test_a_job_of_an_unknown_kind_fails(store: VaultStore) -> None:
    service = _service(store, Recorder(), resumable=True)
    job = _left_running(store, service, [TaskState.RUNNING, TaskState.PENDING, TaskState.PENDING])
    other = JobService(store)
    assert other.recover() == RecoveryReport(failed=(job.job_id,))
    assert other.get(job.job_id).state is JobState.FAILED


def test_queued_and_waiting_jobs_are_left_as_they_are(store: VaultStore) -> None:
    recorder = Recorder()
    service = _service(store, recorder, resumable=False)
    queued = service.submit("copy", "vm01", TASKS)
    waiting = JobService(store)
    waiting.register("approve", lambda job, task, context: WaitForOperator("approve"))
    paused = waiting.run(waiting.submit("approve", "plan", [("a", "approve")]).job_id)
    assert service.recover() == RecoveryReport(requeued=(queued.job_id,))
    assert service.get(queued.job_id).state is JobState.QUEUED
    assert service.get(paused.job_id).state is JobState.WAITING
    assert recorder.ran == []
