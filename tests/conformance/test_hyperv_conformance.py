"""The conformance suite on the hyperv plugin: real pywinrm over loopback WinRM to fake hosts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

import plugins.hyperv.plugin as hyperv_plugin
from fakes.clock import VirtualClock
from fakes.disk import VirtualDisk
from fakes.hyperv import HyperVHost, HyperVLab, start_winrm_lab
from fakes.hyperv.backend import ServedLab
from provider.conformance import ConformanceFabric, ConformanceSuite

HOST = "hv01"
#: Tries per call: a dropped connection outlasts them when this many requests drop.
RETRY_ATTEMPTS = 2


@dataclass
class HyperVSource:
    """:class:`provider.conformance.SourceFabric` over one fake Hyper-V host served by WinRM."""

    host: HyperVHost
    served: ServedLab

    def create_machine(self, name: str, disk_sizes: Sequence[int]) -> None:
        self.host.create_vm(name, disks=tuple(disk_sizes), switch="LAN", running=True)

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
        faults = self.served.winrm[HOST].faults
        if reachable:
            faults.reset()
        else:
            faults.drop_next(1 << 30)

    def drop_connection(self) -> None:
        self.served.winrm[HOST].faults.drop_next(RETRY_ATTEMPTS)

    def _disk(self, name: str, disk_id: str) -> VirtualDisk:
        (disk,) = [d for d in self.host.vm(name).disks if d.disk_id == disk_id]
        return disk


@pytest.fixture
def served(srp_conformance_clock: VirtualClock) -> Iterator[tuple[HyperVHost, ServedLab]]:
    lab = HyperVLab(seed=11, clock=srp_conformance_clock)
    host = lab.add_site("Primary").add_host(HOST)
    host.add_switch("LAN")
    with start_winrm_lab(lab) as running:
        yield host, running


class TestHyperVConformance(ConformanceSuite):
    @pytest.fixture
    def srp_conformance_fabric(self, served: tuple[HyperVHost, ServedLab]) -> ConformanceFabric:
        host, running = served
        user, password = running.credentials
        options = {"transport": "basic", "retry_wait": "0", "retry_attempts": str(RETRY_ATTEMPTS)}
        return ConformanceFabric(
            "hyperv",
            hyperv_plugin,
            HyperVSource(host, running),
            running.endpoint(HOST),
            user,
            password,
            tuple(options.items()),
        )
