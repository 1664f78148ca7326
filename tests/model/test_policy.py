"""Replication policy validation: the rules of each replication family."""

from __future__ import annotations

import pytest

from provider.errors import PolicyError, ValidationError
from provider.model.policy import PolicyFamily, ReplicationPolicy

MIDNIGHT = 1_800_000_000 - 1_800_000_000 % 86400  # a UTC midnight


def test_hyperv_copy_frequency_must_be_30_300_or_900() -> None:
    for seconds in (30, 300, 900):
        assert ReplicationPolicy("p", copy_frequency_sec=seconds).cycle_seconds == seconds
    with pytest.raises(PolicyError, match="copy frequency 60 s is not one Hyper-V supports"):
        ReplicationPolicy("p", copy_frequency_sec=60)


def test_retention_limits_per_family() -> None:
    with pytest.raises(PolicyError, match="retention of 25 h is over the 24 h"):
        ReplicationPolicy("p", retention_hours=25)
    assert ReplicationPolicy("p", family=PolicyFamily.CONTINUOUS, retention_hours=360)
    with pytest.raises(PolicyError, match="over the 360 h"):
        ReplicationPolicy("p", family=PolicyFamily.CONTINUOUS, retention_hours=361)


def test_continuous_family_cycles_at_its_crash_frequency() -> None:
    policy = ReplicationPolicy(
        "vm", family=PolicyFamily.CONTINUOUS, crash_consistent_frequency_min=5
    )
    assert policy.cycle_seconds == 300


def test_app_consistent_points_must_fit_in_retention() -> None:
    with pytest.raises(PolicyError, match="would never be inside the 4 h retention window"):
        ReplicationPolicy("p", retention_hours=4, app_consistent_frequency_hours=6)


def test_rpo_thresholds_are_ordered() -> None:
    with pytest.raises(PolicyError, match="must be above the warning threshold"):
        ReplicationPolicy("p", rpo_warning_minutes=60, rpo_critical_minutes=60)


def test_name_cannot_escape_a_path() -> None:
    with pytest.raises(ValidationError, match="path separator"):
        ReplicationPolicy("../etc")


@pytest.mark.parametrize("window", ["22-06", "25:00-01:00", "10:00-10:00", "x"])
def test_bad_resync_windows_are_refused(window: str) -> None:
    with pytest.raises(PolicyError, match="resync window"):
        ReplicationPolicy("p", resync_window=window)


def test_resync_window_wraps_midnight() -> None:
    policy = ReplicationPolicy("p", resync_window="22:00-06:00")
    assert policy.resync_allowed(MIDNIGHT + 23 * 3600)
    assert policy.resync_allowed(MIDNIGHT + 5 * 3600 + 59 * 60)
    assert not policy.resync_allowed(MIDNIGHT + 6 * 3600)
    assert not policy.resync_allowed(MIDNIGHT + 12 * 3600)
    assert not ReplicationPolicy("p", auto_resync=False).resync_allowed(MIDNIGHT)
