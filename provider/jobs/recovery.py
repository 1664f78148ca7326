"""Recovery after a restart: no job stays ``running`` once its process is gone.

A job found running was interrupted. If its kind is resumable, its
interrupted tasks go back to pending and the job is requeued: tasks already
done are not run again. Otherwise the interrupted task and the job fail
with a message telling the operator how to resume. A job whose cancel was
requested is cancelled; a job whose tasks had all finished succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass

from provider.jobs.handlers import HandlerRegistry
from provider.jobs.ledger import JobLedger
from provider.model.job import Job, JobState, TaskState
from provider.store.unit import Unit

INTERRUPTED_TASK = "interrupted: the service stopped during this task"


@dataclass(frozen=True)
class RecoveryReport:
    """Job ids by what recovery did with them (queued ones are ready to run)."""

    requeued: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()
    succeeded: tuple[str, ...] = ()


def interrupted_message(job_id: str, task_name: str) -> str:
    return (
        f"interrupted: the service stopped during task {task_name}; "
        f"resume it with `srp job resume {job_id}`"
    )


def recover_jobs(ledger: JobLedger, handlers: HandlerRegistry, now: float) -> RecoveryReport:
    """Settle every running job and list the queued ones."""
    outcome: dict[JobState, list[str]] = {state: [] for state in JobState}
    for job in _unfinished(ledger):
        if job.state is JobState.QUEUED:
            outcome[JobState.QUEUED].append(job.job_id)
            continue
        spec = handlers.find(job.kind)
        settled = _settle(ledger, job.job_id, spec is not None and spec.resumable, now)
        outcome[settled.state].append(job.job_id)
        ledger.state_changed(settled, job.state)
    return RecoveryReport(
        requeued=tuple(outcome[JobState.QUEUED]),
        failed=tuple(outcome[JobState.FAILED]),
        cancelled=tuple(outcome[JobState.CANCELLED]),
        succeeded=tuple(outcome[JobState.SUCCEEDED]),
    )


def _unfinished(ledger: JobLedger) -> list[Job]:
    with ledger.store.read() as tx:
        # Oldest first: requeued jobs then run in the order they were submitted.
        return list(reversed(tx.jobs.list([JobState.RUNNING, JobState.QUEUED])))


def _settle(ledger: JobLedger, job_id: str, resumable: bool, now: float) -> Job:
    with ledger.store.unit() as tx:
        job = tx.jobs.get(job_id, lock=True)
        if job.state is not JobState.RUNNING:
            return job
        if tx.jobs.cancel_requested(job_id):
            _return_running(tx, job)
            return _end(tx, job, JobState.CANCELLED, "", now)
        if all(t.state in (TaskState.DONE, TaskState.SKIPPED) for t in job.tasks):
            return _end(tx, job, JobState.SUCCEEDED, "", now)
        if resumable:
            _return_running(tx, job)
            queued = job.moved_to(JobState.QUEUED)
            tx.jobs.save_state(queued)
            return queued
        return _fail(tx, job, now)


def _return_running(tx: Unit, job: Job) -> None:
    for task in job.tasks:
        if task.state is TaskState.RUNNING:
            tx.jobs.save_task(job.job_id, task.moved_to(TaskState.PENDING, progress=0.0))


def _fail(tx: Unit, job: Job, now: float) -> Job:
    running = [t for t in job.tasks if t.state is TaskState.RUNNING]
    # Died between two tasks: the next one is where the job stopped.
    blamed = running or [t for t in job.tasks if t.state is TaskState.PENDING][:1]
    for task in blamed:
        tx.jobs.save_task(job.job_id, task.moved_to(TaskState.FAILED, error=INTERRUPTED_TASK))
    return _end(tx, job, JobState.FAILED, interrupted_message(job.job_id, blamed[0].name), now)


def _end(tx: Unit, job: Job, state: JobState, error: str, now: float) -> Job:
    tx.jobs.set_cancel_requested(job.job_id, False)
    ended = job.moved_to(state, error=error, finished_at=now)
    tx.jobs.save_state(ended)
    return tx.jobs.get(job.job_id)
