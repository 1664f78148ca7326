"""What a task handler can tell the job runner besides success and failure."""

from __future__ import annotations


# Named for what it asks, not "...Error": it is a signal, not a failure.
class WaitForOperator(Exception):
    """Pause the job until an operator resumes it (a manual step of a plan).

    A handler raises or returns it. The task it came from counts as done once
    the operator resumes the job with ``srp job resume ID``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
