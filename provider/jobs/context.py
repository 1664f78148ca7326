"""What a task handler gets to report progress and output, and to see a cancel."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from provider.errors import ValidationError

if TYPE_CHECKING:
    from provider.jobs.ledger import JobLedger

#: Progress is written at most this often (seconds); the final value always is.
PROGRESS_INTERVAL_SEC = 1.0


class TaskContext:
    """Bound to one task of one job while its handler runs."""

    def __init__(
        self,
        ledger: JobLedger,
        job_id: str,
        task_id: str,
        *,
        interval: float = PROGRESS_INTERVAL_SEC,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.job_id = job_id
        self.task_id = task_id
        self._ledger = ledger
        self._interval = interval
        self._monotonic = monotonic
        self._last_written: float | None = None

    def progress(self, fraction: float) -> None:
        """Report how far the task is (0..1); written at most once per interval."""
        if not 0.0 <= fraction <= 1.0:
            raise ValidationError(
                f"task {self.task_id!r}: progress {fraction!r} is not within 0..1"
            )
        now = self._monotonic()
        # Throttled: a copy loop may report thousands of times a second, and
        # each write is a transaction on the shared vault.
        due = self._last_written is None or now - self._last_written >= self._interval
        if due or fraction == 1.0:
            self._ledger.set_progress(self.job_id, self.task_id, fraction)
            self._last_written = now

    def log(self, text: str) -> None:
        """Append a line to the task's output (kept with the job)."""
        self._ledger.append_output(self.job_id, self.task_id, text)

    @property
    def cancel_requested(self) -> bool:
        """True once the job was asked to cancel: a long task may stop early."""
        return self._ledger.cancel_requested(self.job_id)
