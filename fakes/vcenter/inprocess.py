"""A ``requests`` transport adapter that calls an HttpApp in process (no socket).

The real client code (``requests.Session``, its headers, its error
handling) runs unchanged; only the bytes skip the network::

    session = requests.Session()
    session.mount("http://vcsa01/", AppAdapter(VCenterApi(vcenter)))
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.response import HTTPResponse

from fakes.vcenter.http import HttpApp, HttpRequest
from fakes.vcenter.server import MAX_BODY


class AppAdapter(BaseAdapter):
    """Serve every request of the mounted prefix from ``app``."""

    def __init__(self, app: HttpApp) -> None:
        super().__init__()
        self.app = app
        self.requests_seen = 0

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        body = request.body or b""
        payload = body.encode() if isinstance(body, str) else bytes(body)
        if len(payload) > MAX_BODY:
            raise requests.ConnectionError("request body too large for the in-process adapter")
        target = request.path_url or "/"
        incoming = HttpRequest.from_target(
            request.method or "GET", target, dict(request.headers), payload
        )
        self.requests_seen += 1
        answer = self.app.handle(incoming)
        return self._response(request, answer.status, answer.headers, answer.body)

    def _response(
        self,
        request: requests.PreparedRequest,
        status: int,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
    ) -> requests.Response:
        raw = HTTPResponse(
            body=io.BytesIO(body), headers=dict(headers), status=status, preload_content=False
        )
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(dict(headers))
        response.raw = raw
        response.url = request.url or ""
        response.request = request
        response.reason = ""
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        """Nothing to close: there is no connection."""
