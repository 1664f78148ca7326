"""The protected item's replication state machine and its health.

The table below is the single source of truth for which operation may run
from which state: the engine and the failover family call
:func:`replication_transitions` (through :func:`check_transition`) before
they touch anything, so an illegal request is refused before any side effect.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from provider.model.transitions import check_transition


class ReplicationState(enum.StrEnum):
    """Where a protected item is in its life."""

    ENABLING = "enabling"
    INITIAL_REPLICATION = "initial_replication"
    PROTECTED = "protected"
    RESYNC_REQUIRED = "resync_required"
    RESYNCHRONIZING = "resynchronizing"
    TEST_FAILOVER = "test_failover"
    FAILOVER_PREPARED = "failover_prepared"
    FAILING_OVER = "failing_over"
    FAILED_OVER = "failed_over"
    COMMITTED = "committed"
    REVERSE_REPLICATION = "reverse_replication"
    FAILBACK = "failback"
    DISABLING = "disabling"
    DISABLED = "disabled"


_R = ReplicationState

#: state -> states it may move to. A failed step returns to where it can be retried.
REPLICATION_TABLE: dict[ReplicationState, frozenset[ReplicationState]] = {
    _R.ENABLING: frozenset({_R.INITIAL_REPLICATION, _R.DISABLED}),
    _R.INITIAL_REPLICATION: frozenset({_R.PROTECTED, _R.RESYNC_REQUIRED, _R.DISABLING}),
    _R.PROTECTED: frozenset(
        {
            _R.RESYNC_REQUIRED,
            _R.RESYNCHRONIZING,
            _R.TEST_FAILOVER,
            _R.FAILOVER_PREPARED,
            _R.FAILING_OVER,
            _R.FAILBACK,
            _R.DISABLING,
        }
    ),
    _R.RESYNC_REQUIRED: frozenset({_R.RESYNCHRONIZING, _R.FAILING_OVER, _R.DISABLING}),
    _R.RESYNCHRONIZING: frozenset({_R.PROTECTED, _R.RESYNC_REQUIRED, _R.DISABLING}),
    _R.TEST_FAILOVER: frozenset({_R.PROTECTED, _R.RESYNC_REQUIRED}),
    _R.FAILOVER_PREPARED: frozenset({_R.FAILING_OVER, _R.PROTECTED}),
    _R.FAILING_OVER: frozenset({_R.FAILED_OVER, _R.PROTECTED, _R.RESYNC_REQUIRED}),
    _R.FAILED_OVER: frozenset({_R.COMMITTED, _R.PROTECTED}),
    _R.COMMITTED: frozenset({_R.REVERSE_REPLICATION, _R.DISABLING}),
    _R.REVERSE_REPLICATION: frozenset({_R.PROTECTED, _R.COMMITTED}),
    _R.FAILBACK: frozenset({_R.FAILED_OVER, _R.PROTECTED}),
    _R.DISABLING: frozenset({_R.DISABLED}),
    _R.DISABLED: frozenset({_R.ENABLING}),
}


def replication_transitions(current: ReplicationState, wanted: ReplicationState) -> None:
    """Raise :class:`provider.errors.InvalidTransition` unless the move is allowed."""
    check_transition("replication state", REPLICATION_TABLE, current, wanted)


class Health(enum.IntEnum):
    """Hyper-V's three health levels, ordered so ``max`` picks the worst."""

    NORMAL = 0
    WARNING = 1
    CRITICAL = 2

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class HealthIssue:
    """One reason an item is not healthy, with a stable code for scripts."""

    code: str
    level: Health
    message: str


@dataclass(frozen=True)
class HealthReport:
    """An item's health: the worst level among its current issues.

    Health is derived, never set: raising or clearing an issue by its code
    is the only way to change it, so a level is always explained by a reason.
    """

    issues: tuple[HealthIssue, ...] = ()

    @property
    def level(self) -> Health:
        """The worst level among the issues, NORMAL when there are none."""
        return max((issue.level for issue in self.issues), default=Health.NORMAL)

    @property
    def reasons(self) -> tuple[str, ...]:
        """The issues' messages, worst first."""
        ordered = sorted(self.issues, key=lambda issue: -issue.level)
        return tuple(issue.message for issue in ordered)

    def raised(self, code: str, level: Health, message: str) -> HealthReport:
        """A report with this issue set (replacing an earlier one of the same code)."""
        kept = tuple(issue for issue in self.issues if issue.code != code)
        return HealthReport((*kept, HealthIssue(code, level, message)))

    def cleared(self, code: str) -> HealthReport:
        """A report without the issue of this code (unchanged when absent)."""
        return HealthReport(tuple(issue for issue in self.issues if issue.code != code))
