"""A whole srp around one plugin: vault, engine, cloud target with compute, failover service.

:class:`ConformanceLab` is :class:`fakes.harness.EngineHarness` with a
ticking virtual clock, the failover service, the cloud target's simulated
compute (one production network and the isolated test network), and the
steps every conformance test starts with: create a machine on the test
fabric, give it content, discover it, map its networks and protect it.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from fakes.clock import VirtualClock
from fakes.compute import SimulatedCompute
from fakes.harness import EngineHarness
from provider.conformance.checks import expect, fail
from provider.conformance.fabric import KIB, ConformanceFabric, SourceFabric
from provider.contracts.connection import FabricConnection, Secret
from provider.contracts.declarations import Capabilities
from provider.engine.cycle import CycleReport
from provider.failover import FailoverService
from provider.model.inventory import Machine
from provider.model.mapping import IpPolicy, NetworkMapping
from provider.model.policy import HYPERV_COPY_FREQUENCIES, PolicyFamily
from provider.model.recovery import Consistency, RecoveryPoint

POLICY = "conformance"
TARGET_NETWORK = "vnet-prod"
TARGET_SUBNET = "10.1.0.0/24"
#: Virtual seconds between two cycles, as a scheduler would space them.
CYCLE_SECONDS = 30
_PROBES = itertools.count(1)


def pattern(seed: int, length: int) -> bytes:
    """Deterministic, incompressible bytes: a write no two seeds share."""
    out = bytearray()
    for counter in itertools.count():
        if len(out) >= length:
            break
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
    return bytes(out[:length])


@dataclass(frozen=True)
class ProtectedMachine:
    """A machine of the test fabric, as discovered, and its protected item."""

    name: str
    machine: Machine
    item_id: str

    @property
    def disk_ids(self) -> tuple[str, ...]:
        return tuple(disk.disk_id for disk in self.machine.disks)


class ConformanceLab(EngineHarness):
    """The harness the suite runs a plugin in (one per test, under a temporary folder)."""

    def __init__(self, root: Path, fabric: ConformanceFabric, clock: VirtualClock) -> None:
        super().__init__(root, plugins={fabric.kind: fabric.plugin}, clock=clock.now)
        self.fabric = fabric
        self.virtual_clock = clock
        self.failover = FailoverService(self.ctx)
        self.compute = SimulatedCompute.at(root / "storage-account" / "compute")
        self.compute.add_network(TARGET_NETWORK, subnet=TARGET_SUBNET)
        self._fabric_id = ""
        self._probes: list[FabricConnection] = []
        #: The report of the last :meth:`replicate` cycle.
        self.last_report = CycleReport("", Consistency.CRASH, 0, (), ())

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Plugins cache sessions per fabric: drop them so no client outlives its test.
        try:
            for connection in self._probes:
                self.plugins.disconnect(connection)
        finally:
            super().__exit__(kind, exc, tb)

    @property
    def source(self) -> SourceFabric:
        return self.fabric.source

    @property
    def kind(self) -> str:
        return self.fabric.kind

    @property
    def capabilities(self) -> Capabilities:
        """What the plugin declares for the kind under test."""
        return self.plugins.fabric_kind(self.fabric.kind).capabilities

    def probe(self, *, password: str | None = None) -> FabricConnection:
        """A fresh connection to the test fabric (own fabric id), for direct hook calls."""
        fabric = self.fabric
        secret = Secret(fabric.password if password is None else password)
        connection = FabricConnection(
            f"conformance-probe-{next(_PROBES)}",
            fabric.kind,
            fabric.address,
            fabric.username,
            secret,
            fabric.options,
        )
        self._probes.append(connection)
        return connection

    def fabric_id(self) -> str:
        """The test fabric registered in the vault (connect and discover, once)."""
        if not self._fabric_id:
            fabric = self.fabric
            self._fabric_id = self.register_fabric(
                fabric.kind, fabric.address, fabric.username, fabric.password, dict(fabric.options)
            )
            self._probes.append(self.ctx.fabric_connection(self._fabric_id))
        return self._fabric_id

    def discovered(self, name: str, connection: FabricConnection | None = None) -> Machine:
        """The machine named ``name`` as the plugin's discovery reports it now."""
        inventory = self.plugins.discover(connection or self.probe())
        found = [m for m in inventory.machines if m.name == name]
        expect(
            len(found) == 1,
            f"srp_discover should list the machine {name!r} once, found {len(found)} "
            f"among {sorted(m.name for m in inventory.machines)!r}",
        )
        return found[0]

    def new_machine(self, name: str, sizes: tuple[int, ...] = ()) -> Machine:
        """Create a machine on the test fabric with content at both ends of every disk."""
        self.source.create_machine(name, sizes or self.fabric.disk_sizes)
        machine = self.discovered(name)
        for seed, disk in enumerate(machine.disks):
            self.source.write_disk(name, disk.disk_id, 0, pattern(seed, 64 * KIB))
            tail = pattern(100 + seed, 8 * KIB)
            self.source.write_disk(name, disk.disk_id, disk.capacity - len(tail), tail)
        return machine

    def protect_new(
        self, name: str, sizes: tuple[int, ...] = (), *, group: str = ""
    ) -> ProtectedMachine:
        """Create, discover, map and protect a machine (not yet replicated)."""
        machine = self.new_machine(name, sizes)
        fabric_id = self.fabric_id()
        self.refresh(fabric_id)
        self._map_networks(fabric_id, machine)
        item = self.protect(fabric_id, machine.machine_id, policy=self.policy(), group=group)
        return ProtectedMachine(name, machine, item.item_id)

    def replicated(self, name: str = "web01") -> ProtectedMachine:
        """A protected machine whose initial replication is done and checked."""
        protected = self.protect_new(name)
        expected = self.content(protected)
        self.expect_exact(protected, self.replicate(protected), expected, "initial replication")
        return protected

    def policy(self) -> str:
        """A replication policy the kind can honour (its copy frequency and retention)."""
        with self.store.read() as tx:
            if tx.policies.find(POLICY) is not None:
                return POLICY
        caps = self.capabilities
        retention = min(24, caps.max_retention_hours)
        self.add_policy(POLICY, retention_hours=retention, **_frequency(caps))
        return POLICY

    def cycle(
        self, *item_ids: str, consistency: Consistency = Consistency.CRASH, resync_now: bool = False
    ) -> CycleReport:
        self.virtual_clock.advance(CYCLE_SECONDS)
        return super().cycle(*item_ids, consistency=consistency, resync_now=resync_now)

    def replicate(
        self, protected: ProtectedMachine, consistency: Consistency = Consistency.CRASH
    ) -> RecoveryPoint:
        """One cycle that must record exactly one point for the machine."""
        report = self.cycle(protected.item_id, consistency=consistency)
        self.last_report = report
        points = [p for p in report.recorded if p.item_id == protected.item_id]
        expect(
            len(points) == 1,
            f"a cycle of {protected.name!r} should record one recovery point, recorded "
            f"{len(points)} (note: {report.note or 'none'})",
        )
        return points[0]

    def content(self, protected: ProtectedMachine) -> dict[str, bytes]:
        """Every disk of the machine as the test fabric holds it now."""
        return {d: self.source.read_disk(protected.name, d) for d in protected.disk_ids}

    def expect_exact(
        self,
        protected: ProtectedMachine,
        point: RecoveryPoint,
        expected: Mapping[str, bytes],
        what: str,
    ) -> None:
        """Each disk of the point, as the target materialises it, equals ``expected``."""
        for disk in point.disks:
            replica = self.replica_bytes(protected.item_id, disk.disk_id, disk.sequence)
            expect_same_bytes(replica, expected[disk.disk_id], f"{what}: disk {disk.disk_id}")

    def replica_content(self, replica_id: str) -> dict[str, bytes]:
        """Every disk of a replica machine on the target's compute."""
        machine = self.compute.find(replica_id)
        if machine is None:
            fail(f"the target has no replica machine {replica_id!r}")
        return {
            d.disk_id: self.compute.read_disk(replica_id, d.disk_id, 0, d.capacity)
            for d in machine.disks
        }

    def power_state(self, name: str) -> str:
        """The machine's power state as the plugin's discovery reports it."""
        return self.discovered(name).power_state

    def _map_networks(self, fabric_id: str, machine: Machine) -> None:
        with self.store.unit() as tx:
            for network in sorted({nic.network_id for nic in machine.nics}):
                tx.mappings.put_network(
                    NetworkMapping(
                        fabric_id, network, self.target_id, TARGET_NETWORK, IpPolicy.KEEP
                    )
                )


def expect_same_bytes(actual: bytes, expected: bytes, what: str) -> None:
    """Fail naming the first differing offset, never dumping whole disks."""
    if actual == expected:
        return
    if len(actual) != len(expected):
        fail(f"{what}: {len(actual)} bytes, expected {len(expected)}")
    first = next(i for i, (a, b) in enumerate(zip(actual, expected, strict=True)) if a != b)
    fail(
        f"{what}: bytes differ from offset {first} "
        f"(got {actual[first : first + 8].hex()}, expected {expected[first : first + 8].hex()})"
    )


def _frequency(caps: Capabilities) -> dict[str, object]:
    # A Hyper-V style policy when the kind honours one of its periods, else a
    # continuous one at the kind's first declared period.
    allowed = caps.copy_frequencies or HYPERV_COPY_FREQUENCIES
    hyperv = [f for f in (300, *HYPERV_COPY_FREQUENCIES) if f in allowed]
    if hyperv:
        return {"family": PolicyFamily.HYPERV, "copy_frequency_sec": hyperv[0]}
    return {"family": PolicyFamily.CONTINUOUS, "crash_consistent_frequency_min": allowed[0] // 60}
