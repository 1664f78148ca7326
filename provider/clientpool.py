"""One client per registered fabric: the cache every fabric plugin needs.

A plugin is called with a :class:`~provider.contracts.connection.FabricConnection`
on every hook; opening a session each time would log in per call. The pool
makes one client per (fabric id, address) on first use and closes a
fabric's clients when ``srp_disconnect`` drops them. Thread safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from provider.contracts.connection import FabricConnection


class Closeable(Protocol):
    """A client that releases its session and sockets on close."""

    def close(self) -> None: ...


C = TypeVar("C", bound=Closeable)


class ClientPool(Generic[C]):
    """Clients by fabric id and address, made by ``factory`` on first use."""

    def __init__(self, factory: Callable[[FabricConnection], C]) -> None:
        self._factory = factory
        self._clients: dict[tuple[str, str], C] = {}
        self._lock = threading.Lock()

    def get(self, connection: FabricConnection) -> C:
        """The fabric's client, made now if this is its first use."""
        key = (connection.fabric_id, connection.address)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._factory(connection)
            return client

    def drop(self, connection: FabricConnection) -> None:
        """Close and forget every client of this fabric."""
        with self._lock:
            keys = [key for key in self._clients if key[0] == connection.fabric_id]
            dropped = [self._clients.pop(key) for key in keys]
        for client in dropped:
            client.close()

    def __len__(self) -> int:
        with self._lock:
            return len(self._clients)
