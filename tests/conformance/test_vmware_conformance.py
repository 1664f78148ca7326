"""The conformance suite on the vmware plugin: real requests over loopback HTTP to a fake vCenter.

The kind declares test and unplanned failover and failback (no planned
failover: the seed's rule for VMware to the cloud): the suite skips planned
failover, saying why, and runs everything else. Failback writes through a
master target on premises (served beside the vCenter) and needs a process
server on the cloud side, both named in the fabric's options.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

import plugins.vmware.plugin as vmware_plugin
from fakes.clock import VirtualClock
from fakes.vcenter import (
    EsxHost,
    LoopbackServer,
    VCenter,
    Vmdk,
    serve_master_target,
    serve_vcenter,
)
from provider.conformance import ConformanceFabric, ConformanceSuite

NETWORK = "VM Network"
#: Tries per call: a dropped connection outlasts them when this many calls fail.
RETRY_ATTEMPTS = 2
#: Enough 503 answers to outlast any test while the site is down.
SITE_DOWN = 1 << 30


@dataclass
class VCenterSource:
    """:class:`provider.conformance.SourceFabric` over one fake vCenter served by HTTP."""

    vcenter: VCenter
    host: EsxHost

    def create_machine(self, name: str, disk_sizes: Sequence[int]) -> None:
        self.vcenter.create_vm(name, self.host, disks=tuple(disk_sizes), networks=(NETWORK,))

    def remove_machine(self, name: str) -> None:
        self.vcenter.delete_vm(self.vcenter.vm_named(name))

    def read_disk(self, name: str, disk_id: str) -> bytes:
        disk = self._vmdk(name, disk_id).disk
        return disk.read(0, disk.capacity)

    def write_disk(self, name: str, disk_id: str, offset: int, data: bytes) -> None:
        self._vmdk(name, disk_id).disk.write(offset, data)

    def lose_tracking(self, name: str) -> None:
        self.vcenter.reset_cbt(self.vcenter.vm_named(name))

    def set_reachable(self, reachable: bool) -> None:
        # vCenter behind a failing load balancer: every call answers 503.
        self.vcenter.faults.unavailable_calls = 0 if reachable else SITE_DOWN

    def drop_connection(self) -> None:
        self.vcenter.faults.unavailable_calls = RETRY_ATTEMPTS

    def _vmdk(self, name: str, disk_id: str) -> Vmdk:
        return self.vcenter.vm_named(name).disk(int(disk_id))


@pytest.fixture
def served(
    srp_conformance_clock: VirtualClock,
) -> Iterator[tuple[VCenter, LoopbackServer, LoopbackServer]]:
    vcenter = VCenter(seed=13, clock=srp_conformance_clock)
    datacenter = vcenter.add_datacenter("DC1")
    datacenter.add_network(NETWORK)
    datacenter.add_host("esx01.lab", datacenter.add_cluster("Prod"))
    server, _ = serve_vcenter(vcenter)
    master_target, _ = serve_master_target(vcenter)
    with server, master_target:
        yield vcenter, server, master_target


class TestVMwareConformance(ConformanceSuite):
    @pytest.fixture
    def srp_conformance_fabric(
        self, served: tuple[VCenter, LoopbackServer, LoopbackServer]
    ) -> ConformanceFabric:
        vcenter, server, master_target = served
        (datacenter,) = vcenter.datacenters
        user, password = vcenter.credentials
        options = {
            "transport": "http",
            "retry_wait": "0",
            "retry_attempts": str(RETRY_ATTEMPTS),
            "task_poll_interval": "0",
            "master_target": master_target.address,
            "failback_process_server": "ps-cloud",
        }
        return ConformanceFabric(
            "vmware",
            vmware_plugin,
            VCenterSource(vcenter, datacenter.hosts[0]),
            server.address,
            user,
            password,
            tuple(options.items()),
        )
