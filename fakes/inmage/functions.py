"""The CX API functions of the simulated configuration server.

Each handler takes the deployment and the request's body (a
:class:`~fakes.inmage.wire.Group`) and returns the ``FunctionResponse``
content, or raises :class:`~fakes.inmage.deployment.CxError`. Host lists
travel as a ``Hosts`` group of ``HostId`` parameters; times as seconds since
the epoch with three decimals.
"""

from __future__ import annotations

from collections.abc import Callable

from fakes.inmage import codes
from fakes.inmage.agent import AGENT_VERSION, SourceHost, Tag
from fakes.inmage.components import MasterTarget, ProcessServer
from fakes.inmage.deployment import CxError, Pair, ProtectionPlan, ScoutDeployment
from fakes.inmage.wire import Group
from fakes.vcenter import VCenter

Handler = Callable[[ScoutDeployment, Group], Group]


def _time(value: float) -> str:
    return f"{value:.3f}"


def _required(body: Group, name: str) -> str:
    value = body.param(name)
    if not value:
        raise CxError(codes.BAD_PARAMETER, f"Parameter '{name}' is required.")
    return value


def _integer(body: Group, name: str, default: str) -> int:
    text = body.param(name, default)
    if not text.isdigit():
        raise CxError(codes.BAD_PARAMETER, f"Parameter '{name}' must be a whole number.")
    return int(text)


def _plan(cx: ScoutDeployment, body: Group) -> ProtectionPlan:
    """The plan named by ``ProtectionPlanId``, or else by ``ProtectionPlanName``."""
    plan_id = body.param("ProtectionPlanId")
    if plan_id:
        return cx.plan(plan_id)
    return cx.plan_named(_required(body, "ProtectionPlanName"))


def _host_ids(body: Group) -> list[str]:
    return [value for name, value in body.group("Hosts").params if name == "HostId"]


# -- discovery ------------------------------------------------------------------------


def list_scout_components(cx: ScoutDeployment, body: Group) -> Group:
    return Group(
        "Result",
        (("ConfigurationServerId", cx.host_id), ("HostName", cx.name), ("Version", cx.version)),
        (
            Group("ProcessServers", (), tuple(_ps(ps) for ps in cx.process_servers.values())),
            Group("MasterTargets", (), tuple(_mt(mt) for mt in cx.master_targets.values())),
            Group("SourceServers", (), tuple(_source(cx, h) for h in cx.hosts.values())),
        ),
    )


def _ps(ps: ProcessServer) -> Group:
    status = "Online" if ps.online else "Offline"
    return Group(
        "ProcessServer",
        (
            ("HostId", ps.host_id),
            ("HostName", ps.name),
            ("Site", ps.site),
            ("Status", status),
            ("CacheUsedBytes", str(ps.cached_bytes())),
        ),
    )


def _mt(mt: MasterTarget) -> Group:
    return Group(
        "MasterTarget",
        (
            ("HostId", mt.host_id),
            ("HostName", mt.name),
            ("Site", mt.site),
            ("Status", "Online"),
            ("RetentionUsedBytes", str(mt.retention_used)),
            ("RetentionCapacityBytes", str(mt.retention_space)),
        ),
    )


def _source(cx: ScoutDeployment, host: SourceHost) -> Group:
    return Group(
        "SourceServer",
        (
            ("HostId", host.host_id),
            ("HostName", host.name),
            ("Kind", host.kind),
            ("OsType", host.os_type),
            ("AgentVersion", AGENT_VERSION),
            ("Site", host.site),
            ("Protected", "Yes" if cx.pair_of(host.host_id) else "No"),
            ("FailbackOf", host.failback_of),
        ),
    )


def get_host_info(cx: ScoutDeployment, body: Group) -> Group:
    wanted = _host_ids(body) or [_required(body, "HostId")]
    return Group("Result", (), tuple(_host(cx.host(host_id)) for host_id in wanted))


def _host(host: SourceHost) -> Group:
    disks = tuple(
        Group("Disk", (("DiskId", d.disk_id), ("Name", d.name), ("Capacity", str(d.capacity))))
        for d in host.disks
    )
    nics = tuple(
        Group("Nic", (("NicId", n), ("MacAddress", m), ("IPAddress", ip), ("Network", net)))
        for n, m, ip, net in host.nics
    )
    params = (
        ("HostId", host.host_id),
        ("HostName", host.name),
        ("Kind", host.kind),
        ("OsType", host.os_type),
        ("VmId", host.vm_id),
        ("vCenter", host.vcenter),
        ("Datacenter", host.datacenter),
        ("CpuCount", str(host.cpu_count)),
        ("MemoryMB", str(host.memory_mib)),
        ("PowerState", "On" if host.powered_on else "Off"),
        ("Site", host.site),
        ("FailbackOf", host.failback_of),
    )
    return Group("Host", params, (Group("Disks", (), disks), Group("Nics", (), nics)))


def infrastructure_discovery(cx: ScoutDeployment, body: Group) -> Group:
    return Group("Result", (), tuple(_vcenter(vc) for vc in cx.vcenters))


def _vcenter(vc: VCenter) -> Group:
    datacenters = tuple(
        Group(
            "Datacenter",
            (("Id", dc.moid), ("Name", dc.name)),
            (
                Group(
                    "Networks",
                    (),
                    tuple(
                        Group("Network", (("Id", n.moid), ("Name", n.name), ("Type", n.type)))
                        for n in dc.networks
                    ),
                ),
                Group(
                    "EsxHosts",
                    (),
                    tuple(Group("EsxHost", (("Id", h.moid), ("Name", h.name))) for h in dc.hosts),
                ),
            ),
        )
        for dc in vc.datacenters
    )
    return Group("vCenter", (("Name", vc.name),), datacenters)


# -- protection -----------------------------------------------------------------------


def create_protection(cx: ScoutDeployment, body: Group) -> Group:
    hosts = _host_ids(body)
    if not hosts:
        raise CxError(codes.BAD_PARAMETER, "Parameter group 'Hosts' lists no HostId.")
    plan = cx.protect(
        _required(body, "ProtectionPlanName"),
        hosts,
        _required(body, "ProcessServerId"),
        _required(body, "MasterTargetId"),
        _integer(body, "RetentionWindowHours", "24"),
        _integer(body, "ConsistencyIntervalMinutes", "0"),
    )
    request_id = cx.record_request("CreateProtectionV2")
    return Group("Result", (("ProtectionPlanId", plan.plan_id), ("RequestId", request_id)))


def get_protection_state(cx: ScoutDeployment, body: Group) -> Group:
    plan = _plan(cx, body)
    hosts = tuple(_pair_state(pair) for pair in plan.pairs.values())
    params = (("ProtectionPlanId", plan.plan_id), ("ProtectionPlanName", plan.name))
    return Group("Result", params, (Group("Hosts", (), hosts),))


def _pair_state(pair: Pair) -> Group:
    return Group(
        "Host",
        (
            ("HostId", pair.host.host_id),
            ("ReplicationStatus", pair.state),
            ("Health", pair.health),
            ("Reason", pair.reason),
            ("PendingBytes", str(pair.host.agent.pending_bytes)),
            ("CachedBytes", str(pair.process_server.cached_bytes(pair.host.host_id))),
            ("RetainedBytes", str(pair.replica.retained_bytes)),
        ),
    )


def stop_protection(cx: ScoutDeployment, body: Group) -> Group:
    cx.stop(_plan(cx, body).plan_id, _host_ids(body))
    return Group("Result", (("RequestId", cx.record_request("StopProtection")),))


def restart_resync(cx: ScoutDeployment, body: Group) -> Group:
    cx.restart_resync(_plan(cx, body).plan_id, _host_ids(body))
    return Group("Result", (("RequestId", cx.record_request("RestartResync")),))


# -- recovery -------------------------------------------------------------------------


def list_consistency_points(cx: ScoutDeployment, body: Group) -> Group:
    plan = _plan(cx, body)
    per_host = {h: [t for _, t in cx.tags_of(p)] for h, p in plan.pairs.items()}
    hosts = tuple(
        Group("Host", (("HostId", h),), (Group("Tags", (), tuple(_tag(t) for t in tags)),))
        for h, tags in per_host.items()
    )
    return Group("Result", (), (Group("Hosts", (), hosts), _multi_vm(plan, per_host)))


def _multi_vm(plan: ProtectionPlan, per_host: dict[str, list[Tag]]) -> Group:
    # A multi-VM point is a tag every host of the plan holds (issued at one instant).
    tag_lists = list(per_host.values())
    names = [{t.name for t in tags} for tags in tag_lists]
    common = [t for t in tag_lists[0] if all(t.name in other for other in names)]
    return Group("MultiVMPoints", (), tuple(_tag(_worst(t, tag_lists)) for t in common))


def _worst(tag: Tag, tag_lists: list[list[Tag]]) -> Tag:
    order = ("Exact", "Approximate", "Not guaranteed")
    same = [t for tags in tag_lists for t in tags if t.name == tag.name]
    return max(same, key=lambda t: order.index(t.accuracy))


def _tag(tag: Tag) -> Group:
    return Group(
        "Tag",
        (
            ("TagName", tag.name),
            ("Timestamp", _time(tag.issued_at)),
            ("Level", tag.level),
            ("Accuracy", tag.accuracy),
        ),
    )


def create_rollback(cx: ScoutDeployment, body: Group) -> Group:
    plan_id, hosts = _plan(cx, body).plan_id, _host_ids(body)
    point_type, tag_name = _required(body, "RecoveryPointType"), body.param("TagName")
    kind = body.param("RollbackType", "Production")
    if kind == "Test":
        network = body.param("TestNetwork")
        rollback = cx.test_rollback(plan_id, hosts, point_type, tag_name, network)
    elif kind == "Production":
        rollback = cx.rollback(plan_id, hosts, point_type, tag_name, _nic_networks(body))
    else:
        raise CxError(codes.BAD_PARAMETER, f"Unknown rollback type '{kind}'.")
    request_id = cx.record_request("CreateRollback")
    return Group("Result", (("RollbackId", rollback.rollback_id), ("RequestId", request_id)))


def _nic_networks(body: Group) -> dict[str, str]:
    return {nic.param("NicId"): nic.param("Network") for nic in body.group("Nics").groups}


def delete_virtual_snapshots(cx: ScoutDeployment, body: Group) -> Group:
    removed = cx.delete_test_copies(_host_ids(body))
    hosts = Group("Removed", tuple(("HostId", host_id) for host_id in removed))
    request_id = cx.record_request("DeleteVirtualSnapshots")
    return Group("Result", (("RequestId", request_id),), (hosts,))


def prepare_failback(cx: ScoutDeployment, body: Group) -> Group:
    tag = cx.prepare_failback(_plan(cx, body).plan_id, _host_ids(body))
    params = (("TagName", tag.name), ("Timestamp", _time(tag.issued_at)))
    return Group("Result", (*params, ("RequestId", cx.record_request("PrepareFailback"))))


def list_rollbacks(cx: ScoutDeployment, body: Group) -> Group:
    found = cx.rollbacks_of(_required(body, "ProtectionPlanName"))
    rows = tuple(
        Group("Rollback", (("RollbackId", r.rollback_id), ("Test", "Yes" if r.test else "No")))
        for r in found
    )
    return Group("Result", (), (Group("Rollbacks", (), rows),))


def get_rollback_state(cx: ScoutDeployment, body: Group) -> Group:
    rollback_id = _required(body, "RollbackId")
    rollback = cx.rollbacks.get(rollback_id)
    if rollback is None:
        raise CxError(codes.NOT_FOUND, f"Rollback '{rollback_id}' does not exist.")
    hosts = tuple(
        Group(
            "Host",
            (
                ("HostId", h.host_id),
                ("Status", h.status),
                ("TagName", h.tag_name),
                ("Timestamp", _time(h.tag_time)),
                ("RecoveredHostId", h.recovered_host_id),
            ),
            (
                Group(
                    "Disks",
                    (),
                    tuple(Group("Disk", (("DiskId", d), ("Sha256", s))) for d, s in h.disk_digests),
                ),
            ),
        )
        for h in rollback.hosts
    )
    params = (
        ("RollbackId", rollback.rollback_id),
        ("Status", rollback.status),
        ("RollbackType", "Test" if rollback.test else "Production"),
    )
    return Group("Result", params, (Group("Hosts", (), hosts),))


# -- requests and events --------------------------------------------------------------


def get_request_status(cx: ScoutDeployment, body: Group) -> Group:
    request_id = _required(body, "RequestId")
    found = cx.requests.get(request_id)
    if found is None:
        raise CxError(codes.NOT_FOUND, f"Request '{request_id}' does not exist.")
    function, status, message = found
    params = (("RequestId", request_id), ("Function", function), ("Status", status))
    return Group("Result", (*params, ("Message", message)))


def list_events(cx: ScoutDeployment, body: Group) -> Group:
    try:
        since = float(body.param("Since", "0"))
    except ValueError as exc:
        raise CxError(codes.BAD_PARAMETER, "Parameter 'Since' must be a time.") from exc
    events = tuple(
        Group(
            "Event",
            (
                ("Time", _time(e.time)),
                ("Severity", e.severity),
                ("HostId", e.host_id),
                ("Message", e.message),
            ),
        )
        for e in cx.events
        if e.time >= since
    )
    return Group("Result", (), (Group("Events", (), events),))


HANDLERS: dict[str, Handler] = {
    "ListScoutComponents": list_scout_components,
    "GetHostInfo": get_host_info,
    "InfrastructureDiscovery": infrastructure_discovery,
    "CreateProtectionV2": create_protection,
    "GetProtectionState": get_protection_state,
    "StopProtection": stop_protection,
    "ListConsistencyPoints": list_consistency_points,
    "CreateRollback": create_rollback,
    "GetRollbackState": get_rollback_state,
    "ListRollbacks": list_rollbacks,
    "DeleteVirtualSnapshots": delete_virtual_snapshots,
    "PrepareFailback": prepare_failback,
    "RestartResync": restart_resync,
    "GetRequestStatus": get_request_status,
    "ListEvents": list_events,
}
