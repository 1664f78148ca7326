"""Runs the pending tasks of a running job, in order, one or several at a time.

The runner records each task's moves and reports how the run stopped; the
service turns that into the job's state. A cancel is seen before a task
starts, never in the middle of one (a handler may stop early by watching
``context.cancel_requested``).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from provider.errors import SrpError
from provider.jobs.context import PROGRESS_INTERVAL_SEC, TaskContext
from provider.jobs.handlers import HandlerSpec
from provider.jobs.ledger import JobLedger, task_of
from provider.jobs.signals import WaitForOperator
from provider.model.job import TaskState

log = logging.getLogger(__name__)


class Stop(enum.Enum):
    """Why a run ended."""

    DONE = "done"
    FAILED = "failed"
    WAITING = "waiting"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Outcome:
    """How a task (or the whole run) ended, with the task and message that explain it."""

    stop: Stop
    task_id: str = ""
    task_name: str = ""
    message: str = ""


DONE = Outcome(Stop.DONE)
_PRECEDENCE = (Stop.FAILED, Stop.CANCELLED, Stop.WAITING)


class TaskRunner:
    """Executes tasks through their kind's handler, recording every move."""

    def __init__(
        self,
        ledger: JobLedger,
        *,
        progress_interval: float = PROGRESS_INTERVAL_SEC,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ledger = ledger
        self._interval = progress_interval
        self._monotonic = monotonic

    def run(self, job_id: str, spec: HandlerSpec, width: int) -> Outcome:
        """Run the job's pending tasks, ``width`` at a time; the first stop wins."""
        if width <= 1:
            return self._one_by_one(job_id, spec)
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix=f"job-{job_id}") as pool:
            return self._in_parallel(job_id, spec, width, pool)

    def _one_by_one(self, job_id: str, spec: HandlerSpec) -> Outcome:
        while (task_id := self._next_pending(job_id, set())) is not None:
            if self._ledger.cancel_requested(job_id):
                return Outcome(Stop.CANCELLED)
            outcome = self.run_task(job_id, task_id, spec)
            if outcome.stop is not Stop.DONE:
                return outcome
        return DONE

    def _in_parallel(
        self, job_id: str, spec: HandlerSpec, width: int, pool: ThreadPoolExecutor
    ) -> Outcome:
        running: dict[Future[Outcome], str] = {}
        outcomes: list[Outcome] = []
        while True:
            if not any(o.stop is not Stop.DONE for o in outcomes):
                outcomes.extend(self._launch(job_id, spec, width, pool, running))
            if not running:
                return _first_stop(outcomes)
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                running.pop(future)
                outcomes.append(future.result())

    def _launch(
        self,
        job_id: str,
        spec: HandlerSpec,
        width: int,
        pool: ThreadPoolExecutor,
        running: dict[Future[Outcome], str],
    ) -> list[Outcome]:
        while len(running) < width:
            task_id = self._next_pending(job_id, set(running.values()))
            if task_id is None:
                return []
            if self._ledger.cancel_requested(job_id):
                return [Outcome(Stop.CANCELLED)]
            running[pool.submit(self.run_task, job_id, task_id, spec)] = task_id
        return []

    def run_task(self, job_id: str, task_id: str, spec: HandlerSpec) -> Outcome:
        """Run one task to DONE, FAILED, or a wait for an operator."""
        job = self._ledger.move_task(job_id, task_id, TaskState.RUNNING, progress=0.0, error="")
        task = task_of(job, task_id)
        context = TaskContext(
            self._ledger, job_id, task_id, interval=self._interval, monotonic=self._monotonic
        )
        try:
            signal = spec.handler(job, task, context)
        except WaitForOperator as raised:
            signal = raised
        except Exception as exc:
            return self._failed(job_id, task_id, task.name, exc)
        if isinstance(signal, WaitForOperator):
            self._ledger.append_output(
                job_id, task_id, f"waiting for an operator: {signal.message}"
            )
            return Outcome(Stop.WAITING, task_id, task.name, signal.message)
        self._ledger.move_task(job_id, task_id, TaskState.DONE, progress=1.0)
        return DONE

    def _failed(self, job_id: str, task_id: str, name: str, exc: Exception) -> Outcome:
        message = str(exc) if isinstance(exc, SrpError) else f"{type(exc).__name__}: {exc}"
        log.warning("job %s: task %s failed: %s", job_id, task_id, message)
        log.debug("job %s: task %s traceback", job_id, task_id, exc_info=exc)
        self._ledger.move_task(job_id, task_id, TaskState.FAILED, error=message)
        return Outcome(Stop.FAILED, task_id, name, message)

    def _next_pending(self, job_id: str, excluded: set[str]) -> str | None:
        tasks = self._ledger.get(job_id).tasks
        # A failed sibling stops the launching of new tasks, even before its
        # outcome reaches this thread.
        if any(task.state is TaskState.FAILED for task in tasks):
            return None
        for task in tasks:
            if task.state is TaskState.PENDING and task.task_id not in excluded:
                return task.task_id
        return None


def _first_stop(outcomes: list[Outcome]) -> Outcome:
    for stop in _PRECEDENCE:
        for outcome in outcomes:
            if outcome.stop is stop:
                return outcome
    return DONE
