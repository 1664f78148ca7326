"""Durable jobs: submit, run, cancel, resume, and recover after a restart.

Every move of a job or a task is written to the vault before the next step
starts, so another process (the CLI, the API) always sees where a job is,
and a restarted service can tell what was interrupted (see ``recovery``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence

from provider.errors import JobError, ValidationError
from provider.jobs.context import PROGRESS_INTERVAL_SEC
from provider.jobs.handlers import Handler, HandlerRegistry, HandlerSpec
from provider.jobs.ledger import JobLedger, ProgressObserver, StateObserver
from provider.jobs.recovery import RecoveryReport, recover_jobs
from provider.jobs.runner import Outcome, Stop, TaskRunner
from provider.model.job import Job, JobState, Task, TaskState
from provider.store.vaultstore import VaultStore

_RESUMABLE = (JobState.FAILED, JobState.WAITING)
_CANCELLABLE_AT_ONCE = (JobState.QUEUED, JobState.WAITING)


class JobService:
    """Runs durable jobs on the vault store with per-kind handlers."""

    def __init__(
        self,
        store: VaultStore,
        *,
        on_progress: ProgressObserver | None = None,
        on_state: StateObserver | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        progress_interval: float = PROGRESS_INTERVAL_SEC,
    ) -> None:
        self._ledger = JobLedger(store, on_progress, on_state)
        self._handlers = HandlerRegistry()
        self._runner = TaskRunner(
            self._ledger, progress_interval=progress_interval, monotonic=monotonic
        )
        self._clock = clock

    def register(self, kind: str, handler: Handler, *, resumable: bool = False) -> None:
        """Handle jobs of ``kind``; ``resumable`` when re-running a task is safe."""
        self._handlers.register(kind, handler, resumable=resumable)

    def submit(
        self,
        kind: str,
        target: str,
        tasks: Sequence[tuple[str, str]],
        params: Mapping[str, str] | None = None,
        *,
        concurrency: int = 1,
    ) -> Job:
        """Record a queued job with its (task_id, name) tasks; ``run`` executes it."""
        self._handlers.get(kind)
        if isinstance(concurrency, bool) or concurrency < 1:
            raise ValidationError(f"job concurrency must be 1 or more, got {concurrency!r}")
        job = Job(
            job_id=uuid.uuid4().hex,
            kind=kind,
            target=target,
            tasks=tuple(Task(task_id, name) for task_id, name in tasks),
            created_at=self._clock(),
            params=tuple(sorted((params or {}).items())),
        )
        with self._ledger.store.unit() as tx:
            tx.jobs.add(job, concurrency)
        return job

    def get(self, job_id: str) -> Job:
        return self._ledger.get(job_id)

    def list(self, states: Sequence[JobState] | None = None) -> list[Job]:
        """Jobs, newest first."""
        with self._ledger.store.read() as tx:
            return tx.jobs.list(states)

    def run(self, job_id: str) -> Job:
        """Run a queued job until it succeeds, fails, waits or is cancelled."""
        job = self._ledger.get(job_id)
        spec = self._handlers.get(job.kind)
        if job.state is not JobState.QUEUED:
            raise JobError(f"job {job_id} is {job.state}; only a queued job can be run")
        started = job.started_at if job.started_at is not None else self._clock()
        self._ledger.move_job(job_id, JobState.RUNNING, started_at=started)
        return self._drive(job_id, spec)

    def cancel(self, job_id: str) -> Job:
        """Cancel now (queued, waiting) or before the next task starts (running)."""
        job = self._ledger.get(job_id)
        if job.state is JobState.RUNNING:
            with self._ledger.store.unit() as tx:
                tx.jobs.set_cancel_requested(job_id, True)
            return self._ledger.get(job_id)
        if job.state not in _CANCELLABLE_AT_ONCE:
            raise JobError(
                f"job {job_id} is {job.state}; only a queued, running or waiting job can be "
                "cancelled"
            )
        self._return_running_tasks(job)
        return self._ledger.move_job(job_id, JobState.CANCELLED, finished_at=self._clock())

    def resume(self, job_id: str, *, retry: bool = False, skip: bool = False) -> Job:
        """Continue a waiting job, or a failed one by retrying or skipping its failed task."""
        job = self._ledger.get(job_id)
        spec = self._handlers.get(job.kind)
        if job.state not in _RESUMABLE:
            raise JobError(
                f"job {job_id} is {job.state}; only a failed or waiting job can be resumed"
            )
        if job.state is JobState.WAITING:
            self._release_waiting(job, retry=retry, skip=skip)
        else:
            self._settle_failed(job, retry=retry, skip=skip)
        self._ledger.move_job(job_id, JobState.RUNNING, error="", finished_at=None)
        return self._drive(job_id, spec)

    def recover(self) -> RecoveryReport:
        """After a restart: requeue or fail every job the previous process left running."""
        return recover_jobs(self._ledger, self._handlers, self._clock())

    def _drive(self, job_id: str, spec: HandlerSpec) -> Job:
        with self._ledger.store.read() as tx:
            width = tx.jobs.concurrency(job_id)
        return self._conclude(job_id, self._runner.run(job_id, spec, width))

    def _conclude(self, job_id: str, outcome: Outcome) -> Job:
        now = self._clock()
        if outcome.stop is Stop.WAITING:
            return self._ledger.move_job(job_id, JobState.WAITING)
        self._return_running_tasks(self._ledger.get(job_id))
        with self._ledger.store.unit() as tx:
            tx.jobs.set_cancel_requested(job_id, False)
        if outcome.stop is Stop.FAILED:
            error = f"task {outcome.task_name} failed: {outcome.message}"
            return self._ledger.move_job(job_id, JobState.FAILED, error=error, finished_at=now)
        if outcome.stop is Stop.CANCELLED:
            return self._ledger.move_job(job_id, JobState.CANCELLED, finished_at=now)
        return self._ledger.move_job(job_id, JobState.SUCCEEDED, finished_at=now)

    def _release_waiting(self, job: Job, *, retry: bool, skip: bool) -> None:
        if retry or skip:
            raise JobError(f"job {job.job_id} is waiting for an operator; resume it plainly")
        # The operator did the manual step: the task that asked for it is done.
        for task in job.tasks:
            if task.state is TaskState.RUNNING:
                self._ledger.move_task(job.job_id, task.task_id, TaskState.DONE, progress=1.0)

    def _settle_failed(self, job: Job, *, retry: bool, skip: bool) -> None:
        if retry == skip:
            raise JobError(
                f"job {job.job_id} failed: resume it with either retry or skip",
                hint=f"{job.error}" if job.error else None,
            )
        for task in job.tasks:
            if task.state is not TaskState.FAILED:
                continue
            if retry:
                self._ledger.move_task(
                    job.job_id, task.task_id, TaskState.PENDING, progress=0.0, error=""
                )
            else:
                # A skipped task keeps its error: the job's record says why it was skipped.
                self._ledger.move_task(job.job_id, task.task_id, TaskState.SKIPPED)

    def _return_running_tasks(self, job: Job) -> None:
        # A task still RUNNING when a job stops (a waiting one, or a sibling
        # of a failed parallel task that never finished) runs again next time.
        for task in job.tasks:
            if task.state is TaskState.RUNNING:
                self._ledger.move_task(job.job_id, task.task_id, TaskState.PENDING, progress=0.0)
