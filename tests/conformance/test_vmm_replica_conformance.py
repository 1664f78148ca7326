"""The native conformance suite on ``vmm-replica``: two VMM sites over loopback WinRM.

The replica lab (:func:`fakes.vmm.samples.build_replica_lab`): ``vmm01``
manages the primary site (``hv01``, cloud Gold, ``web01`` on VM network
Corp-VMs) and is the registered ``vmm`` fabric; ``vmm02`` with cloud DR
(hosts ``hv11`` and ``hv12``, VM networks DR-VMs and the private Drill) is
the ``vmm-replica`` target. Both VMM servers and the three hosts are served
over loopback WinRM (NTLM) and reached by the real vmm plugin.

Hyper-V Replica runs underneath, on the lab's virtual clock at its default
frequency: a replication round is one period, and so is the suite's
"point" (the kind is latest-only: it fails over to the replica's latest
data, which the suite compares with the source at the last round).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

from fakes.clock import VirtualClock
from fakes.hyperv.backend import ServedLab
from fakes.hyperv.host import HyperVHost
from fakes.vmm import VmmLab, start_winrm_lab
from fakes.vmm.samples import build_replica_lab
from plugins.vmm import plugin as vmm_plugin
from provider.conformance import NativeConformanceFabric, NativeConformanceSuite
from provider.contracts.connection import FabricConnection
from provider.model.policy import PolicyFamily

START = 1_800_000_000.0
PRIMARY, RECOVERY_HOSTS = "hv01", ("hv11", "hv12")
#: Hyper-V Replica's frequency when the protection names none (the target's default).
ROUND_SEC = 300
#: Every server of the lab: taking the site offline silences them all.
SERVERS = ("vmm01", "vmm02", PRIMARY, *RECOVERY_HOSTS)


@dataclass
class VmmReplicaSite:
    """:class:`provider.conformance.NativeSite` over the two served VMM sites."""

    lab: VmmLab
    served: ServedLab

    def replicate(self) -> None:
        self.lab.hyperv.clock.advance(ROUND_SEC)

    def issue_point(self, group_id: str, name: str) -> None:
        # Hyper-V Replica takes no named point: the round it replicates is the point.
        self.lab.hyperv.clock.advance(ROUND_SEC)

    def write_source(self, name: str, offset: int, data: bytes) -> None:
        self._host(PRIMARY).vm(name).disks[0].write(offset, data)

    def source_disks(self, name: str) -> Sequence[bytes]:
        return [d.read(0, d.capacity) for d in self._host(PRIMARY).vm(name).disks]

    def replica_disks(self, replica_id: str) -> Sequence[bytes]:
        # A replica keeps its primary's id: a recovered machine is the recovery site's VM.
        found = [vm for host in RECOVERY_HOSTS if (vm := self._host(host).vm_by_id(replica_id))]
        assert len(found) == 1, f"the recovery hosts hold {len(found)} VMs {replica_id}"
        return [d.read(0, d.capacity) for d in found[0].disks]

    def take_offline(self) -> None:
        for server in SERVERS:
            self.served.winrm[server].faults.drop_next(1_000_000)

    def release(self, connection_ids: Sequence[str]) -> None:
        for ident in connection_ids:
            connection = FabricConnection(ident, "vmm", "-")
            vmm_plugin.LOCATOR.drop(connection)
            vmm_plugin.REPLICA.locator.drop(connection)
            vmm_plugin.REPLICA.sides.pool.drop(connection)

    def _host(self, name: str) -> HyperVHost:
        return self.lab.hyperv.host(name)


def _vm_network(lab: VmmLab, server: str, name: str) -> str:
    return str(lab.server(server).vm_network(name).id)


@pytest.fixture
def srp_native_conformance_fabric() -> Iterator[NativeConformanceFabric]:
    lab = build_replica_lab(seed=4, clock=VirtualClock(start=START))
    with start_winrm_lab(lab) as served:
        user, password = served.credentials
        endpoints = ",".join(f"{h.name}={served.endpoint(h.name)}" for h in lab.hyperv.hosts)
        options = (("transport", "ntlm"), ("retry_wait", "0"), ("host_endpoints", endpoints))
        target_options = (*options, ("username", user), ("vmm_server", "vmm02"), ("cloud", "DR"))
        production = (_vm_network(lab, "vmm01", "Corp-VMs"), _vm_network(lab, "vmm02", "DR-VMs"))
        yield NativeConformanceFabric(
            kind="vmm",
            target_kind="vmm-replica",
            plugin=vmm_plugin,
            site=VmmReplicaSite(lab, served),
            machines=("web01",),
            address=served.endpoint("vmm01"),
            username=user,
            password=password,
            target_address=served.endpoint("vmm02"),
            target_password=password,
            options=(*options, ("vmm_server", "vmm01")),
            target_options=target_options,
            policy_family=PolicyFamily.HYPERV,
            retention_hours=1,
            clock=lab.hyperv.clock.now,
            networks=(production,),
            test_network=_vm_network(lab, "vmm02", "Drill"),
        )


class TestVmmReplicaNativeConformance(NativeConformanceSuite):
    """Every test of the native suite, on vmm-replica between two VMM clouds."""
