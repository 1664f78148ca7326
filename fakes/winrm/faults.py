"""Fault switches of a fake WinRM host, settable while it serves.

Tests flip them between calls to play a slow link (latency per request), a
flaky one (drop the next N connections without an answer), a host whose
commands outlast the operation timeout (a short server-side timeout), or a
host that refuses large requests (413 over a body size, a SOAP fault over
an envelope size).
"""

from __future__ import annotations

import threading

from provider.errors import ConfigurationError

#: WinRM's default ``MaxEnvelopeSizekb`` (500 KiB) on current Windows.
DEFAULT_MAX_ENVELOPE_BYTES = 512_000
#: Bodies above this are refused with 413 before they are read.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024


class FaultSwitches:
    """Thread-safe switches read by the server on every request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set_healthy()

    def _set_healthy(self) -> None:
        self._latency = 0.0
        self._drops_left = 0
        self._operation_timeout: float | None = None
        self._max_envelope_bytes = DEFAULT_MAX_ENVELOPE_BYTES
        self._max_body_bytes = DEFAULT_MAX_BODY_BYTES

    @property
    def latency(self) -> float:
        """Seconds slept before answering each request."""
        with self._lock:
            return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        with self._lock:
            self._latency = _non_negative("latency", seconds)

    @property
    def operation_timeout(self) -> float | None:
        """Seconds a ``Receive`` waits for a command; ``None`` honours the client's header."""
        with self._lock:
            return self._operation_timeout

    @operation_timeout.setter
    def operation_timeout(self, seconds: float | None) -> None:
        with self._lock:
            self._operation_timeout = None if seconds is None else _positive("timeout", seconds)

    @property
    def max_envelope_bytes(self) -> int:
        """Largest request envelope accepted; larger ones get a ``w:EncodingLimit`` fault."""
        with self._lock:
            return self._max_envelope_bytes

    @max_envelope_bytes.setter
    def max_envelope_bytes(self, size: int) -> None:
        with self._lock:
            self._max_envelope_bytes = int(_positive("max_envelope_bytes", size))

    @property
    def max_body_bytes(self) -> int:
        """Largest HTTP body read at all; larger ones get 413 and a closed connection."""
        with self._lock:
            return self._max_body_bytes

    @max_body_bytes.setter
    def max_body_bytes(self, size: int) -> None:
        with self._lock:
            self._max_body_bytes = int(_positive("max_body_bytes", size))

    def drop_next(self, count: int = 1) -> None:
        """Close the connection without an answer for the next ``count`` requests."""
        with self._lock:
            self._drops_left = int(_non_negative("count", count))

    def take_drop(self) -> bool:
        """``True`` when this request is to be dropped (consumes one pending drop)."""
        with self._lock:
            if self._drops_left == 0:
                return False
            self._drops_left -= 1
            return True

    def reset(self) -> None:
        """Back to a healthy host."""
        with self._lock:
            self._set_healthy()


def _non_negative(name: str, value: float) -> float:
    if value < 0:
        raise ConfigurationError(f"fault switch {name} must be >= 0, got {value}")
    return value


def _positive(name: str, value: float) -> float:
    if value <= 0:
        raise ConfigurationError(f"fault switch {name} must be > 0, got {value}")
    return value
