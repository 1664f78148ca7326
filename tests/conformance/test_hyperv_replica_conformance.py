"""The native conformance suite on ``hyperv-replica``: two S4 hosts over loopback WinRM.

Host ``hv01`` (the ``hyperv`` fabric) replicates web01 to host ``hv11`` (the
``hyperv-replica`` target, a Replica server) with Hyper-V Replica, reached
by the real hyperv plugin. Hyper-V Replica replicates on the lab's virtual
clock: a replication round is one replication period, and so is a point
(Hyper-V records no named point: each round's data is its latest recovery
point, and the suite's "point" is the round that makes one; the kind declares
itself latest-only, so the suite fails over to that data).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

from fakes.clock import VirtualClock
from fakes.hyperv import HyperVLab, start_winrm_lab
from fakes.hyperv.backend import ServedLab
from plugins.hyperv import plugin as hyperv_plugin
from provider.conformance import NativeConformanceFabric, NativeConformanceSuite
from provider.contracts.connection import FabricConnection
from provider.model.policy import PolicyFamily
from tests.failover.s4_scenario import (
    FREQUENCY_SEC,
    ISOLATED_NETWORK,
    PRIMARY,
    RECOVERY,
    RECOVERY_NETWORK,
    SOURCE_NETWORK,
    WINRM_OPTIONS,
    replica_lab,
)

START = 1_800_000_000.0


@dataclass
class ReplicaSite:
    """:class:`provider.conformance.NativeSite` over the two served Hyper-V hosts."""

    lab: HyperVLab
    served: ServedLab

    def replicate(self) -> None:
        self.lab.clock.advance(FREQUENCY_SEC)

    def issue_point(self, group_id: str, name: str) -> None:
        # Hyper-V Replica takes no named point: the round it replicates is the point.
        self.lab.clock.advance(FREQUENCY_SEC)

    def write_source(self, name: str, offset: int, data: bytes) -> None:
        self.lab.host(PRIMARY).vm(name).disks[0].write(offset, data)

    def source_disks(self, name: str) -> Sequence[bytes]:
        return [d.read(0, d.capacity) for d in self.lab.host(PRIMARY).vm(name).disks]

    def replica_disks(self, replica_id: str) -> Sequence[bytes]:
        # A replica VM keeps its primary's id: recovered machines are the recovery host's.
        vm = self.lab.host(RECOVERY).vm_by_id(replica_id)
        assert vm is not None, f"{RECOVERY} has no VM {replica_id}"
        return [d.read(0, d.capacity) for d in vm.disks]

    def take_offline(self) -> None:
        for host in (PRIMARY, RECOVERY):
            self.served.winrm[host].faults.drop_next(1_000_000)

    def release(self, connection_ids: Sequence[str]) -> None:
        for ident in connection_ids:
            hyperv_plugin.CLIENTS.drop(FabricConnection(ident, "hyperv", "-"))


@pytest.fixture
def srp_native_conformance_fabric() -> Iterator[NativeConformanceFabric]:
    lab = replica_lab(VirtualClock(start=START))
    with start_winrm_lab(lab) as served:
        user, password = served.credentials
        target_options = (
            *WINRM_OPTIONS,
            ("username", user),
            ("primary_address", served.endpoint(PRIMARY)),
            ("frequency_sec", str(FREQUENCY_SEC)),
        )
        yield NativeConformanceFabric(
            kind="hyperv",
            target_kind="hyperv-replica",
            plugin=hyperv_plugin,
            site=ReplicaSite(lab, served),
            machines=("web01",),
            address=served.endpoint(PRIMARY),
            username=user,
            password=password,
            target_address=served.endpoint(RECOVERY),
            target_password=password,
            options=WINRM_OPTIONS,
            target_options=target_options,
            policy_family=PolicyFamily.HYPERV,
            retention_hours=1,
            clock=lab.clock.now,
            networks=((SOURCE_NETWORK, RECOVERY_NETWORK),),
            test_network=ISOLATED_NETWORK,
        )


class TestHyperVReplicaNativeConformance(NativeConformanceSuite):
    """Every test of the native suite, on hyperv-replica between two S4 hosts.

    The kind is latest-only: the suite fails over to the replica's latest data and
    compares it with the source at the last replication round.
    """
