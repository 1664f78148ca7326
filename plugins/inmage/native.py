"""Native replication through a CX: protect, state, points, rollback, resync, stop.

A replication group is a CX protection plan named after the group, so the
plugin keeps no state of its own: every call names the plan by
``ProtectionPlanName``. The process server and master target come from the
request's options, else from the target's (``process_server``,
``master_target``), by id or by name.
"""

from __future__ import annotations

from collections.abc import Sequence

from plugins.inmage import cxapi
from plugins.inmage.client import CxClient, CxFault
from plugins.inmage.cxapi import Params, host_list
from provider.contracts.connection import TargetConnection
from provider.contracts.failover import ReplicaDisk
from provider.contracts.native import (
    Accuracy,
    NativeFailover,
    NativeFailoverResult,
    NativeGroupState,
    NativeMachineState,
    NativePoint,
    NativeProtection,
    NativeRecovered,
    PointChoice,
)
from provider.errors import (
    FabricError,
    HostileResponse,
    NotFound,
    RecoveryPointUnavailable,
    ValidationError,
)
from provider.model.recovery import Consistency
from provider.model.states import Health, ReplicationState

_STATES = {
    "Resync Step I": ReplicationState.RESYNCHRONIZING,
    "Differential Sync": ReplicationState.PROTECTED,
}
_HEALTH = {"OK": Health.NORMAL, "Warning": Health.WARNING, "Critical": Health.CRITICAL}
_ACCURACY = {
    "Exact": Accuracy.EXACT,
    "Approximate": Accuracy.APPROXIMATE,
    "Not guaranteed": Accuracy.NOT_GUARANTEED,
}
_POINT_TYPES = {
    PointChoice.LATEST: "LatestTag",
    PointChoice.LATEST_TIME: "LatestTime",
    PointChoice.LATEST_COMMON: "MultiVMLatestTag",
    PointChoice.NAMED: "Custom",
}


def _plan(group_id: str, *params: tuple[str, str]) -> Params:
    return Params("", (("ProtectionPlanName", group_id), *params))


def protect(
    client: CxClient, target: TargetConnection, request: NativeProtection
) -> NativeGroupState:
    ps = _component(client, "ProcessServers", _option(target, request, "process_server"))
    mt = _component(client, "MasterTargets", _option(target, request, "master_target"))
    body = Params(
        "",
        (
            ("ProtectionPlanName", request.group_id),
            ("ProcessServerId", ps),
            ("MasterTargetId", mt),
            ("RetentionWindowHours", str(request.retention_hours)),
            ("ConsistencyIntervalMinutes", str(request.app_frequency_minutes)),
        ),
        (host_list([m.machine_id for m in request.machines]),),
    )
    try:
        client.call("CreateProtectionV2", body)
    except CxFault as exc:
        raise _mapped(exc) from exc
    return state(client, request.group_id)


def _option(target: TargetConnection, request: NativeProtection, name: str) -> str:
    value = request.option(name) or target.option(name)
    if not value:
        raise ValidationError(
            f"target {target.target_id!r}: option {name!r} is needed to protect with InMage"
        )
    return value


def _component(client: CxClient, group: str, wanted: str) -> str:
    for component in client.call("ListScoutComponents").children(group):
        if wanted in (component.get("HostId"), component.get("HostName")):
            return component.get("HostId")
    raise NotFound(f"{client.where}: no {group[:-1]} named {wanted!r}")


def state(client: CxClient, group_id: str) -> NativeGroupState:
    try:
        found = client.call("GetProtectionState", _plan(group_id))
    except CxFault as exc:
        raise _mapped(exc) from exc
    return NativeGroupState(group_id, tuple(_machine_state(h) for h in found.children("Hosts")))


def _machine_state(host: Params) -> NativeMachineState:
    status = host.get("ReplicationStatus")
    return NativeMachineState(
        machine_id=host.get("HostId"),
        state=_STATES.get(status, ReplicationState.RESYNC_REQUIRED),
        health=_HEALTH.get(host.get("Health"), Health.CRITICAL),
        detail=status,
        reason=host.get("Reason"),
        pending_bytes=int(host.get("PendingBytes", "0")) + int(host.get("CachedBytes", "0")),
    )


def points(client: CxClient, group_id: str) -> tuple[NativePoint, ...]:
    try:
        found = client.call("ListConsistencyPoints", _plan(group_id))
    except CxFault as exc:
        raise _mapped(exc) from exc
    holders: dict[str, list[str]] = {}
    first: dict[str, Params] = {}
    for host in found.children("Hosts"):
        for tag in host.children("Tags"):
            holders.setdefault(tag.get("TagName"), []).append(host.get("HostId"))
            first.setdefault(tag.get("TagName"), tag)
    worst = {t.get("TagName"): t for t in found.children("MultiVMPoints")}
    made = [
        _point(worst.get(name, tag), tuple(holders[name]), client.where)
        for name, tag in first.items()
    ]
    return tuple(sorted(made, key=lambda p: p.created_at))


def _point(tag: Params, holders: tuple[str, ...], where: str) -> NativePoint:
    try:
        created = float(tag.get("Timestamp"))
    except ValueError as exc:
        raise HostileResponse(f"{where}: tag {tag.get('TagName')!r} has no valid time") from exc
    return NativePoint(
        tag.get("TagName"),
        created,
        Consistency.APP if tag.get("Level") == "Application" else Consistency.CRASH,
        _ACCURACY.get(tag.get("Accuracy"), Accuracy.NOT_GUARANTEED),
        holders,
    )


def failover(client: CxClient, request: NativeFailover) -> NativeFailoverResult:
    params = [("RecoveryPointType", _POINT_TYPES[request.choice])]
    if request.point_name:
        params.append(("TagName", request.point_name))
    body = Params(
        "",
        (("ProtectionPlanName", request.group_id), *params),
        (host_list(request.machine_ids),),
    )
    try:
        started = client.call("CreateRollback", body)
        found = client.call(
            "GetRollbackState", Params("", (("RollbackId", started.get("RollbackId")),))
        )
    except CxFault as exc:
        raise _mapped(exc, point=True) from exc
    recovered = tuple(_recovered(h, client.where) for h in found.children("Hosts"))
    return NativeFailoverResult(request.group_id, recovered)


def _recovered(host: Params, where: str) -> NativeRecovered:
    if host.get("Status") != "Completed":
        raise FabricError(f"{where}: rollback of host {host.get('HostId')}: {host.get('Status')}")
    return NativeRecovered(
        host.get("HostId"),
        host.get("RecoveredHostId"),
        host.get("TagName"),
        float(host.get("Timestamp")),
        tuple(ReplicaDisk(d.get("DiskId"), d.get("Sha256")) for d in host.children("Disks")),
    )


def resync(client: CxClient, group_id: str, machine_ids: Sequence[str]) -> NativeGroupState:
    body = Params("", (("ProtectionPlanName", group_id),), (host_list(machine_ids),))
    try:
        client.call("RestartResync", body)
    except CxFault as exc:
        raise _mapped(exc) from exc
    return state(client, group_id)


def stop(client: CxClient, group_id: str) -> None:
    try:
        client.call("StopProtection", _plan(group_id))
    except CxFault as exc:
        if exc.code != cxapi.NOT_FOUND:  # stopping an unknown group does nothing
            raise


def _mapped(
    exc: CxFault, *, point: bool = False
) -> FabricError | NotFound | RecoveryPointUnavailable:
    if exc.code == cxapi.NOT_FOUND and point:
        return RecoveryPointUnavailable(exc.message)
    if exc.code == cxapi.NOT_FOUND:
        return NotFound(exc.message)
    return exc
