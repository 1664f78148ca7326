"""The ``srp serve`` process: lock, socket, TLS, uvicorn, discovery file, shutdown.

- One service per vault: an exclusive ``flock`` on ``SRP_HOME/service.lock``
  (holding the owner's pid); a second service is refused naming that pid.
- The socket is bound before uvicorn starts, so ``--port 0`` gets a free
  port whose URL goes into ``SRP_HOME/service.json`` ({url, pid, ca}) for
  the CLI to find.
- SIGTERM and SIGINT shut down gracefully (uvicorn's handlers): requests
  drain, the app's lifespan stops the scheduler and the job worker, then
  ``service.json`` is removed and the lock released.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import IO

import uvicorn
from fastapi import FastAPI

from provider.errors import AlreadyExists, ConfigurationError
from provider.pluginmanager import PluginManager
from provider.service.app import create_app
from provider.service.context import ServiceOptions
from provider.settings import Settings

LOCK_FILE = "service.lock"
DISCOVERY_FILE = "service.json"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8470
_STARTUP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Listen:
    """Where and how the service listens."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    cert: Path | None = None
    key: Path | None = None
    ca: Path | None = None

    @property
    def tls(self) -> bool:
        return self.cert is not None


class ServiceRuntime:
    """One running service: in the foreground (:meth:`run`) or on a thread (:meth:`start`)."""

    def __init__(
        self,
        settings: Settings,
        listen: Listen,
        *,
        plugins: PluginManager | None = None,
        clock: Callable[[], float] = time.time,
        options: ServiceOptions | None = None,
    ) -> None:
        _check_tls(listen)
        self.settings = settings
        self.listen = listen
        self._plugins = plugins
        self._clock = clock
        self._options = options or ServiceOptions()
        self._lock: IO[str] | None = None
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def run(self, announce: Callable[[str], None] | None = None) -> None:
        """Serve until SIGTERM or SIGINT, then shut down gracefully."""
        with _quiet_after_shutdown():
            server = self._prepare()
            try:
                if announce is not None:
                    announce(self.url)
                server.run(sockets=[self._bound()])
            finally:
                self._cleanup()

    def start(self) -> str:
        """Serve on a background thread; returns the URL once the service answers."""
        server = self._prepare()
        sock = self._bound()
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="srp-service", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not server.started:
            self.stop()
            raise ConfigurationError(f"the service at {self.url} did not start")
        return self.url

    def stop(self) -> None:
        """Stop a service started with :meth:`start`."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(60)
        self._cleanup()

    @property
    def app(self) -> FastAPI:
        """The app (tests reach the scheduler through it)."""
        assert self._server is not None
        app = self._server.config.app
        assert isinstance(app, FastAPI)
        return app

    def _prepare(self) -> uvicorn.Server:
        self._lock = acquire_lock(self.settings.home)
        try:
            self._socket = _bind(self.listen)
            port = self._socket.getsockname()[1]
            scheme = "https" if self.listen.tls else "http"
            self.url = f"{scheme}://{_url_host(self.listen.host)}:{port}"
            app = create_app(
                self.settings,
                plugins=self._plugins,
                clock=self._clock,
                options=replace(self._options, service_url=self.url),
            )
            self._server = uvicorn.Server(self._config(app))
            write_discovery(self.settings.home, self.url, self.listen)
        except BaseException:
            self._cleanup()
            raise
        return self._server

    def _config(self, app: FastAPI) -> uvicorn.Config:
        return uvicorn.Config(
            app,
            ssl_certfile=str(self.listen.cert) if self.listen.cert else None,
            ssl_keyfile=str(self.listen.key) if self.listen.key else None,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=int(self._options.stop_timeout),
        )

    def _bound(self) -> socket.socket:
        assert self._socket is not None
        return self._socket

    def _cleanup(self) -> None:
        (self.settings.home / DISCOVERY_FILE).unlink(missing_ok=True)
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._lock is not None:
            self._lock.close()  # closing the descriptor releases the flock
            self._lock = None


def acquire_lock(home: Path) -> IO[str]:
    """The vault's service lock, held while the returned file stays open."""
    handle = (home / LOCK_FILE).open("a+", encoding="ascii")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        raise AlreadyExists(
            f"a service is already running on the vault in {home} (pid {owner})",
            hint="stop it first, or use the running one",
        ) from exc
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def write_discovery(home: Path, url: str, listen: Listen) -> Path:
    """``service.json``: where the CLI finds the running service, and its CA."""
    record: dict[str, object] = {"url": url, "pid": os.getpid()}
    if listen.tls:
        record["ca"] = str((listen.ca or listen.cert or Path()).resolve())
    path = home / DISCOVERY_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path


def _bind(listen: Listen) -> socket.socket:
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((listen.host, listen.port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            f"cannot listen on {listen.host}:{listen.port}: {exc.strerror or exc}",
            hint="choose another port with --port (0 picks a free one)",
        ) from exc
    sock.listen(128)
    return sock


def _check_tls(listen: Listen) -> None:
    if (listen.cert is None) != (listen.key is None):
        raise ConfigurationError("TLS needs both --cert and --key")
    for path in (listen.cert, listen.key, listen.ca):
        if path is not None and not path.is_file():
            raise ConfigurationError(f"TLS file {str(path)!r} does not exist")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@contextlib.contextmanager
def _quiet_after_shutdown() -> Iterator[None]:
    # uvicorn re-raises the signal that stopped it once it has shut down; with
    # these no-op handlers in place the process then returns normally, so the
    # discovery file is removed and `srp serve` exits 0.
    def ignore(signum: int, frame: FrameType | None) -> None:
        return None

    previous = {sig: signal.signal(sig, ignore) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
