"""Replication policy: how often, how long to keep, how to ship."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from provider.errors import PolicyError
from provider.model.checks import (
    require_choice,
    require_id,
    require_non_negative,
    require_positive,
    require_text,
)

#: Hyper-V Replica ships changes every 30 seconds, 5 minutes or 15 minutes; nothing else.
HYPERV_COPY_FREQUENCIES = (30, 300, 900)
#: Hyper-V to the cloud keeps up to 24 hours of points.
HYPERV_MAX_RETENTION_HOURS = 24
#: VMware/physical and InMage keep up to 15 days of points.
CONTINUOUS_MAX_RETENTION_HOURS = 15 * 24


class InitialReplicationMethod(enum.StrEnum):
    """How the first full copy reaches the target."""

    ONLINE = "online"
    OFFLINE = "offline"


class PolicyFamily(enum.StrEnum):
    """Hyper-V style (fixed copy frequency) or continuous (crash points every N minutes)."""

    HYPERV = "hyperv"
    CONTINUOUS = "continuous"


@dataclass(frozen=True)
class ReplicationPolicy:
    """A named set of replication settings, applied to protected items.

    ``copy_frequency_sec`` is the cycle period for the Hyper-V family;
    ``crash_consistent_frequency_min`` is the period of crash-consistent points
    for the continuous family (VMware, physical, InMage). Thresholds are in
    minutes of RPO (now minus the latest applied recovery point).
    """

    name: str
    family: PolicyFamily = PolicyFamily.HYPERV
    copy_frequency_sec: int = 300
    crash_consistent_frequency_min: int = 5
    retention_hours: int = 24
    app_consistent_frequency_hours: int = 0
    compression: bool = True
    encryption: bool = True
    initial_replication_method: InitialReplicationMethod = InitialReplicationMethod.ONLINE
    initial_replication_start: float | None = None
    rpo_warning_minutes: int = 30
    rpo_critical_minutes: int = 60
    auto_resync: bool = True
    resync_window: str = ""

    def __post_init__(self) -> None:
        require_id("ReplicationPolicy", "name", self.name)
        require_choice("ReplicationPolicy", "family", self.family, list(PolicyFamily))
        require_positive("ReplicationPolicy", "retention_hours", self.retention_hours)
        require_non_negative(
            "ReplicationPolicy",
            "app_consistent_frequency_hours",
            self.app_consistent_frequency_hours,
        )
        self._check_frequency()
        self._check_retention()
        self._check_thresholds()
        if self.resync_window:
            parse_window(self.name, self.resync_window)

    def resync_allowed(self, at: float) -> bool:
        """Whether a resynchronization may start at this time (UTC window, or any time)."""
        if not self.auto_resync:
            return False
        if not self.resync_window:
            return True
        start, end = parse_window(self.name, self.resync_window)
        minute = int(at // 60) % (24 * 60)
        return start <= minute < end if start < end else minute >= start or minute < end

    @property
    def cycle_seconds(self) -> int:
        """Seconds between two replication cycles for this policy."""
        if self.family is PolicyFamily.HYPERV:
            return self.copy_frequency_sec
        return self.crash_consistent_frequency_min * 60

    def _check_frequency(self) -> None:
        if self.family is PolicyFamily.HYPERV:
            if self.copy_frequency_sec not in HYPERV_COPY_FREQUENCIES:
                raise PolicyError(
                    f"policy {self.name!r}: copy frequency {self.copy_frequency_sec!r} s is not "
                    "one Hyper-V supports",
                    hint="use 30, 300 or 900 seconds",
                )
        else:
            require_positive(
                "ReplicationPolicy",
                "crash_consistent_frequency_min",
                self.crash_consistent_frequency_min,
            )

    def _check_retention(self) -> None:
        limit = (
            HYPERV_MAX_RETENTION_HOURS
            if self.family is PolicyFamily.HYPERV
            else CONTINUOUS_MAX_RETENTION_HOURS
        )
        if self.retention_hours > limit:
            raise PolicyError(
                f"policy {self.name!r}: retention of {self.retention_hours} h is over the "
                f"{limit} h this replication family keeps",
                hint=f"choose at most {limit} hours",
            )
        if self.app_consistent_frequency_hours > self.retention_hours:
            raise PolicyError(
                f"policy {self.name!r}: an app-consistent point every "
                f"{self.app_consistent_frequency_hours} h would never be inside the "
                f"{self.retention_hours} h retention window",
                hint="lower the app-consistent frequency or raise retention",
            )

    def _check_thresholds(self) -> None:
        require_text("ReplicationPolicy", "name", self.name)
        require_positive("ReplicationPolicy", "rpo_warning_minutes", self.rpo_warning_minutes)
        if self.rpo_critical_minutes <= self.rpo_warning_minutes:
            raise PolicyError(
                f"policy {self.name!r}: RPO critical threshold ({self.rpo_critical_minutes} "
                f"min) must be above the warning threshold ({self.rpo_warning_minutes} min)"
            )


def parse_window(policy: str, window: str) -> tuple[int, int]:
    """A daily UTC window "HH:MM-HH:MM" as (start, end) minutes; may wrap midnight."""
    try:
        start_text, end_text = window.split("-")
        start, end = (_minutes(part) for part in (start_text, end_text))
    except ValueError as exc:
        raise PolicyError(
            f"policy {policy!r}: resync window {window!r} is not like 22:00-06:00 (UTC)"
        ) from exc
    if start == end:
        raise PolicyError(f"policy {policy!r}: resync window {window!r} is empty")
    return start, end


def _minutes(text: str) -> int:
    hours, minutes = (int(part) for part in text.strip().split(":"))
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(text)
    return hours * 60 + minutes
