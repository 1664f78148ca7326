"""The suite fails a plugin that declares what it does not do, and skips what it does not declare.

Each case runs the suite in a child pytest session (``pytester``) on a
deliberately broken (or modest) variant of the simulated fabric plugin.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

HEADER = """
import pytest

from provider.conformance import ConformanceSuite
from provider.conformance.simulated import simulated_fabric
from provider.contracts.declarations import Capabilities
from provider.contracts.failover import PreparedSource
from provider.errors import AuthenticationFailed
from provider.hookspecs import hookimpl
from fakes.fabric import SimulatedFabricPlugin
"""

SUITE = """

class TestVariant(ConformanceSuite):
    @pytest.fixture
    def srp_conformance_fabric(self, srp_conformance_clock):
        return simulated_fabric(plugin=Variant("{kind}", clock=srp_conformance_clock{options}))
"""


def run_suite(
    pytester: pytest.Pytester, variant: str, select: str, kind: str = "simulated", options: str = ""
) -> pytest.RunResult:
    source = HEADER + variant + SUITE.format(kind=kind, options=options)
    pytester.makepyfile(test_variant=source)
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rs", "-k", select)


def test_a_shutdown_that_does_not_stop_the_source_fails_planned_failover(
    pytester: pytest.Pytester,
) -> None:
    variant = """
class Variant(SimulatedFabricPlugin):
    @hookimpl
    def srp_prepare_failover(self, connection, machine):
        return PreparedSource(machine.machine_id, "off")  # says off, stops nothing
"""
    result = run_suite(pytester, variant, "stops_the_source")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_planned_failover_stops_the_source_and_loses_nothing*",
            "after srp_prepare_failover discovery says the source is 'running'",
        ]
    )


def test_a_bare_exception_fails_the_error_contract(pytester: pytest.Pytester) -> None:
    variant = """
class Variant(SimulatedFabricPlugin):
    @hookimpl
    def srp_connect(self, connection):
        try:
            return super().srp_connect(connection)
        except AuthenticationFailed:
            raise RuntimeError("401 Unauthorized") from None
"""
    result = run_suite(pytester, variant, "wrong_password")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "srp_connect: expected AuthenticationFailed, but the plugin raised an exception "
            "outside srp's hierarchy (map it with raise ... from): plugin 'simulated' "
            "(registered in process) failed in srp_connect: RuntimeError: 401 Unauthorized "
            "(this is a bug in the plugin; report it to its maintainers)",
        ]
    )


def test_declared_reverse_replication_without_write_extents_fails(
    pytester: pytest.Pytester,
) -> None:
    variant = """
class Variant(SimulatedFabricPlugin):
    srp_write_extents = None  # declares reverse replication, cannot write back
"""
    result = run_suite(pytester, variant, "reverse_replication or writing_back")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*srp_write_extents on a machine that vanished: expected *"])
    result.stdout.fnmatch_lines(["reverse replication ended failed: *"])


def test_what_a_kind_does_not_declare_is_skipped_with_the_reason(
    pytester: pytest.Pytester,
) -> None:
    variant = """
class Variant(SimulatedFabricPlugin):
    pass
"""
    select = "planned or app_consistent or reverse or failback or group or writing_back"
    modest = ", capabilities=Capabilities(copy_frequencies=(300,))"
    result = run_suite(pytester, variant, select, kind="simlegacy", options=modest)
    result.assert_outcomes(passed=1, skipped=6)
    result.stdout.fnmatch_lines_random(
        [
            f"SKIPPED [[]{count}[]] *: kind 'simlegacy' does not declare {what}"
            for count, what in (
                (1, "app-consistent points"),
                (1, "multi-machine replication groups"),
                (1, "planned failover"),
                (3, "reverse replication"),
            )
        ]
    )
