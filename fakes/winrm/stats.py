"""Counters of a fake WinRM host, for tests and for round-trip benchmarks."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

CounterName = Literal[
    "http_requests",
    "unauthorized",
    "sealed_messages",
    "dropped_connections",
    "commands_run",
    "backend_errors",
    "faults",
]


@dataclass(frozen=True)
class StatsSnapshot:
    """The counters at one moment.

    ``http_requests`` counts every HTTP request read, including the
    authentication legs of NTLM; ``unauthorized`` every 401 answered (the
    first legs of NTLM too); ``sealed_messages`` the requests that arrived
    with NTLM message encryption; ``commands_run`` the commands started;
    ``actions`` the SOAP requests by the last segment of their action
    (``Create``, ``Receive``...), faulted ones included.
    """

    http_requests: int = 0
    unauthorized: int = 0
    sealed_messages: int = 0
    dropped_connections: int = 0
    commands_run: int = 0
    backend_errors: int = 0
    faults: int = 0
    actions: Mapping[str, int] = field(default_factory=dict)

    @property
    def soap_requests(self) -> int:
        return sum(self.actions.values())


class ServerStats:
    """Thread-safe counters updated by the server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._actions: Counter[str] = Counter()

    def count(self, name: CounterName) -> None:
        """Add one to a :class:`StatsSnapshot` field (``http_requests``, ``faults``...)."""
        with self._lock:
            self._counts[name] += 1

    def count_action(self, action: str) -> None:
        with self._lock:
            self._actions[action.rsplit("/", 1)[-1]] += 1

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            counts = self._counts
            return StatsSnapshot(
                http_requests=counts["http_requests"],
                unauthorized=counts["unauthorized"],
                sealed_messages=counts["sealed_messages"],
                dropped_connections=counts["dropped_connections"],
                commands_run=counts["commands_run"],
                backend_errors=counts["backend_errors"],
                faults=counts["faults"],
                actions=dict(self._actions),
            )

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._actions.clear()
