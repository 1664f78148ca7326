"""Physical servers through the mobility service: discovery, tracking, cuts, reads, digests.

One ``physical`` fabric is one server (the mobility service's address): the
server is the fabric's only machine, its own protection container.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import quote

from plugins.vmware.mobility import MobilityClient
from plugins.vmware.reads import batches
from provider.contracts.connection import FabricIdentity
from provider.contracts.replica import (
    BlockDigest,
    ChangeMode,
    Cut,
    CutRequest,
    DiskChanges,
    ExtentData,
    TrackingInfo,
)
from provider.errors import HostileResponse, MachineNotFound, ValidationError
from provider.model.inventory import (
    Disk,
    Host,
    Inventory,
    Machine,
    Network,
    Nic,
    ProtectionContainer,
)
from provider.model.recovery import Consistency

KIND = "physical"
READ_BATCH_BYTES = 4 << 20
DIGEST_PAGE_BLOCKS = 4096
DIGEST_BYTES = 32


def _server(client: MobilityClient) -> dict[str, Any]:
    info = client.get_json("describe the server", "/server")
    for key, kind in (("server_id", str), ("hostname", str), ("disks", list), ("nics", list)):
        if not isinstance(info, dict) or not isinstance(info.get(key), kind):
            raise HostileResponse(f"mobility service on {client.server}: field {key!r} is missing")
    return dict(info)


def identify(client: MobilityClient) -> FabricIdentity:
    info = _server(client)
    return FabricIdentity(
        info["hostname"], KIND, str(info.get("agent_version", "")), info["server_id"]
    )


def discover(client: MobilityClient) -> Inventory:
    """The server as the fabric's one machine, with its disks and NICs."""
    info = _server(client)
    container = ProtectionContainer(
        f"physical-{info['server_id']}", info["hostname"], kind="physical"
    )
    networks = {str(n.get("network", "")) for n in info["nics"] if n.get("network")}
    machine = Machine(
        machine_id=info["server_id"],
        name=info["hostname"],
        container_id=container.container_id,
        disks=tuple(
            Disk(str(d["disk_id"]), str(d.get("name") or d["disk_id"]), int(d["capacity"]))
            for d in info["disks"]
        ),
        nics=tuple(
            Nic(
                str(n["nic_id"]),
                str(n.get("network", "")),
                str(n.get("mac", "")),
                tuple(n.get("ip_addresses", [])),
            )
            for n in info["nics"]
        ),
        host=info["hostname"],
        os_type="windows" if "windows" in str(info.get("os", "")).lower() else "linux",
        physical=True,
        cpu_count=max(1, int(info.get("cpu_count", 1))),
        memory_mib=max(1, int(info.get("memory_mib", 1024))),
    )
    return Inventory(
        (container,),
        (machine,),
        tuple(Network(name, name, "subnet") for name in sorted(networks)),
        (Host(info["server_id"], info["hostname"], "physical", str(info.get("os", ""))),),
    )


def _same_server(client: MobilityClient, machine: Machine) -> None:
    """Refuse when the address now answers for another server (reinstalled, readdressed)."""
    info = _server(client)
    if info["server_id"] != machine.machine_id:
        raise MachineNotFound(
            f"mobility service on {client.server} is server {info['server_id']}, no longer "
            f"{machine.name} ({machine.machine_id})"
        )


def enable_tracking(client: MobilityClient, machine: Machine) -> TrackingInfo:
    _same_server(client, machine)
    answer = client.post_json("enable change tracking", "/tracking", {"enabled": True})
    disks = answer.get("disks") if isinstance(answer, dict) else None
    if not isinstance(disks, list):
        raise HostileResponse(f"mobility service on {client.server}: no disk list")
    return TrackingInfo(machine.machine_id, "", tuple(str(d) for d in disks))


def disable_tracking(client: MobilityClient, machine: Machine) -> None:
    try:
        _same_server(client, machine)
    except MachineNotFound:
        return
    client.post_json("disable change tracking", "/tracking", {"enabled": False})


def capture_cut(client: MobilityClient, request: CutRequest) -> Cut:
    """One cut across all of the server's disks (asking twice gives the same cut)."""
    (machine,) = request.machines
    previous = {
        d.disk_id: request.previous_cut(machine.machine_id, d.disk_id) for d in machine.disks
    }
    body = {
        "cut_id": request.cut_id,
        "consistency": "app" if request.consistency is Consistency.APP else "crash",
        "previous": {k: v for k, v in previous.items() if v},
    }
    answer = client.post_json(f"take cut {request.cut_id}", "/cuts", body)
    try:
        return _cut(answer, machine.machine_id)
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise HostileResponse(f"mobility service on {client.server}: malformed cut: {exc}") from exc


def _cut(answer: Any, machine_id: str) -> Cut:
    return Cut(
        cut_id=str(answer["cut_id"]),
        taken_at=float(answer["taken_at"]),
        consistency=Consistency.APP if answer["consistency"] == "app" else Consistency.CRASH,
        disks=tuple(
            DiskChanges(
                machine_id,
                str(d["disk_id"]),
                int(d["capacity"]),
                ChangeMode(d["mode"]),
                tuple((int(o), int(n)) for o, n in d["extents"]),
                str(d.get("reason", "")),
            )
            for d in answer["disks"]
        ),
        note=str(answer.get("note", "")),
    )


def _disk_path(cut: Cut, disk_id: str) -> str:
    return f"/cuts/{quote(cut.cut_id, safe='')}/disks/{quote(disk_id, safe='')}"


def read_extents(
    client: MobilityClient, cut: Cut, disk_id: str, extents: Sequence[tuple[int, int]]
) -> Iterator[ExtentData]:
    """The extents' bytes at the cut, in order, batched into range requests."""
    path = _disk_path(cut, disk_id)
    for start, length, pieces in batches(_pieces(extents)):
        headers = {"Range": f"bytes={start}-{start + length - 1}"}
        data = client.get_bytes(f"read {disk_id} at {start}", path, headers=headers)
        if len(data) != length:
            raise HostileResponse(
                f"mobility service on {client.server}: read {len(data)} bytes, expected {length}"
            )
        for offset, size in pieces:
            yield ExtentData(offset, data[offset - start : offset - start + size])


def _pieces(extents: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    for offset, length in extents:
        if offset < 0 or length <= 0:
            raise ValidationError(f"extent ({offset}, {length}) is not a byte range")
        for start in range(offset, offset + length, READ_BATCH_BYTES):
            yield start, min(READ_BATCH_BYTES, offset + length - start)


def block_digests(
    client: MobilityClient, cut: Cut, disk_id: str, block_size: int
) -> Iterator[BlockDigest]:
    """SHA-256 of every block at the cut, computed on the server, a page per request."""
    if block_size <= 0:
        raise ValidationError(f"block size must be positive, got {block_size}")
    capacity = next(d.capacity for d in cut.disks if d.disk_id == disk_id)
    blocks = -(-capacity // block_size)
    for first in range(0, blocks, DIGEST_PAGE_BLOCKS):
        count = min(DIGEST_PAGE_BLOCKS, blocks - first)
        params = {"block_size": block_size, "offset": first * block_size, "count": count}
        page = client.get_bytes(
            f"digest {disk_id} from block {first}", _disk_path(cut, disk_id) + "/digests", params
        )
        if len(page) != count * DIGEST_BYTES:
            raise HostileResponse(
                f"mobility service on {client.server}: {len(page)} digest bytes for {count} blocks"
            )
        for index in range(count):
            yield BlockDigest(
                (first + index) * block_size,
                page[index * DIGEST_BYTES : (index + 1) * DIGEST_BYTES],
            )


def release_cut(client: MobilityClient, cut: Cut, confirmed: bool) -> None:
    path = f"/cuts/{quote(cut.cut_id, safe='')}/release"
    client.post(f"release cut {cut.cut_id}", path, {"confirmed": confirmed})
