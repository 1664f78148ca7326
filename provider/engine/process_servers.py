"""Process servers: where replication data is cached, compressed, encrypted and forwarded.

A deployment has one or more process servers (ASR scales out by adding
them). Each protected item is assigned to one, the least loaded relative to
its capacity at the time, and stays there. Load is the churn its items
shipped over the last day; a server over its capacity raises a Warning on
its items, as ASR does past about 2 TB of churn a day. Each server has its
own bounded HRL cache. Assignments and churn live in the process servers'
local state (a JSON file), like the cache they describe.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provider.engine.cache import HrlCache
from provider.errors import ValidationError
from provider.model.checks import require_id, require_positive

DAY = 86400.0
#: assigned: item -> server name; churn: item -> [[time, bytes], ...] over the last day.
State = dict[str, dict[str, Any]]
#: ASR's figure: a process server handles about 2 TB of churn a day.
DEFAULT_CAPACITY_PER_DAY = 2 * 10**12


@dataclass(frozen=True)
class ProcessServer:
    """One process server: its name, daily churn capacity and cache bound."""

    name: str
    capacity_per_day: int = DEFAULT_CAPACITY_PER_DAY
    cache_bytes: int = 8 * 1024**3

    def __post_init__(self) -> None:
        require_id("ProcessServer", "name", self.name)
        require_positive("ProcessServer", "capacity_per_day", self.capacity_per_day)
        require_positive("ProcessServer", "cache_bytes", self.cache_bytes)


@dataclass(frozen=True)
class ServerLoad:
    """A process server's churn over the last day against its capacity."""

    server: ProcessServer
    bytes_last_day: int
    items: int

    @property
    def fraction(self) -> float:
        """Load as a share of capacity (above 1.0 means over capacity)."""
        return self.bytes_last_day / self.server.capacity_per_day


class ProcessServerPool:
    """The process servers of a deployment, their items and their churn."""

    def __init__(self, state_dir: Path, servers: Sequence[ProcessServer]) -> None:
        if not servers:
            raise ValidationError("a deployment needs at least one process server")
        names = [s.name for s in servers]
        if len(set(names)) != len(names):
            raise ValidationError(f"process server names must be unique: {names}")
        self.servers = {s.name: s for s in servers}
        self._state = state_dir / "process-servers.json"
        self._caches = {
            s.name: HrlCache(state_dir / "cache" / s.name, s.cache_bytes) for s in servers
        }
        self._lock = threading.Lock()

    def server_for(self, item_id: str) -> ProcessServer:
        """The item's process server, assigning the least loaded one on first use."""
        with self._lock:
            state = self._read()
            name = state["assigned"].get(item_id)
            if name not in self.servers:
                name = self._least_loaded(state, now=None)
                state["assigned"][item_id] = name
                self._write(state)
            return self.servers[name]

    def cache_for(self, item_id: str) -> HrlCache:
        """The HRL cache of the item's process server."""
        return self._caches[self.server_for(item_id).name]

    def caches(self) -> list[HrlCache]:
        """Every process server's cache."""
        return list(self._caches.values())

    def record_churn(self, item_id: str, shipped: int, at: float) -> None:
        """Account bytes an item shipped through its process server."""
        with self._lock:
            state = self._read()
            samples = state["churn"].setdefault(item_id, [])
            samples.append([at, shipped])
            state["churn"][item_id] = [s for s in samples if at - s[0] <= DAY]
            self._write(state)

    def release(self, item_id: str) -> None:
        """Forget an item (its protection was removed)."""
        with self._lock:
            state = self._read()
            state["assigned"].pop(item_id, None)
            state["churn"].pop(item_id, None)
            self._write(state)

    def loads(self, now: float) -> list[ServerLoad]:
        """Every server's load over the day before ``now``."""
        state = self._read()
        return [self._load(state, server, now) for server in self.servers.values()]

    def load_of(self, item_id: str, now: float) -> ServerLoad:
        """The load of the item's process server."""
        server = self.server_for(item_id)
        return self._load(self._read(), server, now)

    def _load(self, state: State, server: ProcessServer, now: float | None) -> ServerLoad:
        items = [i for i, name in state["assigned"].items() if name == server.name]
        total = sum(
            size
            for item in items
            for at, size in state["churn"].get(item, [])
            if now is None or now - at <= DAY
        )
        return ServerLoad(server, total, len(items))

    def _least_loaded(self, state: State, now: float | None) -> str:
        loads = [self._load(state, server, now) for server in self.servers.values()]
        best = min(loads, key=lambda load: (load.fraction, load.items, load.server.name))
        return best.server.name

    def _read(self) -> State:
        if not self._state.exists():
            return {"assigned": {}, "churn": {}}
        return dict(json.loads(self._state.read_text()))

    def _write(self, state: State) -> None:
        self._state.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._state.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, sort_keys=True))
        temporary.replace(self._state)
