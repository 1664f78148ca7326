"""Serve a configuration server's CX API on 127.0.0.1 over HTTP or HTTPS (ephemeral port).

Over HTTPS the certificate comes from :func:`fakes.winrm.tls.generate_tls_material`
(a private CA in a temporary directory, removed at stop); its fingerprint
is given to the API so signatures are checked against it. Use as a context
manager::

    with serve_cx(deployment, tls=True) as server:
        ...  # server.url, server.ca_cert
"""

from __future__ import annotations

import shutil
import socket
import socketserver
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from fakes.inmage.api import CxApi
from fakes.inmage.auth import certificate_fingerprint
from fakes.inmage.deployment import ScoutDeployment
from fakes.vcenter.http import HttpRequest, HttpResponse
from fakes.winrm.tls import TlsMaterial, generate_tls_material

MAX_BODY = 1 << 20
IDLE_SECONDS = 30.0


class _Server(ThreadingHTTPServer):
    daemon_threads = False

    def __init__(self, api: CxApi, context: ssl.SSLContext | None) -> None:
        self.api = api
        self.context = context
        self.open: set[socket.socket] = set()
        self.open_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would resolve a FQDN for 127.0.0.1: a needless DNS query.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def finish_request(self, request: Any, client_address: Any) -> None:
        connection = self._secure(request)
        if connection is None:
            return
        with self.open_lock:
            self.open.add(connection)
        try:
            super().finish_request(connection, client_address)
        finally:
            with self.open_lock:
                self.open.discard(connection)
            connection.close()

    def _secure(self, raw: socket.socket) -> socket.socket | None:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw.settimeout(IDLE_SECONDS)
        if self.context is None:
            return raw
        try:
            return self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()  # a client that gave up the handshake, or a probe
            return None

    def cut(self) -> None:
        with self.open_lock:
            for connection in list(self.open):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    continue

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client vanishing mid-answer, or stop() cutting a connection, is normal here."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the deployment's events, not stderr."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(HttpResponse(413))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        request = HttpRequest.from_target(self.command, self.path, headers, body)
        self._send(self.server.api.handle(request))

    do_GET = do_PUT = do_DELETE = do_POST

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for key, value in response.headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)


class CxServer:
    """A configuration server's API on 127.0.0.1:<ephemeral>, HTTP or HTTPS."""

    def __init__(self, deployment: ScoutDeployment, *, tls: bool = False) -> None:
        self.tls = tls
        self._material: TlsMaterial | None = None
        context = self._prepare_tls() if tls else None
        fingerprint = (
            certificate_fingerprint(self._material.server_cert_der) if self._material else ""
        )
        self.api = CxApi(deployment, fingerprint)
        self._server = _Server(self.api, context)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _prepare_tls(self) -> ssl.SSLContext:
        directory = Path(tempfile.mkdtemp(prefix="srp-inmage-cx-"))
        self._material = generate_tls_material(directory)
        return self._material.server_context()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``, the form a fabric is registered with."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.address}"

    @property
    def ca_cert(self) -> Path:
        """The CA that signed the server certificate (HTTPS only)."""
        if self._material is None:
            raise ValueError("the CX is served over plain HTTP: there is no certificate")
        return self._material.ca_cert

    def drop_connections(self) -> None:
        """Fault switch: cut every open connection (a link drop)."""
        self._server.cut()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.cut()
        self._server.server_close()
        self._thread.join()
        if self._material is not None:
            shutil.rmtree(self._material.directory, ignore_errors=True)
            self._material = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_cx(deployment: ScoutDeployment, *, tls: bool = False) -> CxServer:
    """Serve the deployment's CX API on loopback; stop with ``.stop()`` or ``with``."""
    return CxServer(deployment, tls=tls)
