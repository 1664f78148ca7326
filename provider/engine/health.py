"""Health and RPO of a protected item, from its policy and its recent cycles.

RPO is now minus the time of the latest applied recovery point. Warning and
Critical come from the policy's thresholds; like Hyper-V, more than 20% of
the cycles of the last hour missed is a Warning. Each rule raises or clears
its own issue code, so health always says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provider.model.policy import ReplicationPolicy
from provider.model.states import Health, HealthReport

#: Hyper-V's rule: more than this share of missed cycles in the last hour is a Warning.
MISSED_CYCLE_WARNING_SHARE = 0.20
HOUR = 3600.0


@dataclass(frozen=True)
class CycleOutcome:
    """One scheduled cycle: when, and whether it produced a recovery point."""

    at: float
    succeeded: bool
    reason: str = ""


def rpo_seconds(now: float, last_point_at: float | None) -> float | None:
    """Seconds of data at risk; None before the first recovery point."""
    return None if last_point_at is None else max(0.0, now - last_point_at)


def assess(
    report: HealthReport,
    policy: ReplicationPolicy,
    now: float,
    last_point_at: float | None,
    cycles: Sequence[CycleOutcome],
) -> HealthReport:
    """The item's health after applying the RPO and missed-cycle rules."""
    report = _rpo_rule(report, policy, rpo_seconds(now, last_point_at))
    return _missed_cycle_rule(report, [c for c in cycles if now - c.at <= HOUR])


def _rpo_rule(report: HealthReport, policy: ReplicationPolicy, rpo: float | None) -> HealthReport:
    if rpo is None:
        return report.cleared("rpo")
    minutes = rpo / 60.0
    if minutes > policy.rpo_critical_minutes:
        level, limit = Health.CRITICAL, policy.rpo_critical_minutes
    elif minutes > policy.rpo_warning_minutes:
        level, limit = Health.WARNING, policy.rpo_warning_minutes
    else:
        return report.cleared("rpo")
    return report.raised("rpo", level, f"RPO is {minutes:.1f} min, over the {limit} min threshold")


def _missed_cycle_rule(report: HealthReport, recent: Sequence[CycleOutcome]) -> HealthReport:
    missed = [c for c in recent if not c.succeeded]
    if not recent or len(missed) / len(recent) <= MISSED_CYCLE_WARNING_SHARE:
        return report.cleared("missed-cycles")
    last_reason = missed[-1].reason or "no reason recorded"
    return report.raised(
        "missed-cycles",
        Health.WARNING,
        f"{len(missed)} of {len(recent)} cycles in the last hour were missed (last: {last_reason})",
    )
