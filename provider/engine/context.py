"""Everything a replication cycle needs, wired once by the service or a test."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from provider.blockdigest import DIGEST_BLOCK_SIZE, BlockDigestTable
from provider.contracts.connection import FabricConnection, TargetConnection
from provider.contracts.transfer import DiskRef
from provider.engine.cache import HrlCache
from provider.engine.forwarder import RetryPolicy
from provider.engine.process_servers import ProcessServer, ProcessServerPool
from provider.model.checks import require_id
from provider.pluginmanager import PluginManager
from provider.store.vaultstore import VaultStore
from provider.vault.sealed import SealedSecrets
from provider.vault.setup import Vault

#: Default bound of the process server's HRL cache.
DEFAULT_CACHE_BYTES = 8 * 1024**3
#: The process server of a single-server deployment.
LOCAL_PROCESS_SERVER = "ps-local"


@dataclass
class EngineContext:
    """The vault, its keys, the plugins, and the process server's local state.

    ``state_dir`` holds the process server's cache and the source block
    digest tables; it is local disk, like ASR's process server cache.
    ``verify_points`` makes every cycle check the target's digest of the new
    point against the source's before recording it.
    """

    store: VaultStore
    plugins: PluginManager
    vault: Vault
    state_dir: Path
    clock: Callable[[], float] = time.time
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    cache_bytes: int = DEFAULT_CACHE_BYTES
    verify_points: bool = True
    process_servers: Sequence[ProcessServer] = ()
    pool: ProcessServerPool = field(init=False)

    def __post_init__(self) -> None:
        servers = self.process_servers or (
            ProcessServer(LOCAL_PROCESS_SERVER, cache_bytes=self.cache_bytes),
        )
        self.pool = ProcessServerPool(self.state_dir, servers)

    @property
    def cache(self) -> HrlCache:
        """The first process server's cache (the only one in a single-server deployment)."""
        return self.pool.caches()[0]

    def cache_for(self, item_id: str) -> HrlCache:
        """The HRL cache of the process server the item is assigned to."""
        return self.pool.cache_for(item_id)

    def fabric_connection(self, fabric_id: str) -> FabricConnection:
        """The fabric's connection with its secret unsealed."""
        with self.store.read() as tx:
            return SealedSecrets(self.vault.box).fabric_connection(tx, fabric_id)

    def target_connection(self, target_id: str) -> TargetConnection:
        """The target's connection with its secret unsealed and its plugin's state directory."""
        with self.store.read() as tx:
            target = SealedSecrets(self.vault.box).target_connection(tx, target_id)
        state = self.state_dir / "targets" / target_id
        state.mkdir(parents=True, exist_ok=True)
        return replace(target, state_dir=str(state))

    def digest_table(self, disk: DiskRef, capacity: int) -> BlockDigestTable:
        """The source's block digests for one disk, kept by the process server."""
        require_id("digest table", "item_id", disk.item_id)
        require_id("digest table", "disk_id", disk.disk_id)
        path = self.state_dir / "digests" / disk.item_id / f"{disk.disk_id}.digests"
        return BlockDigestTable(path, capacity, DIGEST_BLOCK_SIZE)

    def data_key(self, encrypt: bool) -> tuple[bytes | None, str]:
        """The key and key id HRLs are sealed with under a policy."""
        return (self.vault.data_key, self.vault.vault_id) if encrypt else (None, "")
