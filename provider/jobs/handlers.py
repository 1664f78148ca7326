"""Task handlers, registered per job kind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from provider.errors import AlreadyExists, JobError
from provider.jobs.context import TaskContext
from provider.jobs.signals import WaitForOperator
from provider.model.checks import require_text
from provider.model.job import Job, Task

#: Runs one task of a job; returns None when done, or a WaitForOperator.
Handler = Callable[[Job, Task, TaskContext], WaitForOperator | None]


@dataclass(frozen=True)
class HandlerSpec:
    """A kind's handler, and whether its jobs may restart mid-way after a crash.

    ``resumable`` promises that running a task again after an interruption is
    safe (the task is idempotent), so recovery requeues the job instead of
    failing it.
    """

    kind: str
    handler: Handler
    resumable: bool = False


class HandlerRegistry:
    """One handler per job kind."""

    def __init__(self) -> None:
        self._specs: dict[str, HandlerSpec] = {}

    def register(self, kind: str, handler: Handler, *, resumable: bool = False) -> None:
        require_text("job handler", "kind", kind)
        if kind in self._specs:
            raise AlreadyExists(f"job kind {kind!r} already has a handler")
        self._specs[kind] = HandlerSpec(kind, handler, resumable)

    def get(self, kind: str) -> HandlerSpec:
        spec = self._specs.get(kind)
        if spec is None:
            known = ", ".join(sorted(self._specs)) or "none"
            raise JobError(f"no handler for job kind {kind!r} (known kinds: {known})")
        return spec

    def find(self, kind: str) -> HandlerSpec | None:
        return self._specs.get(kind)
