"""Fixtures of the failover suite: "a protected machine on some fabric"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.clock import VirtualClock
from tests.failover.failover_testkit import Protected, simulated_scenario

#: Each fabric joins the suite with its scenario builder.
SCENARIOS = {"simulated": simulated_scenario}


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture(params=sorted(SCENARIOS))
def protected(
    request: pytest.FixtureRequest, tmp_path: Path, clock: VirtualClock
) -> Iterator[Protected]:
    with SCENARIOS[request.param](tmp_path, clock) as machine:
        yield machine
