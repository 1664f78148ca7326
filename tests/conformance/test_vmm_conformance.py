"""The conformance suite on the vmm plugin: real pywinrm over loopback WinRM to a fake VMM.

One VMM server (``vmm01``) manages one Hyper-V host (``hv01``) through cloud
``Gold``; the suite's machines are created on the host and placed in the
cloud, as VMM would after a deployment.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

import plugins.vmm.plugin as vmm_plugin
from fakes.clock import VirtualClock
from fakes.disk import VirtualDisk
from fakes.hyperv import HyperVHost, HyperVLab
from fakes.hyperv.backend import ServedLab
from fakes.vmm import VmmLab, start_winrm_lab
from fakes.vmm.server import VmmServer
from provider.conformance import ConformanceFabric, ConformanceSuite

SERVER, HOST, CLOUD, VM_NETWORK = "vmm01", "hv01", "Gold", "Corp-VMs"
#: Tries per call: a dropped connection outlasts them when this many requests drop.
RETRY_ATTEMPTS = 2


@dataclass
class VmmSource:
    """:class:`provider.conformance.SourceFabric` over a fake VMM server and its host."""

    server: VmmServer
    host: HyperVHost
    served: ServedLab

    def create_machine(self, name: str, disk_sizes: Sequence[int]) -> None:
        vm = self.host.create_vm(name, disks=tuple(disk_sizes), switch="LAN", running=True)
        self.server.place_vm(vm, cloud=CLOUD, networks=[VM_NETWORK])

    def remove_machine(self, name: str) -> None:
        self.host.remove_vm(name)

    def read_disk(self, name: str, disk_id: str) -> bytes:
        disk = self._disk(name, disk_id)
        return disk.read(0, disk.capacity)

    def write_disk(self, name: str, disk_id: str, offset: int, data: bytes) -> None:
        self._disk(name, disk_id).write(offset, data)

    def lose_tracking(self, name: str) -> None:
        self.host.lose_tracking(name)

    def set_reachable(self, reachable: bool) -> None:
        # A site down: neither the VMM server nor its host answers.
        for machine in (SERVER, HOST):
            faults = self.served.winrm[machine].faults
            if reachable:
                faults.reset()
            else:
                faults.drop_next(1 << 30)

    def drop_connection(self) -> None:
        self.served.winrm[SERVER].faults.drop_next(RETRY_ATTEMPTS)

    def _disk(self, name: str, disk_id: str) -> VirtualDisk:
        (disk,) = [d for d in self.host.vm(name).disks if d.disk_id == disk_id]
        return disk


def _vmm_lab(clock: VirtualClock) -> tuple[VmmLab, VmmServer, HyperVHost]:
    lab = VmmLab(HyperVLab(seed=12, clock=clock))
    server = lab.add_server(SERVER)
    server.add_host_group("Primary")
    server.add_logical_network("Corp")
    server.add_vm_network(VM_NETWORK, "Corp")
    server.add_cloud(CLOUD, host_groups=["Primary"], logical_networks=["Corp"])
    host = lab.hyperv.add_host(HOST)
    host.add_switch("LAN")
    server.add_host(host, "Primary")
    return lab, server, host


@pytest.fixture
def served(srp_conformance_clock: VirtualClock) -> Iterator[tuple[VmmLab, VmmSource]]:
    lab, server, host = _vmm_lab(srp_conformance_clock)
    with start_winrm_lab(lab) as running:
        yield lab, VmmSource(server, host, running)


class TestVmmConformance(ConformanceSuite):
    @pytest.fixture
    def srp_conformance_fabric(self, served: tuple[VmmLab, VmmSource]) -> ConformanceFabric:
        _, source = served
        user, password = source.served.credentials
        options = {
            "transport": "basic",
            "vmm_server": SERVER,
            "host_endpoints": f"{HOST}={source.served.endpoint(HOST)}",
            "retry_wait": "0",
            "retry_attempts": str(RETRY_ATTEMPTS),
        }
        return ConformanceFabric(
            "vmm",
            vmm_plugin,
            source,
            source.served.endpoint(SERVER),
            user,
            password,
            tuple(options.items()),
        )
