"""The native conformance suite on :mod:`fakes.native`: the whole family must pass.

A second run drops the drill and reverse hooks from the target plugin while
its kinds still declare every mode: those tests must fail, naming the hook,
and the ones whose modes a narrower kind leaves out must skip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from fakes.clock import VirtualClock
from fakes.fabric import KIND_CAPABILITIES, SimulatedFabric, SimulatedFabricPlugin
from fakes.native import NATIVE_KIND, RecoverySite, SimulatedNativeTarget
from provider.conformance import (
    NativeConformanceFabric,
    NativeConformanceLab,
    NativeConformanceSuite,
)
from provider.contracts.declarations import Capabilities, FailoverMode
from provider.model.policy import PolicyFamily


@dataclass
class SimulatedNativeSite:
    """:class:`provider.conformance.NativeSite` over the simulated native target."""

    fabric: SimulatedFabric
    target: SimulatedNativeTarget
    site: RecoverySite
    clock: VirtualClock

    def replicate(self) -> None:
        self.target.ship()

    def issue_point(self, group_id: str, name: str) -> None:
        self.clock.advance(1)  # points of one group at distinct instants keep their order
        self.target.issue_point(group_id, name)

    def write_source(self, name: str, offset: int, data: bytes) -> None:
        machine = next(m for m in self.fabric.machines.values() if m.name == name)
        next(iter(machine.disks.values())).write(offset, data)

    def source_disks(self, name: str) -> Sequence[bytes]:
        machine = next(m for m in self.fabric.machines.values() if m.name == name)
        return [disk.read(0, disk.capacity) for disk in machine.disks.values()]

    def replica_disks(self, replica_id: str) -> Sequence[bytes]:
        return list(self.site.replicas[replica_id].content().values())

    def take_offline(self) -> None:
        self.fabric.unreachable = True
        self.site.unreachable = True

    def release(self, connection_ids: Sequence[str]) -> None:
        """The plugins keep no session."""


def conformance_fabric(
    target_class: type[SimulatedNativeTarget], capabilities: Capabilities = KIND_CAPABILITIES
) -> NativeConformanceFabric:
    """web01 on a simulated fabric, replicating natively to a simulated recovery site."""
    clock = VirtualClock()
    sources = SimulatedFabricPlugin("simulated", clock=clock, capabilities=capabilities)
    fabric = sources.add_fabric("sim-01")
    fabric.add_machine("web01", disks=[64 * 1024, 128 * 1024])
    target = target_class(sources, clock=clock)
    site = target.add_site("dr-site", passphrase="site-secret")
    return NativeConformanceFabric(
        kind="simulated",
        target_kind=NATIVE_KIND,
        plugin=sources,
        site=SimulatedNativeSite(fabric, target, site, clock),
        machines=("web01",),
        address="sim-01",
        username="admin",
        password="secret",
        target_address="dr-site",
        target_password="site-secret",
        policy_family=PolicyFamily.HYPERV,
        clock=clock.now,
        networks=(("net-prod", "vnet-prod"),),
        target_plugin=target,
    )


class TestSimulatedNativeConformance(NativeConformanceSuite):
    @pytest.fixture
    def srp_native_conformance_fabric(self) -> NativeConformanceFabric:
        return conformance_fabric(SimulatedNativeTarget)


class WithoutDrillsOrReverse(SimulatedNativeTarget):
    """A plugin written before the family grew: no test failover, cleanup or reverse hooks."""

    srp_native_test_failover = None
    srp_native_cleanup_test = None
    srp_native_reverse = None


class NarrowTarget(SimulatedNativeTarget):
    """A target kind declaring unplanned failover only, without the newer hooks."""

    srp_native_test_failover = None
    srp_native_cleanup_test = None
    srp_native_reverse = None

    def __init__(self, sources: SimulatedFabricPlugin, *, clock: VirtualClock) -> None:
        super().__init__(sources, clock=clock, failover_modes=(FailoverMode.UNPLANNED,))


#: A fabric kind that fails over unplanned only and cannot replicate back.
UNPLANNED_ONLY = Capabilities(failover_modes=(FailoverMode.UNPLANNED,))

NEWER_TESTS = (
    "test_a_test_copy_holds_the_point_while_replication_goes_on",
    "test_cleanup_removes_the_test_copy_and_a_second_cleanup_removes_nothing",
    "test_reverse_replication_after_a_committed_unplanned_failover",
    "test_failback_brings_the_replicas_data_home",
)


@pytest.mark.parametrize("name", NEWER_TESTS)
def test_a_declared_mode_without_its_hook_fails_naming_the_hook(name: str, tmp_path: Path) -> None:
    suite = NativeConformanceSuite()
    fabric = conformance_fabric(WithoutDrillsOrReverse)
    with (
        NativeConformanceLab(tmp_path / "lab", fabric) as lab,
        pytest.raises(pytest.fail.Exception) as caught,
    ):
        getattr(suite, name)(lab)
    missing = (
        "srp_native_reverse"
        if "reverse" in name or "failback" in name
        else ("srp_native_test_failover, srp_native_cleanup_test")
    )
    assert str(caught.value).endswith(
        f"but the plugin serving target kind '{NATIVE_KIND}' implements no {missing}"
    )


@pytest.mark.parametrize("name", NEWER_TESTS)
def test_an_undeclared_mode_skips_saying_so(name: str, tmp_path: Path) -> None:
    suite = NativeConformanceSuite()
    fabric = conformance_fabric(NarrowTarget, UNPLANNED_ONLY)
    with (
        NativeConformanceLab(tmp_path / "lab", fabric) as lab,
        pytest.raises(pytest.skip.Exception) as caught,
    ):
        getattr(suite, name)(lab)
    assert str(caught.value).startswith("kind 'simulated' does not declare ")
