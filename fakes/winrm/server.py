"""The loopback WinRM server: HTTP/1.1 front, threads, keep-alive, TLS.

One thread per TCP connection, HTTP/1.1 keep-alive (NTLM authenticates the
connection, not the request), optional TLS with a generated certificate.
Each request goes through the fault switches, then authentication, then
message unsealing, then the WS-Management service::

    from fakes.winrm import WinRMServer

    with WinRMServer(backend, users={"admin": "Passw0rd!"}) as server:
        session = winrm.Session(server.endpoint, auth=("admin", "Passw0rd!"),
                                transport="ntlm")
        session.run_ps("Get-VM")
"""

from __future__ import annotations

import logging
import shutil
import socket
import socketserver
import ssl
import tempfile
import threading
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from spnego.channel_bindings import GssChannelBindings

from fakes.winrm import encryption
from fakes.winrm.auth import Authenticator, ConnectionAuth, check_schemes
from fakes.winrm.backend import CommandBackend
from fakes.winrm.faults import FaultSwitches
from fakes.winrm.service import HostIdentity, WsmanService
from fakes.winrm.stats import ServerStats
from fakes.winrm.tls import TlsMaterial, generate_tls_material
from provider.errors import ConfigurationError

log = logging.getLogger(__name__)

SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"
DEFAULT_STREAM_CHUNK_BYTES = 4096
#: Seconds an idle keep-alive connection (or a TLS handshake) may take before it is closed.
CONNECTION_IDLE_SECONDS = 60.0
#: A refused body up to this size is read and thrown away so the client sees the 413.
_DRAIN_LIMIT = 64 * 1024 * 1024
_DRAIN_STEP = 64 * 1024


class _HttpServer(ThreadingHTTPServer):
    """Threads per connection; remembers open connections so that stop() can cut them."""

    daemon_threads = False  # server_close() then joins every connection thread
    app: _App

    def __init__(self, ssl_context: ssl.SSLContext | None) -> None:
        self._ssl_context = ssl_context
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        # Bound now, listening only in activate(): the service must know the port first.
        super().__init__(("127.0.0.1", 0), _Handler, bind_and_activate=False)
        try:
            self.server_bind()
        except BaseException:
            self.server_close()
            raise

    def server_bind(self) -> None:
        # HTTPServer.server_bind would resolve a FQDN for 127.0.0.1, a needless DNS query.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def activate(self, app: _App) -> None:
        self.app = app
        self.server_activate()

    def finish_request(self, request: Any, client_address: Any) -> None:
        connection = self._secure(request)
        if connection is None:
            return
        with self._open_lock:
            self._open.add(connection)
        try:
            super().finish_request(connection, client_address)
        finally:
            with self._open_lock:
                self._open.discard(connection)
            connection.close()

    def _secure(self, raw: socket.socket) -> socket.socket | None:
        # Headers and body go out in two writes; without NODELAY, Nagle meets the
        # client's delayed ACK and every answer waits ~40 ms.
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._ssl_context is None:
            return raw
        raw.settimeout(CONNECTION_IDLE_SECONDS)
        try:
            return self._ssl_context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.debug("TLS handshake failed: %s", exc)
            raw.close()
            return None

    def cut_connections(self) -> None:
        """Shut every open connection so that its thread stops waiting for a request."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                log.debug("connection already gone at stop")

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client vanishing mid-answer, or stop() cutting a connection, is normal here.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    timeout = CONNECTION_IDLE_SECONDS
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        self.auth: ConnectionAuth = self.server.app.authenticator.connection()

    def do_POST(self) -> None:
        self.server.app.serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class _App:
    """What one request goes through, in order."""

    def __init__(
        self,
        service: WsmanService,
        authenticator: Authenticator,
        faults: FaultSwitches,
        stats: ServerStats,
    ) -> None:
        self.service = service
        self.authenticator = authenticator
        self._faults = faults
        self._stats = stats
        # Set at stop so that a latency sleep ends at once instead of holding stop() back.
        self.stopping = threading.Event()

    def serve(self, handler: _Handler) -> None:
        self._stats.count("http_requests")
        body = self._read_body(handler)
        if body is None or self._dropped(handler):
            return
        self.stopping.wait(self._faults.latency)
        username = self._authenticate(handler)
        if username is not None:
            self._answer(handler, username, body)

    def _dropped(self, handler: _Handler) -> bool:
        if not self._faults.take_drop():
            return False
        # Close without a byte of answer: the client sees the connection end.
        self._stats.count("dropped_connections")
        handler.close_connection = True
        return True

    def _authenticate(self, handler: _Handler) -> str | None:
        outcome = handler.auth.check(handler.headers.get("Authorization"))
        if outcome.username is None:
            self._stats.count("unauthorized")
            headers = [("WWW-Authenticate", value) for value in outcome.challenges]
            _send(handler, 401, headers=headers)
        return outcome.username

    def _read_body(self, handler: _Handler) -> bytes | None:
        if handler.path.split("?", 1)[0].lower() != "/wsman":
            _send(handler, 404, close=True)
            return None
        length = _content_length(handler)
        if length is None:
            _send(handler, 411, close=True)
            return None
        if length > self._faults.max_body_bytes:
            _discard(handler, length)
            _send(handler, 413, close=True)
            return None
        return handler.rfile.read(length)

    def _answer(self, handler: _Handler, username: str, body: bytes) -> None:
        sealed = encryption.is_sealed(handler.headers.get("Content-Type"))
        context = handler.auth.session_context if sealed else None
        envelope = _unseal(body, context) if sealed else body
        if envelope is None:
            _send(handler, 400, close=True)
        elif not envelope:
            # The empty POST that ends NTLM's handshake before message encryption starts.
            _send(handler, 200)
        elif context is None:
            reply = self.service.handle(envelope, username)
            _send(handler, reply.status, reply.body, SOAP_CONTENT_TYPE)
        else:
            self._stats.count("sealed_messages")
            reply = self.service.handle(envelope, username)
            sealed_reply = encryption.seal(reply.body, context)
            _send(handler, reply.status, sealed_reply, encryption.CONTENT_TYPE)


def _unseal(body: bytes, context: encryption.SessionContext | None) -> bytes | None:
    if context is None:
        log.debug("refused a sealed body on a connection without an NTLM session")
        return None
    try:
        return encryption.unseal(body, context)
    except encryption.SealingError as exc:
        log.debug("refused a sealed body: %s", exc)
        return None


def _content_length(handler: _Handler) -> int | None:
    value = handler.headers.get("Content-Length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def _discard(handler: _Handler, length: int) -> None:
    remaining = min(length, _DRAIN_LIMIT)
    while remaining > 0:
        chunk = handler.rfile.read(min(remaining, _DRAIN_STEP))
        if not chunk:
            return
        remaining -= len(chunk)


def _send(
    handler: _Handler,
    status: int,
    body: bytes = b"",
    content_type: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    close: bool = False,
) -> None:
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    if content_type is not None:
        handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    if close:
        handler.send_header("Connection", "close")
        handler.close_connection = True
    handler.end_headers()
    handler.wfile.write(body)


class WinRMServer:
    """A fake Windows host answering WS-Management on ``127.0.0.1`` at an ephemeral port.

    ``users`` maps user names (``user`` or ``DOMAIN\\user``) to passwords;
    ``auth`` names the accepted schemes (``"basic"``, ``"ntlm"``); ``tls``
    serves HTTPS with a generated certificate whose CA is :attr:`ca_cert`.
    Commands go to ``backend``, each in a worker thread. :attr:`faults` and
    :attr:`stats` may be used before and while the server runs.
    """

    def __init__(
        self,
        backend: CommandBackend,
        *,
        users: Mapping[str, str],
        auth: Iterable[str] = ("basic", "ntlm"),
        tls: bool = False,
        host_name: str = "hv01",
        stream_chunk_bytes: int = DEFAULT_STREAM_CHUNK_BYTES,
    ) -> None:
        if stream_chunk_bytes <= 0:
            raise ConfigurationError(f"stream_chunk_bytes must be > 0, got {stream_chunk_bytes}")
        self.backend = backend
        self.users = dict(users)
        self.auth = check_schemes(auth)
        self.tls = tls
        self.host_name = host_name
        self.stream_chunk_bytes = stream_chunk_bytes
        self.faults = FaultSwitches()
        self.stats = ServerStats()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._tls_material: TlsMaterial | None = None

    @property
    def port(self) -> int:
        return self._running().server_address[1]

    @property
    def url(self) -> str:
        """Scheme, address and port, e.g. ``http://127.0.0.1:49152``."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        """The WS-Management end point, e.g. ``http://127.0.0.1:49152/wsman``."""
        return f"{self.url}/wsman"

    @property
    def ca_cert(self) -> Path:
        """PEM of the CA that signed the server certificate (TLS servers only)."""
        if self._tls_material is None:
            raise ConfigurationError(f"WinRM server {self.host_name} does not serve TLS")
        return self._tls_material.ca_cert

    @property
    def open_shells(self) -> int:
        return self._running().app.service.shells.open_count()

    def start(self) -> Self:
        """Bind to ``127.0.0.1`` on an ephemeral port and serve in a background thread."""
        if self._httpd is not None:
            raise ConfigurationError(f"WinRM server {self.host_name} is already started")
        try:
            ssl_context = self._prepare_tls()
            authenticator = Authenticator(self.users, self.auth, self._channel_bindings())
            authenticator.open()
        except BaseException:
            self._remove_tls()
            raise
        try:
            self._httpd = self._bind(authenticator, ssl_context)
        except BaseException:
            authenticator.close()
            self._remove_tls()
            raise
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"winrm-{self.host_name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def _bind(
        self, authenticator: Authenticator, ssl_context: ssl.SSLContext | None
    ) -> _HttpServer:
        httpd = _HttpServer(ssl_context)
        scheme = "https" if self.tls else "http"
        address = f"{scheme}://127.0.0.1:{httpd.server_address[1]}/wsman"
        identity = HostIdentity(self.host_name, address)
        service = WsmanService(
            self.backend, identity, self.faults, self.stats, self.stream_chunk_bytes
        )
        try:
            httpd.activate(_App(service, authenticator, self.faults, self.stats))
        except BaseException:
            httpd.server_close()
            raise
        return httpd

    def stop(self) -> None:
        """Stop serving, cut open connections, wake waiting requests, remove TLS files."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        httpd.shutdown()
        httpd.app.stopping.set()
        httpd.app.service.close()
        httpd.cut_connections()
        httpd.server_close()
        thread.join()
        httpd.app.authenticator.close()
        self._remove_tls()
        self._httpd, self._thread = None, None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _running(self) -> _HttpServer:
        if self._httpd is None:
            raise ConfigurationError(f"WinRM server {self.host_name} is not started")
        return self._httpd

    def _prepare_tls(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        directory = Path(tempfile.mkdtemp(prefix=f"srp-winrm-{self.host_name}-"))
        self._tls_material = generate_tls_material(directory, extra_names=(self.host_name,))
        return self._tls_material.server_context()

    def _channel_bindings(self) -> GssChannelBindings | None:
        if self._tls_material is None:
            return None
        end_point = b"tls-server-end-point:" + self._tls_material.end_point_hash()
        return GssChannelBindings(application_data=end_point)

    def _remove_tls(self) -> None:
        if self._tls_material is not None:
            shutil.rmtree(self._tls_material.directory, ignore_errors=True)
            self._tls_material = None
