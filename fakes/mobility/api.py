"""The mobility service's HTTP API (srp's own agent protocol), served on loopback.

Every request carries Basic credentials (the agent's registration
passphrase). JSON bodies; errors as ``{"error": code, "message": text}``.

=======  =============================================  ==============================
GET      /mobility/v1/server                            identity, disks, NICs
POST     /mobility/v1/tracking  {"enabled": bool}       tracking on/off (idempotent)
POST     /mobility/v1/cuts      {"cut_id", "consistency": "crash"|"app",
                                 "previous": {disk_id: cut_id}}
                                                        a cut across all disks
                                                        (same id again: same cut)
GET      /mobility/v1/cuts/{cut}/disks/{disk}           bytes at the cut (Range)
GET      /mobility/v1/cuts/{cut}/disks/{disk}/digests   ?block_size&offset&count:
                                                        count x 32-byte SHA-256
POST     /mobility/v1/cuts/{cut}/release {"confirmed"}  release (idempotent)
=======  =============================================  ==============================
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from typing import Any

from fakes.disk import DiskError
from fakes.mobility.agent import AGENT_VERSION, MobilityError, PhysicalServer, ServerCut
from fakes.vcenter.http import HttpRequest, HttpResponse, dispatch, parse_range
from fakes.vcenter.sessions import parse_basic

#: Largest read or digest page one request may ask for.
MAX_READ = 16 << 20
MAX_DIGESTS = 65536

Handler = Callable[[PhysicalServer, HttpRequest, re.Match[str]], HttpResponse]


def _json(value: Any, status: int = 200) -> HttpResponse:
    return HttpResponse.of_json(status, value)


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError as exc:
        raise MobilityError(400, "bad_request", f"The body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise MobilityError(400, "bad_request", "The body must be a JSON object.")
    return body


def server_info(server: PhysicalServer, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    return _json(
        {
            "server_id": server.server_id,
            "hostname": server.hostname,
            "os": server.os,
            "agent_version": AGENT_VERSION,
            "cpu_count": server.cpu_count,
            "memory_mib": server.memory_mib,
            "tracking": server.service.tracking,
            "disks": [
                {"disk_id": d.disk_id, "name": d.name.rsplit("/", 1)[-1], "capacity": d.capacity}
                for d in server.disks
            ],
            "nics": [
                {
                    "nic_id": n.nic_id,
                    "mac": n.mac,
                    "ip_addresses": list(n.ip_addresses),
                    "network": n.network,
                }
                for n in server.nics
            ],
        }
    )


def tracking(server: PhysicalServer, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    enabled = _body(request).get("enabled")
    if not isinstance(enabled, bool):
        raise MobilityError(400, "bad_request", "'enabled' must be true or false.")
    if enabled:
        server.service.enable_tracking()
    else:
        server.service.disable_tracking()
    return _json(
        {
            "server_id": server.server_id,
            "tracking": enabled,
            "disks": [d.disk_id for d in server.disks],
        }
    )


def new_cut(server: PhysicalServer, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    body = _body(request)
    cut_id, consistency, previous = (
        body.get("cut_id"),
        body.get("consistency", "crash"),
        body.get("previous", {}),
    )
    if not isinstance(cut_id, str) or not cut_id or consistency not in ("crash", "app"):
        raise MobilityError(
            400, "bad_request", "A cut needs a 'cut_id' and a consistency of crash or app."
        )
    if not isinstance(previous, dict) or not all(isinstance(v, str) for v in previous.values()):
        raise MobilityError(400, "bad_request", "'previous' maps disk ids to cut ids.")
    return _json(_cut_body(server.service.new_cut(cut_id, consistency, previous)), 201)


def _cut_body(cut: ServerCut) -> dict[str, Any]:
    return {
        "cut_id": cut.cut_id,
        "taken_at": cut.taken_at,
        "consistency": cut.consistency,
        "note": cut.note,
        "disks": [
            {
                "disk_id": d.disk_id,
                "capacity": d.capacity,
                "mode": d.changes.mode.value,
                "extents": [list(e) for e in d.changes.extents],
                "reason": d.changes.reason,
            }
            for d in cut.disks
        ],
    }


def read_disk(server: PhysicalServer, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    read, size = server.service.reader(match["cut"], match["disk"])
    span = parse_range(request.header("Range"), size) if request.header("Range") else None
    if span is None or span[1] - span[0] > MAX_READ:
        return HttpResponse(416, headers=(("Content-Range", f"bytes */{size}"),))
    start, end = span
    headers = (
        ("Content-Type", "application/octet-stream"),
        ("Content-Range", f"bytes {start}-{end - 1}/{size}"),
    )
    return HttpResponse(206, read(start, end - start), headers)


def digests(server: PhysicalServer, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    read, size = server.service.reader(match["cut"], match["disk"])
    try:
        block, offset, count = (int(request.param(k)) for k in ("block_size", "offset", "count"))
    except ValueError as exc:
        raise MobilityError(
            400, "bad_request", "block_size, offset and count must be integers."
        ) from exc
    if block <= 0 or offset < 0 or offset % block or not 0 < count <= MAX_DIGESTS or offset >= size:
        raise MobilityError(400, "bad_request", "block_size, offset or count is out of range.")
    out = bytearray()
    for at in range(offset, min(size, offset + count * block), block):
        out += hashlib.sha256(read(at, min(block, size - at))).digest()
    return HttpResponse(200, bytes(out), (("Content-Type", "application/octet-stream"),))


def release(server: PhysicalServer, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    confirmed = _body(request).get("confirmed")
    if not isinstance(confirmed, bool):
        raise MobilityError(400, "bad_request", "'confirmed' must be true or false.")
    server.service.release(match["cut"], confirmed)
    return HttpResponse(204)


_P = "/mobility/v1"
ROUTES: tuple[tuple[str, re.Pattern[str], Handler], ...] = tuple(
    (method, re.compile(_P + pattern), handler)
    for method, pattern, handler in (
        ("GET", r"/server", server_info),
        ("POST", r"/tracking", tracking),
        ("POST", r"/cuts", new_cut),
        ("GET", r"/cuts/(?P<cut>[^/]+)/disks/(?P<disk>[^/]+)", read_disk),
        ("GET", r"/cuts/(?P<cut>[^/]+)/disks/(?P<disk>[^/]+)/digests", digests),
        ("POST", r"/cuts/(?P<cut>[^/]+)/release", release),
    )
)


class MobilityApi:
    """The HTTP application of one server's mobility service."""

    def __init__(self, server: PhysicalServer) -> None:
        self.server = server
        self.requests = 0
        self._lock = threading.Lock()

    def handle(self, request: HttpRequest) -> HttpResponse:
        try:
            self._gate(request)
            answer = dispatch(ROUTES, self.server, request)
            if answer is not None:
                return answer
            raise MobilityError(404, "not_found", f"No route for {request.method} {request.path}.")
        except MobilityError as exc:
            return _json({"error": exc.code, "message": exc.message}, exc.status)
        except DiskError as exc:
            return _json({"error": "disk_refused", "message": str(exc)}, 409)
        except OSError as exc:
            return _json({"error": "io_error", "message": str(exc)}, 500)

    def _gate(self, request: HttpRequest) -> None:
        with self._lock:
            self.requests += 1
            if self.server.faults.unavailable_calls > 0:
                self.server.faults.unavailable_calls -= 1
                raise MobilityError(503, "unavailable", "The mobility service is restarting.")
        user, password = parse_basic(request.header("Authorization"))
        if not user or self.server.users.get(user) != password:
            raise MobilityError(401, "unauthenticated", "The passphrase was refused.")
