"""A complete srp engine in a temporary directory, for tests and plugin authors.

:class:`EngineHarness` wires a real vault (SQLite), its keys, a plugin
manager holding the plugins you give plus the embedded cloud target, and a
replication engine context. It registers fabrics through the same sealed
secrets path registration uses, so a test exercises what production does.

Example::

    plugin = SimulatedFabricPlugin()
    fabric = plugin.add_fabric("sim-01")
    vm = fabric.add_machine("web01", disks=[1 << 20])
    with EngineHarness(tmp_path, plugins={"simulated": plugin}) as lab:
        fabric_id = lab.register_fabric("simulated", "sim-01", "admin", "secret")
        item = lab.protect(fabric_id, vm.machine_id)
        report = lab.cycle(item.item_id)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import provider.targets.cloud as cloud_target
from provider.contracts.connection import Secret
from provider.contracts.transfer import DiskRef
from provider.engine.context import EngineContext
from provider.engine.cycle import CycleReport, run_cycle
from provider.engine.forwarder import RetryPolicy
from provider.engine.process_servers import ProcessServer
from provider.engine.protect import ProtectRequest, protect
from provider.model.inventory import Fabric
from provider.model.item import ProtectedItem
from provider.model.policy import PolicyFamily, ReplicationPolicy
from provider.model.recovery import Consistency, RecoveryPoint
from provider.pluginmanager import PluginManager
from provider.store.targets import Target
from provider.store.vaultstore import VaultStore
from provider.targets.storage_account import StorageAccount
from provider.vault.sealed import SealedSecrets
from provider.vault.setup import init_vault, open_vault


class EngineHarness:
    """A vault, plugins, a cloud target and an engine under one directory."""

    def __init__(
        self,
        root: Path,
        *,
        plugins: Mapping[str, object],
        clock: Callable[[], float] = time.time,
        cache_bytes: int = 1 << 30,
        process_servers: Sequence[ProcessServer] = (),
    ) -> None:
        self.root = root
        self.home = root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.store = VaultStore.open(f"sqlite:///{self.home / 'vault.db'}")
        init_vault(self.store, self.home)
        self.vault = open_vault(self.store, self.home)
        self.plugins = PluginManager()
        self.plugins.register(cloud_target, name="cloud")
        for name, plugin in plugins.items():
            self.plugins.register(plugin, name=name)
        # Retries stay real but quick: a test of an outage should not sleep for seconds.
        self.ctx = EngineContext(
            self.store,
            self.plugins,
            self.vault,
            root / "ps",
            clock=clock,
            cache_bytes=cache_bytes,
            retry=RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05),
            process_servers=process_servers,
        )
        self.target_id = self.add_target(root / "storage-account")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.store.close()

    def register_fabric(
        self,
        kind: str,
        address: str,
        username: str,
        password: str,
        options: Mapping[str, str] | None = None,
    ) -> str:
        """Connect, discover and store a fabric with its secret sealed; returns its id."""
        fabric = Fabric(
            f"fab-{uuid.uuid4().hex[:8]}",
            address,
            kind,
            address,
            username,
            tuple((options or {}).items()),
        )
        secret = Secret(password)
        with self.store.unit() as tx:
            SealedSecrets(self.vault.box).add_fabric(tx, fabric, secret)
        self.refresh(fabric.fabric_id)
        return fabric.fabric_id

    def refresh(self, fabric_id: str) -> None:
        """Re-discover a fabric's inventory."""
        connection = self.ctx.fabric_connection(fabric_id)
        self.plugins.connect(connection)
        inventory = self.plugins.discover(connection)
        with self.store.unit() as tx:
            tx.fabrics.save_inventory(fabric_id, inventory, self.ctx.clock())

    def add_target(self, path: Path, quota_bytes: int | None = None) -> str:
        """Register a cloud target (directory-backed storage account), creating its folder."""
        path.mkdir(parents=True, exist_ok=True)
        options = [("path", str(path))]
        if quota_bytes is not None:
            options.append(("quota_bytes", str(quota_bytes)))
        target = Target(f"tgt-{uuid.uuid4().hex[:8]}", "cloud", str(path), tuple(options))
        with self.store.unit() as tx:
            SealedSecrets(self.vault.box).add_target(tx, target, Secret(""))
        return target.target_id

    def add_policy(self, name: str = "default", **settings: object) -> str:
        """Store a replication policy (Hyper-V family, 5 min, encrypted by default)."""
        fields: dict[str, object] = {"family": PolicyFamily.HYPERV, "copy_frequency_sec": 300}
        fields.update(settings)
        policy = ReplicationPolicy(name=name, **fields)  # type: ignore[arg-type]
        with self.store.unit() as tx:
            tx.policies.add(policy)
        return name

    def protect(
        self, fabric_id: str, machine_id: str, *, policy: str = "", group: str = ""
    ) -> ProtectedItem:
        """Protect a machine towards the harness's cloud target."""
        with self.store.read() as tx:
            has_default = tx.policies.find("default") is not None
        if not policy and not has_default:
            self.add_policy()
        request = ProtectRequest(fabric_id, machine_id, policy or "default", self.target_id, group)
        return protect(self.ctx, request)

    def cycle(
        self, *item_ids: str, consistency: Consistency = Consistency.CRASH, resync_now: bool = False
    ) -> CycleReport:
        """Run one replication cycle of these items (cut together)."""
        return run_cycle(self.ctx, list(item_ids), consistency=consistency, resync_now=resync_now)

    def item(self, item_id: str) -> ProtectedItem:
        """The item as the vault holds it now."""
        with self.store.read() as tx:
            return tx.items.get(item_id)

    def replica_bytes(self, item_id: str, disk_id: str, sequence: int) -> bytes:
        """The replica disk as materialised on the target at an HRL sequence."""
        target = self.ctx.target_connection(self.target_id)
        with self.store.read() as tx:
            item = tx.items.get(item_id)
            machine = tx.fabrics.inventory(item.fabric_id).machine(item.machine_id)
        ref = DiskRef(item_id, disk_id, machine.disk(disk_id).capacity)
        replica = StorageAccount.from_connection(target).disk(ref)
        with replica.open_view(sequence) as view:
            return view.read(0, ref.capacity)

    def points(self, item_id: str) -> list[RecoveryPoint]:
        """The item's recorded recovery points, oldest first."""
        with self.store.read() as tx:
            return tx.points.for_item(item_id)
