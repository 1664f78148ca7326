"""The suite's view of :class:`fakes.fabric.SimulatedFabricPlugin`, a complete worked adaptor.

:func:`simulated_fabric` builds a :class:`ConformanceFabric` on a fresh
simulated fabric: srp's own reference for what the suite expects, and a
starting point for a plugin whose fake is built on :mod:`fakes.disk`.

Example (a conftest)::

    @pytest.fixture
    def srp_conformance_fabric(srp_conformance_clock):
        return simulated_fabric(clock=srp_conformance_clock)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fakes.clock import Clock
from fakes.fabric import KIND_CAPABILITIES, SimulatedFabric, SimulatedFabricPlugin, SimulatedMachine
from provider.conformance.fabric import ConformanceFabric
from provider.contracts.declarations import Capabilities

ADDRESS = "sim-conformance"
USERNAME, PASSWORD = "admin", "secret"


class DroppableFabric(SimulatedFabric):
    """A simulated fabric whose connection can drop for exactly one call."""

    def __init__(self, address: str, *, username: str = USERNAME, password: str = PASSWORD) -> None:
        self._down = False
        #: Calls still to fail as dropped; the plugin reads ``unreachable`` once per call.
        self.drops = 0
        super().__init__(address, username=username, password=password)

    @property
    def unreachable(self) -> bool:
        if self.drops:
            self.drops -= 1
            return True
        return self._down

    @unreachable.setter
    def unreachable(self, value: bool) -> None:
        self._down = value


@dataclass
class SimulatedSource:
    """:class:`provider.conformance.SourceFabric` over one simulated fabric."""

    fabric: DroppableFabric

    def create_machine(self, name: str, disk_sizes: Sequence[int]) -> None:
        self.fabric.add_machine(name, disks=list(disk_sizes))

    def remove_machine(self, name: str) -> None:
        self.fabric.remove_machine(name)

    def read_disk(self, name: str, disk_id: str) -> bytes:
        disk = self._machine(name).disks[disk_id]
        return disk.read(0, disk.capacity)

    def write_disk(self, name: str, disk_id: str, offset: int, data: bytes) -> None:
        self._machine(name).disks[disk_id].write(offset, data)

    def lose_tracking(self, name: str) -> None:
        for disk in self._machine(name).disks.values():
            disk.lose_tracking()

    def set_reachable(self, reachable: bool) -> None:
        self.fabric.unreachable = not reachable

    def drop_connection(self) -> None:
        self.fabric.drops = 1

    def _machine(self, name: str) -> SimulatedMachine:
        (machine,) = [m for m in self.fabric.machines.values() if m.name == name]
        return machine


def simulated_fabric(
    kind: str = "simulated",
    *,
    capabilities: Capabilities = KIND_CAPABILITIES,
    clock: Clock | None = None,
    plugin: SimulatedFabricPlugin | None = None,
) -> ConformanceFabric:
    """A fresh simulated fabric served by ``plugin`` (by default a new SimulatedFabricPlugin)."""
    served = plugin or SimulatedFabricPlugin(kind, clock=clock, capabilities=capabilities)
    fabric = DroppableFabric(ADDRESS)
    served.fabrics[ADDRESS] = fabric
    source = SimulatedSource(fabric)
    return ConformanceFabric(served.kind, served, source, ADDRESS, USERNAME, PASSWORD)
