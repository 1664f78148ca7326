"""An engine harness with the inmage plugin and the S5 lab's CX as a native target.

Import as ``tests.native.native_testkit``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fakes.harness import EngineHarness
from fakes.inmage import CxServer, serve_cx
from fakes.inmage.lab import S5Lab, build_s5_lab
from plugins.inmage import plugin as inmage_plugin
from provider.contracts.connection import Secret
from provider.failover import FailoverService
from provider.model.inventory import Machine
from provider.model.policy import PolicyFamily
from provider.store.targets import Target
from provider.vault.sealed import SealedSecrets


@dataclass
class NativeLab:
    """The harness, the S5 lab, its served CX, a registered CX fabric and inmage-site target."""

    harness: EngineHarness
    lab: S5Lab
    server: CxServer
    fabric_id: str
    target_id: str
    failover: FailoverService

    def machine(self, name: str) -> Machine:
        with self.harness.store.read() as tx:
            inventory = tx.fabrics.inventory(self.fabric_id)
        return next(m for m in inventory.machines if m.name == name)


def _add_site(harness: EngineHarness, lab: S5Lab, server: CxServer) -> str:
    options = (("transport", "http"), ("retry_wait", "0"))
    options += (("process_server", "ps01"), ("master_target", "mt01"))
    target = Target(f"tgt-{uuid.uuid4().hex[:8]}", "inmage-site", server.address, options)
    with harness.store.unit() as tx:
        SealedSecrets(harness.vault.box).add_target(tx, target, Secret(lab.cx.passphrase))
    return target.target_id


@contextmanager
def native_lab(root: Path) -> Iterator[NativeLab]:
    """The S5 lab served over loopback HTTP, registered in a fresh vault."""
    lab = build_s5_lab()
    with (
        serve_cx(lab.cx, tls=False) as server,
        EngineHarness(root, plugins={"inmage": inmage_plugin}, clock=lab.clock.now) as harness,
    ):
        options = {"transport": "http", "retry_wait": "0"}
        fabric_id = harness.register_fabric(
            "inmage", server.address, "srp", lab.cx.passphrase, options
        )
        target_id = _add_site(harness, lab, server)
        harness.add_policy("scout", family=PolicyFamily.CONTINUOUS, retention_hours=72)
        try:
            yield NativeLab(
                harness, lab, server, fabric_id, target_id, FailoverService(harness.ctx)
            )
        finally:
            inmage_plugin.CLIENTS.drop(fabric_id)
            inmage_plugin.CLIENTS.drop(target_id)
