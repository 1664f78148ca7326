"""Native replication through a CX: protect, state, points, rollback, test copies, resync, stop.

A replication group is a CX protection plan named after the group, so the
plugin keeps no state of its own: every call names the plan by
``ProtectionPlanName``. Once reversed (see :mod:`plugins.inmage.failback`)
the group also has a failback plan, ``<group>-failback``; state and points
report both plans' hosts. The process server and master target come from
the request's options, else from the target's (``process_server``,
``master_target``), by id or by name.

A failover places the recovered NICs on the networks ``request.networks``
maps their source networks to (a NIC whose network is not mapped is
refused before anything changes, unless the option ``allow_unmapped`` is
``yes``: that NIC is then recovered on no network); a test failover is a rollback to a
virtual snapshot (``RollbackType=Test``) whose NICs join the isolated
network ``request.option("network")``, while the plan replicates on.
"""

from __future__ import annotations

from collections.abc import Sequence

from plugins.inmage import cxapi, discovery
from plugins.inmage.client import CxClient, CxFault
from plugins.inmage.cxapi import Params, host_list
from provider.contracts.connection import TargetConnection
from provider.contracts.failover import CleanupResult, ReplicaDisk
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
    MappingMissing,
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


def reverse_plan(group_id: str) -> str:
    """The CX plan that replicates a group's recovered machines back home."""
    return f"{group_id}-failback"


def plan_call(client: CxClient, function: str, plan: str) -> Params | None:
    """A function on one plan; None when the CX has no such plan."""
    try:
        return client.call(function, _plan(plan))
    except CxFault as exc:
        if exc.code == cxapi.NOT_FOUND:
            return None
        raise


def _group_call(client: CxClient, function: str, group_id: str) -> list[Params]:
    found = [plan_call(client, function, p) for p in (group_id, reverse_plan(group_id))]
    if found == [None, None]:
        raise NotFound(f"{client.where}: {function}: protection plan {group_id!r} does not exist")
    return [answer for answer in found if answer is not None]


def protect(
    client: CxClient, target: TargetConnection, request: NativeProtection
) -> NativeGroupState:
    ps = component(client, "ProcessServers", _option(target, request, "process_server"))
    mt = component(client, "MasterTargets", _option(target, request, "master_target"))
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


def component(client: CxClient, group: str, wanted: str) -> str:
    for component in client.call("ListScoutComponents").children(group):
        if wanted in (component.get("HostId"), component.get("HostName")):
            return component.get("HostId")
    raise NotFound(f"{client.where}: no {group[:-1]} named {wanted!r}")


def state(client: CxClient, group_id: str) -> NativeGroupState:
    plans = _group_call(client, "GetProtectionState", group_id)
    hosts = (host for found in plans for host in found.children("Hosts"))
    return NativeGroupState(group_id, tuple(_machine_state(h) for h in hosts))


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
    plans = _group_call(client, "ListConsistencyPoints", group_id)
    holders: dict[str, list[str]] = {}
    first: dict[str, Params] = {}
    for host in (host for found in plans for host in found.children("Hosts")):
        for tag in host.children("Tags"):
            holders.setdefault(tag.get("TagName"), []).append(host.get("HostId"))
            first.setdefault(tag.get("TagName"), tag)
    worst = {t.get("TagName"): t for found in plans for t in found.children("MultiVMPoints")}
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
    """A production rollback of a forward plan (failback is :mod:`plugins.inmage.failback`'s)."""
    # Without a Nics group the CX keeps each NIC on its source port group's name, which
    # means nothing on the recovery site: the override must disconnect the NICs instead.
    placed = request.networks or _allows_unmapped(request)
    nics = _nic_networks(client, request) if placed else ()
    extra = (Params("Nics", (), nics),) if nics else ()
    recovered = rollback(client, request.group_id, request, extra=extra)
    return NativeFailoverResult(request.group_id, recovered)


def rollback(
    client: CxClient,
    plan: str,
    request: NativeFailover,
    *params: tuple[str, str],
    extra: tuple[Params, ...] = (),
) -> tuple[NativeRecovered, ...]:
    """Roll the request's hosts of a plan to its point; each host as the CX reports it."""
    point = [("RecoveryPointType", _POINT_TYPES[request.choice])]
    if request.point_name:
        point.append(("TagName", request.point_name))
    body = Params(
        "",
        (("ProtectionPlanName", plan), *point, *params),
        (host_list(request.machine_ids), *extra),
    )
    try:
        started = client.call("CreateRollback", body)
        found = client.call(
            "GetRollbackState", Params("", (("RollbackId", started.get("RollbackId")),))
        )
    except CxFault as exc:
        raise _mapped(exc, point=True) from exc
    return tuple(recovered(h, client.where) for h in found.children("Hosts"))


def _allows_unmapped(request: NativeFailover) -> bool:
    """The operator's override: NICs on unmapped networks are recovered on no network."""
    return request.option("allow_unmapped") in ("yes", "true")


def _nic_networks(client: CxClient, request: NativeFailover) -> tuple[Params, ...]:
    # Discovery names each NIC's network as the vault's mappings do: map by that id;
    # an unmapped NIC under the override gets the empty network (disconnected).
    machines = {m.machine_id: m for m in discovery.discover(client).machines}
    nics: list[Params] = []
    for machine_id in request.machine_ids:
        machine = machines.get(machine_id)
        if machine is None:
            raise NotFound(f"{client.where}: no source server {machine_id!r}")
        for nic in machine.nics:
            network = request.network_for(nic.network_id)
            if not network and not _allows_unmapped(request):
                raise MappingMissing(
                    f"{client.where}: NIC {nic.nic_id} of {machine.name} is on network "
                    f"{nic.network_id!r}, which no network mapping sends to the recovery site"
                )
            nics.append(Params("Nic", (("NicId", nic.nic_id), ("Network", network))))
    return tuple(nics)


def test_failover(client: CxClient, request: NativeFailover) -> NativeFailoverResult:
    """Virtual-snapshot copies at the point, on the isolated network; the plan replicates on."""
    test = (("RollbackType", "Test"), ("TestNetwork", request.option("network")))
    return NativeFailoverResult(
        request.group_id, rollback(client, request.group_id, request, *test)
    )


def cleanup_test(client: CxClient, machine_ids: Sequence[str]) -> CleanupResult:
    """Remove the machines' test copies; a second call removes nothing."""
    try:
        found = client.call("DeleteVirtualSnapshots", Params("", (), (host_list(machine_ids),)))
    except CxFault as exc:
        raise _mapped(exc) from exc
    return CleanupResult(tuple(value for _, value in found.group("Removed").params))


def recovered(host: Params, where: str) -> NativeRecovered:
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
