"""Durable jobs and their tasks.

A job row holds its state; each task has its own row so that progress and
output of one task are written without rewriting the others (tasks of one
job may run in parallel threads).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from provider.errors import AlreadyExists, NotFound
from provider.model.job import Job, JobState, Task, TaskState
from provider.store.codec import pairs_from_json, pairs_to_json
from provider.store.schema import job_tasks, jobs

#: A task keeps the last 64 KiB of its output; older lines are dropped first.
MAX_OUTPUT_CHARS = 64 * 1024
TRIMMED_MARK = "[earlier output trimmed]\n"


class JobRepository:
    """Jobs by id; tasks in their submitted order."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, job: Job, concurrency: int = 1) -> None:
        if self._row(job.job_id) is not None:
            raise AlreadyExists(f"job {job.job_id!r} already exists")
        self._db.execute(
            insert(jobs).values(**_job_row(job), concurrency=concurrency, cancel_requested=False)
        )
        for position, task in enumerate(job.tasks):
            self._db.execute(
                insert(job_tasks).values(job_id=job.job_id, position=position, **_task_row(task))
            )

    def get(self, job_id: str, *, lock: bool = False) -> Job:
        """The job with its tasks; ``lock`` holds its row until the unit ends (PostgreSQL)."""
        return self._job(self._required(job_id, lock=lock))

    def list(self, states: Iterable[JobState] | None = None) -> list[Job]:
        """Jobs, newest first (only those in ``states`` when given)."""
        query = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.job_id)
        if states is not None:
            query = query.where(jobs.c.state.in_([state.value for state in states]))
        return [self._job(row) for row in self._db.execute(query).mappings().all()]

    def save_state(self, job: Job) -> None:
        """Write the job's own fields (state, error, times); tasks are saved one by one."""
        self._required(job.job_id)
        self._db.execute(update(jobs).where(jobs.c.job_id == job.job_id).values(**_job_row(job)))

    def save_task(self, job_id: str, task: Task) -> None:
        result = self._db.execute(
            update(job_tasks)
            .where(job_tasks.c.job_id == job_id, job_tasks.c.task_id == task.task_id)
            .values(**_task_row(task))
        )
        if not result.rowcount:
            raise NotFound(f"job {job_id!r} has no task {task.task_id!r}")

    def append_output(self, job_id: str, task_id: str, text: str) -> None:
        """Add a line to a task's output, keeping its last MAX_OUTPUT_CHARS characters."""
        key = (job_tasks.c.job_id == job_id, job_tasks.c.task_id == task_id)
        query = select(job_tasks.c.output).where(*key)
        if self._db.dialect.name != "sqlite":
            # Read-modify-write: hold the row so a concurrent append is not lost.
            query = query.with_for_update()
        current = self._db.execute(query).scalar_one_or_none()
        if current is None:
            raise NotFound(f"job {job_id!r} has no task {task_id!r}")
        self._db.execute(update(job_tasks).where(*key).values(output=_appended(current, text)))

    def concurrency(self, job_id: str) -> int:
        return int(self._required(job_id)["concurrency"])

    def set_cancel_requested(self, job_id: str, requested: bool) -> None:
        self._required(job_id)
        self._db.execute(
            update(jobs).where(jobs.c.job_id == job_id).values(cancel_requested=requested)
        )

    def cancel_requested(self, job_id: str) -> bool:
        return bool(self._required(job_id)["cancel_requested"])

    def _required(self, job_id: str, *, lock: bool = False) -> RowMapping:
        row = self._row(job_id, lock=lock)
        if row is None:
            raise NotFound(f"no job {job_id!r}")
        return row

    def _row(self, job_id: str, *, lock: bool = False) -> RowMapping | None:
        query = select(jobs).where(jobs.c.job_id == job_id)
        # SQLite has no row locks (a write unit already holds the database lock).
        if lock and self._db.dialect.name != "sqlite":
            query = query.with_for_update()
        return self._db.execute(query).mappings().first()

    def _job(self, row: RowMapping) -> Job:
        query = (
            select(job_tasks)
            .where(job_tasks.c.job_id == row["job_id"])
            .order_by(job_tasks.c.position)
        )
        tasks = tuple(_task(task) for task in self._db.execute(query).mappings())
        return Job(
            job_id=row["job_id"],
            kind=row["kind"],
            target=row["target"],
            state=JobState(row["state"]),
            tasks=tasks,
            error=row["error"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            params=pairs_from_json(row["params"]),
        )


def _appended(output: str, text: str) -> str:
    combined = output + text + ("" if text.endswith("\n") else "\n")
    if len(combined) <= MAX_OUTPUT_CHARS:
        return combined
    kept = combined[-(MAX_OUTPUT_CHARS - len(TRIMMED_MARK)) :]
    # Cut at a line start so the first kept line is whole.
    newline = kept.find("\n")
    return TRIMMED_MARK + (kept[newline + 1 :] if 0 <= newline < len(kept) - 1 else kept)


def _job_row(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "kind": job.kind,
        "target": job.target,
        "state": job.state.value,
        "error": job.error,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "params": pairs_to_json(job.params),
    }


def _task_row(task: Task) -> dict[str, Any]:
    return {
        "task_id": task.task_id,
        "name": task.name,
        "state": task.state.value,
        "progress": task.progress,
        "error": task.error,
        "output": task.output,
    }


def _task(row: RowMapping) -> Task:
    return Task(
        task_id=row["task_id"],
        name=row["name"],
        state=TaskState(row["state"]),
        progress=row["progress"],
        error=row["error"],
        output=row["output"],
    )
