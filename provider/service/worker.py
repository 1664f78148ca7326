"""The threads that run durable jobs for the service.

``JobService.run`` and ``resume`` drive a job to its end in the calling
thread; an API call must answer at once, so it queues the job here and the
worker threads drive it. Stopping lets each thread finish the job it is on
(within a timeout): a job cut short is resumable and is requeued by
``JobService.recover`` when the service starts again.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

from provider.contracts.events import JobStateChange
from provider.errors import SrpError
from provider.jobs.service import JobService

log = logging.getLogger("srp.service.worker")


@dataclass(frozen=True)
class _Order:
    job_id: str
    resume: bool = False
    retry: bool = False
    skip: bool = False


class JobWorker:
    """A queue of job orders and the threads that execute them."""

    def __init__(self, jobs: JobService, *, threads: int = 2) -> None:
        self._jobs = jobs
        self._orders: queue.Queue[_Order | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._loop, name=f"srp-job-{n}", daemon=True)
            for n in range(threads)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def run_later(self, job_id: str) -> None:
        """Run a queued job on a worker thread."""
        self._orders.put(_Order(job_id))

    def resume_later(self, job_id: str, *, retry: bool, skip: bool) -> None:
        """Resume a failed or waiting job on a worker thread."""
        self._orders.put(_Order(job_id, resume=True, retry=retry, skip=skip))

    def stop(self, timeout: float) -> bool:
        """No new job starts; wait up to ``timeout`` for running ones. True if all ended."""
        for _ in self._threads:
            self._orders.put(None)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)
        return not any(thread.is_alive() for thread in self._threads)

    def _loop(self) -> None:
        while (order := self._orders.get()) is not None:
            try:
                self._execute(order)
            except SrpError as exc:
                log.warning("job %s could not run: %s", order.job_id, exc)
            except Exception:
                log.exception("job %s: unexpected failure in the worker", order.job_id)

    def _execute(self, order: _Order) -> None:
        if order.resume:
            self._jobs.resume(order.job_id, retry=order.retry, skip=order.skip)
        else:
            self._jobs.run(order.job_id)


class StateChanges:
    """Counts each job's state changes, so a caller can wait for the next one.

    ``resume`` hands the job to a worker thread; the API waits here until the
    job has left its failed or waiting state, so a client that watches it
    right after never sees the stale state.
    """

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._changed = threading.Condition()

    def record(self, event: JobStateChange) -> None:
        with self._changed:
            job_id = event.job.job_id
            self._counts[job_id] = self._counts.get(job_id, 0) + 1
            self._changed.notify_all()

    def count(self, job_id: str) -> int:
        with self._changed:
            return self._counts.get(job_id, 0)

    def wait_beyond(self, job_id: str, seen: int, timeout: float) -> bool:
        """Wait until the job changed state after ``seen`` changes; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._counts.get(job_id, 0) > seen, timeout)
