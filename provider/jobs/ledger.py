"""Every change of a job or a task: one store unit each, then the observers.

Observers run after the unit commits, so a slow or failing observer never
holds the vault's write lock nor undoes a recorded change; an observer that
raises is logged and ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from provider.contracts.events import JobProgress, JobStateChange
from provider.errors import NotFound
from provider.model.job import Job, JobState, Task, TaskState
from provider.store.vaultstore import VaultStore

log = logging.getLogger(__name__)
E = TypeVar("E")

ProgressObserver = Callable[[JobProgress], None]
StateObserver = Callable[[JobStateChange], None]


def task_of(job: Job, task_id: str) -> Task:
    for task in job.tasks:
        if task.task_id == task_id:
            return task
    raise NotFound(f"job {job.job_id!r} has no task {task_id!r}")


class JobLedger:
    """Persists job and task transitions and tells the observers."""

    def __init__(
        self,
        store: VaultStore,
        on_progress: ProgressObserver | None = None,
        on_state: StateObserver | None = None,
    ) -> None:
        self.store = store
        self._on_progress = on_progress
        self._on_state = on_state

    def get(self, job_id: str) -> Job:
        with self.store.read() as tx:
            return tx.jobs.get(job_id)

    def move_job(self, job_id: str, state: JobState, **changes: object) -> Job:
        """Move the job (InvalidTransition if its table forbids it) and tell observers."""
        with self.store.unit() as tx:
            before = tx.jobs.get(job_id, lock=True)
            after = before.moved_to(state, **changes)
            tx.jobs.save_state(after)
        self.state_changed(after, before.state)
        return after

    def move_task(self, job_id: str, task_id: str, state: TaskState, **changes: object) -> Job:
        """Move one task; returns the job as it now is."""
        with self.store.unit() as tx:
            task = task_of(tx.jobs.get(job_id, lock=True), task_id).moved_to(state, **changes)
            tx.jobs.save_task(job_id, task)
            job = tx.jobs.get(job_id)
        self.progressed(job, task)
        return job

    def set_progress(self, job_id: str, task_id: str, fraction: float) -> None:
        with self.store.unit() as tx:
            task = replace(task_of(tx.jobs.get(job_id), task_id), progress=fraction)
            tx.jobs.save_task(job_id, task)
            job = tx.jobs.get(job_id)
        self.progressed(job, task)

    def append_output(self, job_id: str, task_id: str, text: str) -> None:
        with self.store.unit() as tx:
            tx.jobs.append_output(job_id, task_id, text)

    def cancel_requested(self, job_id: str) -> bool:
        with self.store.read() as tx:
            return tx.jobs.cancel_requested(job_id)

    def state_changed(self, job: Job, previous: JobState) -> None:
        if self._on_state is not None:
            self._notify(self._on_state, JobStateChange(job, previous))

    def progressed(self, job: Job, task: Task | None) -> None:
        if self._on_progress is not None:
            self._notify(self._on_progress, JobProgress(job, task))

    @staticmethod
    def _notify(observer: Callable[[E], None], event: E) -> None:
        try:
            observer(event)
        except Exception:
            log.exception("a job observer failed on %s; the job goes on", type(event).__name__)
