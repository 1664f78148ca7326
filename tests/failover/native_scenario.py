"""The ``simulated-native`` scenario: a simulated fabric's machine on a natively replicating target.

Import as ``tests.failover.native_scenario``.

The source is :class:`fakes.fabric.SimulatedFabric`'s web01 (the suite's two
disks and patterns, one NIC on ``net-prod`` at ``SOURCE_IP``); the target is
:class:`fakes.native.SimulatedNativeTarget`'s recovery site, registered as a
target of kind ``simulated-native`` and mapped ``net-prod`` -> ``vnet-prod``.
The machine is protected through ``provider.native.protect_native`` in group
``web``, and one round has recorded a point.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fakes.clock import VirtualClock
from fakes.fabric import SimulatedFabricPlugin
from fakes.native import NATIVE_KIND, RecoverySite, SimulatedNativeTarget
from fakes.workload import write_pattern
from provider.contracts.connection import Secret
from provider.native import NativeProtectRequest, protect_native
from provider.store.targets import Target
from provider.vault.sealed import SealedSecrets
from tests.failover.failover_testkit import (
    DISK_SIZES,
    KIB,
    SOURCE_IP,
    FailoverLab,
    Protected,
    SimulatedSource,
)

#: The replication group the scenario protects web01 in.
GROUP = "web"
SITE = "dr-site"


@dataclass
class SimulatedNativeSide:
    """:class:`tests.failover.failover_testkit.NativeSide` over the simulated native target."""

    target: SimulatedNativeTarget
    site: RecoverySite
    group_id: str = GROUP

    def replicate(self) -> None:
        self.target.replicate()

    def replica_content(self, replica_id: str) -> dict[str, bytes]:
        return self.site.replicas[replica_id].content()

    def write_replica(self, replica_id: str, disk_id: str, offset: int, data: bytes) -> None:
        self.site.replicas[replica_id].disks[disk_id].write(offset, data)

    def holds(self, replica_id: str) -> bool:
        return replica_id in self.site.replicas


def _add_native_target(lab: FailoverLab, site: RecoverySite) -> str:
    target = Target(f"tgt-{uuid.uuid4().hex[:8]}", NATIVE_KIND, site.address)
    with lab.store.unit() as tx:
        SealedSecrets(lab.vault.box).add_target(tx, target, Secret(site.passphrase))
    return target.target_id


@contextmanager
def simulated_native_scenario(
    root: Path,
    clock: VirtualClock,
    target_class: type[SimulatedNativeTarget] = SimulatedNativeTarget,
    round_seconds: float = 0.0,
) -> Iterator[Protected]:
    """web01 on a simulated fabric, protected natively toward a simulated recovery site.

    ``target_class`` plays another native plugin (one without some hooks);
    with ``round_seconds`` the target also replicates on the clock by itself.
    """
    sources = SimulatedFabricPlugin("simulated", clock=clock)
    fabric = sources.add_fabric("sim-01")
    machine = fabric.add_machine("web01", disks=list(DISK_SIZES))
    machine.addresses = (SOURCE_IP,)
    for index, disk in enumerate(machine.disks.values()):
        write_pattern(disk, 0, 64 * KIB, seed=index)
        write_pattern(disk, disk.capacity - 8 * KIB, 8 * KIB, seed=100 + index)
    target = target_class(sources, clock=clock, round_seconds=round_seconds)
    site = target.add_site(SITE)
    plugins = {"simulated": sources, NATIVE_KIND: target}
    with FailoverLab(root, plugins, clock) as lab:
        fabric_id = lab.register_fabric("simulated", "sim-01", "admin", "secret")
        # The suite maps and unmaps networks toward lab.target_id: the native target's here.
        lab.target_id = _add_native_target(lab, site)
        lab.native = SimulatedNativeSide(target, site)
        lab.map_network(fabric_id)
        lab.add_policy("native")
        request = NativeProtectRequest(
            fabric_id, (machine.machine_id,), "native", lab.target_id, GROUP
        )
        (item,) = protect_native(lab.ctx, request)
        source = SimulatedSource(fabric, machine)
        protected = Protected(lab, source, fabric_id, item.item_id, "simulated")
        protected.cycle()
        yield protected
