"""Reverse replication and failback through a CX: VMware only, every change brought home.

After an unplanned failover the recovered machines run on the secondary
site, unprotected. *Reverse* protects them back toward a master target on
the primary site: the target options ``failback_master_target`` and
``failback_process_server`` name it (by id or name); the plan is the
group's failback plan (:func:`plugins.inmage.native.reverse_plan`). The
master target reuses the original VM's disks, so only differing blocks
travel. *Failback* shuts the recovered machines down, issues a last tag
and checks it reached the primary master target, rolls the original VMs
back to it, and protects them forward again (``process_server``,
``master_target``; ``retention_hours``, default 24).

InMage fails back to VMware only: a machine whose original is a physical
server is refused before anything changes. Every step can be run again: a
failback interrupted after its rollback (the CX unreachable) resumes
forward protection on the next attempt and reports the rollback it made.
"""

from __future__ import annotations

from collections.abc import Sequence

from plugins.inmage import cxapi
from plugins.inmage.client import CxClient, CxFault
from plugins.inmage.cxapi import Params, host_list
from plugins.inmage.native import component, plan_call, recovered, reverse_plan, rollback, state
from provider.contracts.connection import TargetConnection
from provider.contracts.native import (
    NativeFailover,
    NativeFailoverResult,
    NativeGroupState,
    NativeRecovered,
    PointChoice,
)
from provider.errors import FabricError, FailoverError, NotFound, NotSupported, ValidationError

#: Retention of the failback plan and of the forward plan failback resumes (hours).
DEFAULT_RETENTION_HOURS = "24"


def reverse(
    client: CxClient, target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> NativeGroupState:
    """Protect the recovered machines of ``machine_ids`` (originals) back to the primary site."""
    servers = _servers(client)
    pairs = [(_recovered_host(servers, m, client.where), servers[m]) for m in machine_ids]
    for _, original in pairs:
        _require_vmware(original, client.where)
    plan = reverse_plan(group_id)
    wanted = [r.get("HostId") for r, _ in pairs if r.get("HostId") not in _plan_hosts(client, plan)]
    if wanted:
        _protect(client, target, plan, wanted, "failback_process_server", "failback_master_target")
    return state(client, group_id)


def failback(
    client: CxClient, target: TargetConnection, request: NativeFailover
) -> NativeFailoverResult:
    """Bring the recovered machines (``request.machine_ids``) home to their VMware VMs."""
    servers = _servers(client)
    originals = {m: _original(servers, m, client.where) for m in request.machine_ids}
    for original in originals.values():
        _require_vmware(original, client.where)
    plan = reverse_plan(request.group_id)
    held = _plan_hosts(client, plan)
    pending = tuple(m for m in request.machine_ids if m in held)
    landed = {r.machine_id: r for r in _roll_back_home(client, plan, request, pending)}
    landed.update(_earlier(client, plan, [m for m in request.machine_ids if m not in landed]))
    forward = _plan_hosts(client, request.group_id)
    home = [o.get("HostId") for o in originals.values() if o.get("HostId") not in forward]
    if home:
        _protect(client, target, request.group_id, home, "process_server", "master_target")
    return NativeFailoverResult(request.group_id, tuple(landed[m] for m in request.machine_ids))


def _servers(client: CxClient) -> dict[str, Params]:
    found = client.call("ListScoutComponents").children("SourceServers")
    return {server.get("HostId"): server for server in found}


def _recovered_host(servers: dict[str, Params], original_id: str, where: str) -> Params:
    if original_id not in servers:
        raise NotFound(f"{where}: no source server {original_id!r}")
    for server in servers.values():
        if server.get("FailbackOf") == original_id:
            return server
    name = servers[original_id].get("HostName")
    raise FailoverError(f"{where}: {name} has no recovered machine to replicate back")


def _original(servers: dict[str, Params], recovered_id: str, where: str) -> Params:
    found = servers.get(recovered_id)
    original = servers.get(found.get("FailbackOf")) if found is not None else None
    if original is None:
        raise NotFound(f"{where}: {recovered_id!r} is no recovered machine with an original")
    return original


def _require_vmware(original: Params, where: str) -> None:
    if original.get("Kind") != "VMware":
        raise NotSupported(
            f"{where}: {original.get('HostName')} is a physical server: InMage fails back "
            "to a VMware VM only, and no VMware VM is given to fail back to"
        )


def _plan_hosts(client: CxClient, plan: str) -> set[str]:
    found = plan_call(client, "GetProtectionState", plan)
    hosts = found.children("Hosts") if found is not None else ()
    return {host.get("HostId") for host in hosts}


def _protect(
    client: CxClient,
    target: TargetConnection,
    plan: str,
    host_ids: Sequence[str],
    ps_option: str,
    mt_option: str,
) -> None:
    ps = component(client, "ProcessServers", _required(target, ps_option))
    mt = component(client, "MasterTargets", _required(target, mt_option))
    retention = target.option("retention_hours", DEFAULT_RETENTION_HOURS)
    params = (("ProtectionPlanName", plan), ("ProcessServerId", ps), ("MasterTargetId", mt))
    body = Params("", (*params, ("RetentionWindowHours", retention)), (host_list(host_ids),))
    try:
        client.call("CreateProtectionV2", body)
    except CxFault as exc:
        raise _refused(exc) from exc


def _required(target: TargetConnection, name: str) -> str:
    value = target.option(name)
    if not value:
        raise ValidationError(
            f"target {target.target_id!r}: option {name!r} is needed for InMage failback"
        )
    return value


def _roll_back_home(
    client: CxClient, plan: str, request: NativeFailover, pending: tuple[str, ...]
) -> tuple[NativeRecovered, ...]:
    if not pending:
        return ()
    body = Params("", (("ProtectionPlanName", plan),), (host_list(pending),))
    try:
        tag = client.call("PrepareFailback", body).get("TagName")
    except CxFault as exc:
        raise _refused(exc) from exc
    _require_landed(client, plan, pending, tag)
    last = NativeFailover(request.group_id, pending, PointChoice.NAMED, request.mode, tag)
    return rollback(client, plan, last)


def _require_landed(client: CxClient, plan: str, host_ids: Sequence[str], tag: str) -> None:
    # The recovered machines are off: until their last tag is on the primary master
    # target, rolling back would lose their last writes. They wait, cached, meanwhile.
    points = client.call("ListConsistencyPoints", Params("", (("ProtectionPlanName", plan),)))
    holding = {
        host.get("HostId")
        for host in points.children("Hosts")
        if any(_usable(t, tag) for t in host.children("Tags"))
    }
    missing = [h for h in host_ids if h not in holding]
    if missing:
        raise FailoverError(
            f"{client.where}: the last changes of {', '.join(_reasons(client, plan, missing))} "
            "have not reached the primary master target; they wait on the recovery site, "
            "nothing is lost: fail back again once replication is healthy"
        )


def _usable(tag: Params, name: str) -> bool:
    return tag.get("TagName") == name and tag.get("Accuracy") != "Not guaranteed"


def _reasons(client: CxClient, plan: str, host_ids: Sequence[str]) -> list[str]:
    found = plan_call(client, "GetProtectionState", plan)
    hosts = {h.get("HostId"): h for h in (found.children("Hosts") if found is not None else ())}
    return [f"{h} ({hosts[h].get('Reason') or 'not replicated yet'})" for h in host_ids]


def _earlier(client: CxClient, plan: str, machine_ids: Sequence[str]) -> dict[str, NativeRecovered]:
    """What an interrupted failback's rollback already brought home (newest first)."""
    found: dict[str, NativeRecovered] = {}
    listed = client.call("ListRollbacks", Params("", (("ProtectionPlanName", plan),)))
    for row in reversed(listed.children("Rollbacks")):
        if row.get("Test") == "Yes":
            continue
        answer = client.call(
            "GetRollbackState", Params("", (("RollbackId", row.get("RollbackId")),))
        )
        for host in answer.children("Hosts"):
            if host.get("HostId") in machine_ids and host.get("HostId") not in found:
                found[host.get("HostId")] = recovered(host, client.where)
    missing = [m for m in machine_ids if m not in found]
    if missing:
        raise FabricError(
            f"{client.where}: {', '.join(missing)} neither replicate back nor came home"
        )
    return found


def _refused(exc: CxFault) -> FabricError | FailoverError:
    if exc.code == cxapi.NOT_ALLOWED:
        return FailoverError(exc.message)
    return exc
