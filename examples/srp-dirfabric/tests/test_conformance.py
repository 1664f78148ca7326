"""srp's conformance suite on the dirfabric plugin: the whole life of a machine, and errors."""

from provider.conformance import ConformanceSuite


class TestDirFabricConformance(ConformanceSuite):
    """Every test of the suite, run on the fixture in conftest.py."""
