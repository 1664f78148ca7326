"""An on-premises master target: writes failback data into a VM's VMDKs (public API for testers).

In vSphere the master target is a VM on the protected site that hot-adds
the disks of the VM being failed back and writes the blocks the process
server sends into them. Here it is a small HTTP service on loopback beside
the simulated vCenter; the simulation's choices, documented as its API:

=======  ============================================================  =====================
GET      /mastertarget/v1/status                                       hostname, vCenter id
PUT      /mastertarget/v1/vms/{vm}/disks/{key}?offset=N  (octets)      write at offset N
=======  ============================================================  =====================

Every request carries Basic credentials of a vCenter user (the master
target is registered with that vCenter and checks its callers against it).
A write goes through the VMDK like a guest write, so CBT records it and
forward replication later ships it. A write to a powered-on VM is refused
(``vm_running``, 409): a disk is hot-added to the master target only while
its own VM is off. Errors are ``{"error": code, "message": text}``: 404
``vm_not_found`` / ``disk_not_found``, 416 ``out_of_range``, 503
``unavailable`` (fault switch ``faults.unavailable_calls``).

Example::

    server, api = serve_master_target(vcenter)
    with server:
        ...  # fabric option master_target=server.address
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fakes.vcenter.http import HttpRequest, HttpResponse, dispatch
from fakes.vcenter.model import POWERED_OFF, VCenter
from fakes.vcenter.server import LoopbackServer
from fakes.vcenter.sessions import parse_basic

VERSION = "9.60.1.0"


class MasterTargetError(Exception):
    """A request the master target refuses: ``code`` and HTTP ``status`` go on the wire."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class MasterTargetFaults:
    """Fault switches: the next N calls answer 503 (the master target VM is rebooting)."""

    unavailable_calls: int = 0


@dataclass
class MasterTarget:
    """One master target registered with a vCenter, and what it wrote."""

    vcenter: VCenter
    hostname: str = "mt01.lab"
    faults: MasterTargetFaults = field(default_factory=MasterTargetFaults)
    #: (vm moid, disk key, offset, length) of every write, in order.
    writes: list[tuple[str, int, int, int]] = field(default_factory=list)

    def write(self, vm_id: str, key: int, offset: int, data: bytes) -> None:
        with self.vcenter.lock:
            vm = self.vcenter.vms.get(vm_id)
            if vm is None:
                raise MasterTargetError(404, "vm_not_found", f"No VM {vm_id} in the vCenter.")
            if vm.power_state != POWERED_OFF:
                raise MasterTargetError(
                    409,
                    "vm_running",
                    f"VM {vm.name} is {vm.power_state}: its disks cannot be "
                    "hot-added to the master target while it runs.",
                )
            disks = {vmdk.key: vmdk for vmdk in vm.disks}
        if key not in disks:
            raise MasterTargetError(404, "disk_not_found", f"VM {vm_id} has no disk {key}.")
        if offset < 0 or offset + len(data) > disks[key].capacity:
            raise MasterTargetError(
                416, "out_of_range", f"{len(data)} bytes at {offset} do not fit disk {key}."
            )
        disks[key].disk.write(offset, data)
        self.writes.append((vm_id, key, offset, len(data)))


Handler = Callable[[MasterTarget, HttpRequest, re.Match[str]], HttpResponse]


def _json(value: Any, status: int = 200) -> HttpResponse:
    return HttpResponse.of_json(status, value)


def status(target: MasterTarget, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    return _json(
        {
            "hostname": target.hostname,
            "vcenter": target.vcenter.instance_uuid,
            "version": VERSION,
        }
    )


def write(target: MasterTarget, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    offset = request.param("offset")
    if not offset.isdigit() or not match["key"].isdigit():
        raise MasterTargetError(400, "bad_request", "offset and disk key must be integers.")
    target.write(match["vm"], int(match["key"]), int(offset), request.body)
    return HttpResponse(204)


_P = "/mastertarget/v1"
ROUTES: tuple[tuple[str, re.Pattern[str], Handler], ...] = (
    ("GET", re.compile(_P + r"/status"), status),
    ("PUT", re.compile(_P + r"/vms/(?P<vm>[^/]+)/disks/(?P<key>[^/]+)"), write),
)


class MasterTargetApi:
    """The HTTP application of one master target."""

    def __init__(self, target: MasterTarget) -> None:
        self.target = target
        self.requests = 0
        self._lock = threading.Lock()

    def handle(self, request: HttpRequest) -> HttpResponse:
        try:
            self._gate(request)
            answer = dispatch(ROUTES, self.target, request)
            if answer is not None:
                return answer
            raise MasterTargetError(
                404, "not_found", f"No route for {request.method} {request.path}."
            )
        except MasterTargetError as exc:
            return _json({"error": exc.code, "message": exc.message}, exc.status)

    def _gate(self, request: HttpRequest) -> None:
        with self._lock:
            self.requests += 1
            if self.target.faults.unavailable_calls > 0:
                self.target.faults.unavailable_calls -= 1
                raise MasterTargetError(503, "unavailable", "The master target is restarting.")
        user, password = parse_basic(request.header("Authorization"))
        if not user or self.target.vcenter.sessions.users.get(user) != password:
            raise MasterTargetError(401, "unauthenticated", "The vCenter credentials were refused.")


def serve_master_target(
    vcenter: VCenter, hostname: str = "mt01.lab"
) -> tuple[LoopbackServer, MasterTargetApi]:
    """Serve a master target for the vCenter on loopback; stop with ``.stop()`` or ``with``."""
    api = MasterTargetApi(MasterTarget(vcenter, hostname))
    return LoopbackServer(api), api
