"""The conformance suite on srp's own simulated fabric plugin, which declares everything."""

from __future__ import annotations

import pytest

from fakes.clock import VirtualClock
from provider.conformance import ConformanceFabric, ConformanceSuite
from provider.conformance.simulated import simulated_fabric


class TestSimulatedConformance(ConformanceSuite):
    @pytest.fixture
    def srp_conformance_fabric(self, srp_conformance_clock: VirtualClock) -> ConformanceFabric:
        return simulated_fabric(clock=srp_conformance_clock)
