"""Datastore file access: ``GET /folder/{path}?dcPath=..&dsName=..`` with HTTP ranges.

vCenter serves datastore files over HTTP; a client reads a snapshot's disk
bytes with ``Range: bytes=a-b`` requests and gets 206 with
``Content-Range``. The fake serves the flat extent of every VMDK of a
chain (``<stem>-flat.vmdk``): a file frozen by an open snapshot reads as
it was at that snapshot; the file a running VM writes reads live. Auth: the
API session header, or Basic credentials.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from fakes.vcenter.faults import RestError
from fakes.vcenter.http import HttpRequest, HttpResponse, parse_range
from fakes.vcenter.model import VCenter

#: Largest range one request may read (clients batch below this).
MAX_RANGE = 64 << 20
FOLDER = re.compile(r"/folder/(?P<path>.+)", re.DOTALL)  # names may hold newlines

Reader = Callable[[int, int], bytes]


def serve_file(vc: VCenter, request: HttpRequest, match: re.Match[str]) -> HttpResponse:
    """Answer a datastore file request (GET or HEAD), whole or by range."""
    found = _find(vc, request.param("dcPath"), request.param("dsName"), match["path"])
    if found is None:
        return HttpResponse(404, b"File not found", (("Content-Type", "text/plain"),))
    read, size = found
    wanted = request.header("Range")
    if not wanted:
        if size > MAX_RANGE:
            return HttpResponse(416, headers=(("Content-Range", f"bytes */{size}"),))
        return _data(200, read(0, size) if request.method == "GET" else b"", size)
    span = parse_range(wanted, size)
    if span is None or span[1] - span[0] > MAX_RANGE:
        return HttpResponse(416, headers=(("Content-Range", f"bytes */{size}"),))
    start, end = span
    body = read(start, end - start) if request.method == "GET" else b""
    response = _data(206, body, end - start)
    return HttpResponse(
        206,
        response.body,
        (*response.headers, ("Content-Range", f"bytes {start}-{end - 1}/{size}")),
    )


def _data(status: int, body: bytes, length: int) -> HttpResponse:
    return HttpResponse(
        status,
        body,
        (
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", str(length)),
            ("Accept-Ranges", "bytes"),
        ),
    )


def _find(vc: VCenter, dc_path: str, ds_name: str, path: str) -> tuple[Reader, int] | None:
    if not path.endswith("-flat.vmdk") or not dc_path or not ds_name:
        return None
    descriptor = f"[{ds_name}] {path.removesuffix('-flat.vmdk')}.vmdk"
    with vc.lock:
        for snapshot in vc.snapshots.snapshots.values():
            if snapshot.vm.datacenter.name != dc_path:
                continue
            for key, file_name in snapshot.files.items():
                if file_name == descriptor:
                    frozen = snapshot.frozen[key].snapshot
                    return frozen.read, frozen.capacity
        for vm in vc.live_vms(lambda vm: vm.datacenter.name == dc_path):
            for vmdk in vm.disks:
                if vmdk.current_file == descriptor:
                    return vmdk.disk.read, vmdk.capacity
    return None


def check_access(vc: VCenter, request: HttpRequest) -> None:
    """A datastore request needs a live session id or valid Basic credentials."""
    session_id = request.header("vmware-api-session-id")
    if session_id:
        vc.sessions.touch(session_id)
    elif not vc.sessions.check_basic(request.header("Authorization")):
        raise RestError("UNAUTHENTICATED", "Authentication required.")
