"""The simulated vCenter as one HTTP application: REST API, JSON API, datastore files.

:class:`VCenterApi` routes a request, checks its session, applies the
``unavailable_calls`` fault switch and turns the fake's exceptions into
vSphere's error bodies. Serve it on loopback (:func:`serve_vcenter`) or in
process (:class:`fakes.vcenter.inprocess.AppAdapter`).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable

from fakes.disk import DiskError
from fakes.vcenter import datastore, properties, rest, vim
from fakes.vcenter.faults import RestError, VimFault
from fakes.vcenter.http import HttpRequest, HttpResponse
from fakes.vcenter.model import VCenter
from fakes.vcenter.server import LoopbackServer

Handler = Callable[[VCenter, HttpRequest, re.Match[str]], HttpResponse]


class VCenterApi:
    """Answers vSphere REST, JSON API and datastore requests for one :class:`VCenter`."""

    def __init__(self, vcenter: VCenter) -> None:
        self.vcenter = vcenter
        #: Calls per "METHOD path-pattern", for tests that count round trips.
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def handle(self, request: HttpRequest) -> HttpResponse:
        is_vim = request.path.startswith("/sdk/")
        try:
            return self._route(request)
        except RestError as exc:
            if is_vim and exc.error_type == "UNAUTHENTICATED":
                return HttpResponse.of_json(
                    401, VimFault("NotAuthenticated", "The session is not authenticated.").body()
                )
            return HttpResponse.of_json(exc.status, exc.body())
        except VimFault as exc:
            return HttpResponse.of_json(exc.status, exc.body())
        except (DiskError, OSError) as exc:
            fault = VimFault("FileFault", f"Error caused by file: {exc}")
            return HttpResponse.of_json(
                500, fault.body() if is_vim else RestError("ERROR", str(exc)).body()
            )

    def _route(self, request: HttpRequest) -> HttpResponse:
        self._unavailable()
        handler, match, authed, label = self._lookup(request)
        with self._lock:
            self.calls[label] += 1
        if label.startswith("/folder"):
            datastore.check_access(self.vcenter, request)
        elif authed:
            self.vcenter.sessions.touch(request.header("vmware-api-session-id"))
        return handler(self.vcenter, request, match)

    def _unavailable(self) -> None:
        with self._lock:
            if self.vcenter.faults.unavailable_calls <= 0:
                return
            self.vcenter.faults.unavailable_calls -= 1
        raise RestError("SERVICE_UNAVAILABLE", "The service is temporarily unavailable.")

    def _lookup(self, request: HttpRequest) -> tuple[Handler, re.Match[str], bool, str]:
        method = "GET" if request.method == "HEAD" else request.method
        for wanted, pattern, handler, authed in (*rest.ROUTES, *vim.ROUTES, *properties.ROUTES):
            match = pattern.fullmatch(request.path)
            if match and wanted == method:
                return handler, match, authed, f"{method} {pattern.pattern}"
        match = datastore.FOLDER.fullmatch(request.path)
        if match and method == "GET":
            return datastore.serve_file, match, True, "/folder"
        if request.path.startswith("/sdk/"):
            raise VimFault(
                "MethodNotFound",
                f"No such method or property: {request.method} {request.path}",
                status=404,
            )
        raise RestError("NOT_FOUND", f"No operation matches {request.method} {request.path}.")


def serve_vcenter(vcenter: VCenter) -> tuple[LoopbackServer, VCenterApi]:
    """Start a loopback server for the vCenter; stop it with ``server.stop()`` (or ``with``)."""
    api = VCenterApi(vcenter)
    return LoopbackServer(api), api
