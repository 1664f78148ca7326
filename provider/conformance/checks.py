"""How the suite passes, fails and skips: one clear sentence per verdict.

A failure says what the plugin was asked, what srp expected and what came
back, without a traceback into srp's core: the author reads it and knows
which hook to fix. A skip says what the kind does not declare.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, TypeVar

import pytest

from provider.errors import PluginHookError, SrpError
from provider.model.job import Job, JobState

E = TypeVar("E", bound=SrpError)
T = TypeVar("T")


def fail(message: str) -> NoReturn:
    """Fail the current conformance test with this message only."""
    pytest.fail(message, pytrace=False)


def expect(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        fail(message)


def require_declared(declared: bool, kind: str, what: str) -> None:
    """Skip, saying why, a behaviour the kind does not declare."""
    if not declared:
        pytest.skip(f"kind {kind!r} does not declare {what}")


def expect_error(expected: type[E], call: Callable[[], object], doing: str) -> E:
    """Run ``call`` and return the ``expected`` srp error it must raise.

    A bare exception reaches here as ``PluginHookError`` (the plugin manager
    wraps anything outside srp's hierarchy): that is a contract failure.
    """
    try:
        call()
    except expected as exc:
        return exc
    except SrpError as exc:
        # Failing outside the handler keeps the report to one sentence, no chain.
        got: SrpError | None = exc
    else:
        got = None
    if got is None:
        fail(f"{doing}: expected {expected.__name__}, but the call succeeded")
    if isinstance(got, PluginHookError):
        fail(
            f"{doing}: expected {expected.__name__}, but the plugin raised an exception "
            f"outside srp's hierarchy (map it with raise ... from): {got}"
        )
    fail(f"{doing}: expected {expected.__name__}, got {type(got).__name__}: {got}")


def expect_succeeded(job: Job, doing: str) -> Job:
    """The job ran to success, or the test fails with the job's error."""
    expect(job.state is JobState.SUCCEEDED, f"{doing} ended {job.state.value}: {job.error}")
    return job


def expect_ok(call: Callable[[], T], doing: str) -> T:
    """Run ``call``; any srp error fails the test with what was being done."""
    try:
        return call()
    except SrpError as exc:
        failed = exc
    fail(f"{doing} failed: {type(failed).__name__}: {failed}")
