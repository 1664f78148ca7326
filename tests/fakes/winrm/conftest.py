"""Fixtures for the loopback WinRM server tests: an echo backend, servers, clients.

The suite runs with ``--import-mode=importlib``, so test modules cannot
import helpers from here: everything they share comes through fixtures.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import winrm
from winrm.protocol import Protocol

from fakes.winrm import CommandRequest, CommandResult, WinRMServer


@dataclass(frozen=True)
class Credentials:
    user: str = "admin"
    password: str = "Passw0rd!"


class EchoBackend:
    """Answers by rules the tests can predict exactly.

    * not PowerShell: stdout ``<command>|<arguments joined by ;>``, exit 0;
    * ``big:<n>``: stdout :meth:`payload` of ``n`` bytes, stderr ``big``, exit 0;
    * ``wait``: blocks until :attr:`gate` says go, then stdout ``waited``;
    * ``boom``: raises ``RuntimeError("boom")``;
    * anything else: stdout the script reversed (UTF-8), stderr ``len=<n>``,
      exit code ``n % 7``.
    """

    def __init__(self) -> None:
        self.requests: list[CommandRequest] = []
        self._lock = threading.Lock()
        self.gate: Callable[[], bool] = lambda: True

    @staticmethod
    def payload(size: int) -> bytes:
        """Deterministic bytes in which every byte value appears."""
        return bytes((index * 31 + index // 256) % 256 for index in range(size))

    def run(self, request: CommandRequest) -> CommandResult:
        with self._lock:
            self.requests.append(request)
        script = request.script
        if script is None:
            line = f"{request.command}|{';'.join(request.arguments)}"
            return CommandResult(line.encode(), b"", 0)
        if script.startswith("big:"):
            return CommandResult(self.payload(int(script[4:])), b"big", 0)
        if script == "wait":
            return self._wait()
        if script == "boom":
            raise RuntimeError("boom")
        return CommandResult(script[::-1].encode(), f"len={len(script)}".encode(), len(script) % 7)

    def _wait(self) -> CommandResult:
        # Polls the gate instead of sleeping a fixed time, so no test depends on wall
        # time; the bound only keeps a broken test from hanging.
        deadline = time.monotonic() + 20
        while not self.gate() and time.monotonic() < deadline:
            time.sleep(0.01)
        return CommandResult(b"waited", b"", 0)


@pytest.fixture
def creds() -> Credentials:
    return Credentials()


@pytest.fixture
def backend() -> EchoBackend:
    return EchoBackend()


@pytest.fixture
def make_server(backend: EchoBackend, creds: Credentials) -> Iterator[Callable[..., WinRMServer]]:
    """Start servers with the echo backend; every one is stopped at teardown."""
    started: list[WinRMServer] = []

    def start(**options: Any) -> WinRMServer:
        options.setdefault("users", {creds.user: creds.password})
        server = WinRMServer(backend, **options)
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., WinRMServer]) -> WinRMServer:
    """A plain HTTP server accepting Basic and NTLM."""
    return make_server()


@pytest.fixture
def connect(creds: Credentials) -> Callable[..., winrm.Session]:
    """``connect(server, transport="basic", **options)``: a pywinrm session as ``creds``."""

    def session(server: WinRMServer, transport: str = "basic", **options: Any) -> winrm.Session:
        options.setdefault("auth", (creds.user, creds.password))
        return winrm.Session(server.endpoint, transport=transport, **options)

    return session


@pytest.fixture
def protocol(creds: Credentials) -> Callable[[WinRMServer], Protocol]:
    """``protocol(server)``: a low-level pywinrm Protocol over Basic as ``creds``."""

    def make(server: WinRMServer) -> Protocol:
        return Protocol(
            server.endpoint, transport="basic", username=creds.user, password=creds.password
        )

    return make
