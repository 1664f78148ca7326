"""A group's machines failing over together, up to the plan's concurrency.

The job service runs a plan's tasks one after the other, so actions and
groups keep their order. When the first machine task of a group starts,
the batch starts every pending machine of the group on its own threads
(at most ``width`` at once), each reporting into its own task; every
machine task then waits for its own machine. A machine that has not
started when the plan stops (a failed machine, a cancel, a job no longer
running) is not started; one already failing over finishes, so no machine
is ever left half-way. A task the job runner chose to run always runs its
machine, in its own thread if the batch did not start it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait

#: Fails one machine over, given its task id.
Work = Callable[[str], None]


class GroupBatch:
    """The machines of one group of one plan job, started together."""

    def __init__(
        self, task_ids: Sequence[str], width: int, work: Work, stopping: Callable[[], bool]
    ) -> None:
        self._work = work
        self._stopping = stopping
        self._halted = threading.Event()
        pool = ThreadPoolExecutor(max_workers=max(1, width), thread_name_prefix="srp-plan")
        self._futures: dict[str, Future[bool]] = {
            task_id: pool.submit(self._start, task_id) for task_id in task_ids
        }
        # Submitted work still runs; the threads end once it is done.
        pool.shutdown(wait=False)

    def wait_for(self, task_id: str) -> None:
        """Wait for this task's machine (raising its error); run it here if it never started."""
        future = self._futures.get(task_id)
        if future is None or not future.result():
            self._work(task_id)

    def halt(self) -> None:
        """Start no other machine and wait for those already failing over."""
        self._halted.set()
        wait(self._futures.values())

    def _start(self, task_id: str) -> bool:
        if self._halted.is_set() or self._stopping():
            return False
        self._work(task_id)
        return True


class Batches:
    """The running batch of each plan job (one group at a time per job)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[tuple[str, int], GroupBatch] = {}

    def get_or_start(self, key: tuple[str, int], start: Callable[[], GroupBatch]) -> GroupBatch:
        with self._lock:
            batch = self._running.get(key)
            if batch is None:
                batch = self._running[key] = start()
            return batch

    def finish(self, key: tuple[str, int]) -> None:
        """Halt the job's batch, if any, and forget it."""
        with self._lock:
            batch = self._running.pop(key, None)
        if batch is not None:
            batch.halt()
