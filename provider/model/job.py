"""Durable jobs: every long operation, with per-item tasks and progress."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from provider.errors import ValidationError
from provider.model.checks import require_id, require_text, require_unique
from provider.model.transitions import check_transition


class JobState(enum.StrEnum):
    """Where a job is. WAITING means a manual action needs an operator."""

    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


_J = JobState
JOB_TABLE: dict[JobState, frozenset[JobState]] = {
    _J.QUEUED: frozenset({_J.RUNNING, _J.CANCELLED, _J.FAILED}),
    _J.RUNNING: frozenset({_J.WAITING, _J.SUCCEEDED, _J.FAILED, _J.CANCELLED, _J.QUEUED}),
    _J.WAITING: frozenset({_J.RUNNING, _J.CANCELLED, _J.FAILED}),
    # A failed job can be resumed (retry or skip the failed task) by an operator.
    _J.FAILED: frozenset({_J.RUNNING}),
    _J.SUCCEEDED: frozenset(),
    _J.CANCELLED: frozenset(),
}
FINISHED_JOB_STATES = frozenset({_J.SUCCEEDED, _J.FAILED, _J.CANCELLED})


class TaskState(enum.StrEnum):
    """Where one task of a job is."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


_T = TaskState
TASK_TABLE: dict[TaskState, frozenset[TaskState]] = {
    _T.PENDING: frozenset({_T.RUNNING, _T.SKIPPED, _T.FAILED}),
    _T.RUNNING: frozenset({_T.DONE, _T.FAILED, _T.PENDING}),
    _T.FAILED: frozenset({_T.PENDING, _T.SKIPPED}),
    _T.DONE: frozenset(),
    _T.SKIPPED: frozenset(),
}


@dataclass(frozen=True)
class Task:
    """One step of a job, usually one machine's part of it."""

    task_id: str
    name: str
    state: TaskState = TaskState.PENDING
    progress: float = 0.0
    error: str = ""
    output: str = ""

    def __post_init__(self) -> None:
        require_id("Task", "task_id", self.task_id)
        require_text("Task", "name", self.name)
        if not 0.0 <= self.progress <= 1.0:
            raise ValidationError(f"Task {self.task_id!r}: progress must be within 0..1")

    def moved_to(self, state: TaskState, **changes: object) -> Task:
        """A copy in ``state``; raises InvalidTransition if the table forbids it."""
        check_transition(f"task {self.task_id}", TASK_TABLE, self.state, state)
        return replace(self, state=state, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Job:
    """A durable operation: kind (protect, failover...), what it acts on, its tasks."""

    job_id: str
    kind: str
    target: str
    state: JobState = JobState.QUEUED
    tasks: tuple[Task, ...] = ()
    error: str = ""
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    params: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        require_id("Job", "job_id", self.job_id)
        require_text("Job", "kind", self.kind)
        require_unique(f"Job {self.job_id!r}", "tasks", (t.task_id for t in self.tasks))

    @property
    def progress(self) -> float:
        """Mean task progress; a finished task counts as whole."""
        if not self.tasks:
            return 1.0 if self.state is JobState.SUCCEEDED else 0.0
        done = {TaskState.DONE, TaskState.SKIPPED}
        return sum(1.0 if t.state in done else t.progress for t in self.tasks) / len(self.tasks)

    @property
    def finished(self) -> bool:
        """True once the job can no longer change by itself."""
        return self.state in FINISHED_JOB_STATES

    def moved_to(self, state: JobState, **changes: object) -> Job:
        """A copy in ``state``; raises InvalidTransition if the table forbids it."""
        check_transition(f"job {self.job_id}", JOB_TABLE, self.state, state)
        return replace(self, state=state, **changes)  # type: ignore[arg-type]

    def param(self, key: str, default: str = "") -> str:
        """One of the job's parameters."""
        return dict(self.params).get(key, default)
