"""Serve an :class:`~fakes.vcenter.http.HttpApp` on 127.0.0.1 with an ephemeral port.

HTTP/1.1 with keep-alive, one thread per connection; ``stop()`` closes
every connection and joins the threads. Use as a context manager::

    with LoopbackServer(app) as server:
        requests.get(server.url + "/api/vcenter/vm")
"""

from __future__ import annotations

import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from fakes.vcenter.http import HttpApp, HttpRequest, HttpResponse

#: Largest request body accepted (API calls are small; data flows the other way).
MAX_BODY = 16 << 20


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    app: HttpApp

    def __init__(self, app: HttpApp) -> None:
        self.app = app
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would resolve a FQDN for 127.0.0.1: a needless DNS query.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.connections_lock:
                self.connections.discard(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY the client's delayed ACK
    # adds ~40 ms to every request.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the fakes' own logs, not stderr."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(HttpResponse(413), head=False)
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        headers = {key: value for key, value in self.headers.items()}
        request = HttpRequest.from_target(self.command, self.path, headers, body)
        self._send(self.server.app.handle(request), head=self.command == "HEAD")

    def _send(self, response: HttpResponse, *, head: bool) -> None:
        self.send_response(response.status)
        for key, value in response.headers:
            self.send_header(key, value)
        if not response.header("Content-Length"):
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = _serve


class LoopbackServer:
    """An HTTP server on 127.0.0.1:<ephemeral> running in a background thread."""

    def __init__(self, app: HttpApp) -> None:
        self._server = _Server(app)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``, the form a fabric is registered with."""
        return f"127.0.0.1:{self.port}"

    def drop_connections(self) -> None:
        """Fault switch: cut every open connection (a link drop)."""
        with self._server.connections_lock:
            for connection in list(self._server.connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    continue

    def stop(self) -> None:
        self._server.shutdown()
        self.drop_connections()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
