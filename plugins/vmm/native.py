"""Hyper-V Replica between two VMM clouds (target kind ``vmm-replica``).

The target is the *secondary* VMM server (its address, secret, ``username``
and the vmm fabric's connection options) and one of its clouds (option
``cloud``). Replication itself is Hyper-V Replica between the VM's primary
host and a host of that cloud, so every native hook is carried out by the
``hyperv-replica`` functions (:mod:`plugins.hyperv.native`) with one group
book; this module only adds what VMM knows:

* placement: at protection the group's replicas go to the responding host
  of the cloud running the fewest VMs (ties by name; the target option
  ``replica_host`` overrides), made a Replica server if it is not one;
  afterwards the replicas' host is asked of the secondary VMM (VMs move
  between hosts of a cloud), so nothing but the group book is stored;
* hosts, primary and secondary, are reached with the target's account (the
  VMM Run As account, as :mod:`plugins.vmm.hosts` does for sync), at their
  FQDN or through ``host_endpoints``;
* networks: ``request.networks`` maps primary VM network ids to secondary
  VM network ids. Before anything changes each mapped VM network must exist
  in the secondary VMM and be allowed in the cloud, and a switch of the
  replica host must carry its logical network (``Get-SCVirtualNetwork``),
  else ``FailoverError`` naming it; the mapping is then translated into the
  host's switches for :func:`plugins.hyperv.native.plan_nics`. A test
  failover's isolated network (option ``network``) is a VM network too;
* capacity: before a failover that lands in the cloud (test, planned,
  unplanned) the cloud must hold the VMs' count, vCPUs and memory
  (:meth:`CloudCapacity.shortfall`), else ``FailoverError`` naming the cloud
  and what is short;
* listing (``srp_target_networks``): the VM networks the target cloud
  allows, so the core checks mappings (VM network -> VM network) and picks
  a drill's isolated network as on the cloud path. VMM has no notion of a
  test network; a VM network counts as isolated when every switch of the
  cloud's hosts that carries its logical network is a Hyper-V *private*
  switch (no uplink, no host adapter: nothing leaves the host), the same
  rule the hyperv plugin applies to a host's switches.

A failback (or any failover of a group replicating in reverse) lands on the
original host, which the primary VMM manages, not the target's: there the
NICs go back to the switches the original VM's own adapters are connected
to (Hyper-V keeps them in the VM's configuration through failover and
reverse), and no capacity of the secondary cloud is involved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from plugins.hyperv import native as hyperv
from plugins.hyperv import scripts as hyperv_scripts
from plugins.hyperv.client import HyperVClient
from plugins.hyperv.records import Row, one_row, rows
from plugins.vmm import discovery, scripts
from plugins.vmm.hosts import host_address, host_connection
from plugins.vmm.locator import Locator, server_name, server_port
from plugins.vmm.model import HostSwitch, ReplicaSite, VmmCloud, VmSize
from provider.contracts.connection import FabricConnection, TargetConnection
from provider.contracts.declarations import FailoverMode
from provider.contracts.failover import CleanupResult
from provider.contracts.native import (
    NativeFailover,
    NativeFailoverResult,
    NativeGroupState,
    NativePoint,
    NativeProtection,
)
from provider.errors import FailoverError, NotFound, ValidationError
from provider.model.inventory import Machine, Network

MIB = 1 << 20


@dataclass(frozen=True)
class VmmReplica:
    """What the vmm-replica hooks share: the secondary VMM's locator and Hyper-V Replica's sides."""

    locator: Locator
    sides: hyperv.NativeSides


def vmm_connection(target: TargetConnection) -> FabricConnection:
    """The target seen as a connection to its VMM server (the vmm fabric's options apply)."""
    return FabricConnection(
        target.target_id,
        "vmm",
        target.location,
        target.option("username"),
        target.secret,
        target.options,
    )


def host_target(target: TargetConnection, host: str) -> TargetConnection:
    """The target as the hyperv-replica functions need it: located at the replica host."""
    reached = host_connection(vmm_connection(target), host)
    return TargetConnection(
        target.target_id,
        target.kind,
        reached.address,
        target.secret,
        reached.options,
        target.state_dir,
    )


# -- the secondary VMM ------------------------------------------------------------------


def read_site(replica: VmmReplica, target: TargetConnection) -> ReplicaSite:
    """The secondary VMM's fabric, networks, switches and VM sizes (two round trips)."""
    connection = vmm_connection(target)
    client = replica.locator.server(connection)
    name, port = server_name(connection), server_port(connection)
    fabric = discovery.read_fabric(client, name, port)
    replica.locator.remember(connection, fabric)
    script = scripts.replica_networks(name, port)
    answer = one_row(client.query(script), f"{client.host}: {script.command}")
    return ReplicaSite(
        fabric,
        tuple(
            (r.text("ID").lower(), r.optional_text("LogicalNetworkId").lower())
            for r in answer.rows("VMNetworks")
        ),
        tuple(_switch(row) for row in answer.rows("Switches")),
        tuple(_size(row) for row in answer.rows("VMs")),
    )


def _switch(row: Row) -> HostSwitch:
    logical = tuple(value.lower() for value in row.texts("LogicalNetworkIds"))
    return HostSwitch(row.optional_text("HostName"), row.text("Name"), logical)


def _size(row: Row) -> VmSize:
    return VmSize(
        row.text("VMId").strip("{}").lower(),
        row.text("Name"),
        row.integer("CPUCount", 1),
        row.integer("Memory", 0),
    )


def target_cloud(site: ReplicaSite, target: TargetConnection) -> VmmCloud:
    """The cloud the target names (option ``cloud``, a name or an id)."""
    named = target.option("cloud")
    if not named:
        raise ValidationError(
            f"target {target.target_id!r}: a vmm-replica target needs the option 'cloud' "
            "(the secondary VMM cloud that receives the replicas)"
        )
    cloud = site.cloud_named(named)
    if cloud is None:
        raise ValidationError(f"VMM server {site.server!r} has no cloud {named!r}")
    return cloud


# -- networks -----------------------------------------------------------------------------

#: Hyper-V's switch type whose traffic never leaves the host (``VMSwitchType.Private``).
PRIVATE_SWITCH = "Private"


def target_networks(replica: VmmReplica, target: TargetConnection) -> tuple[Network, ...]:
    """The VM networks of the target cloud, those reaching only private switches isolated."""
    site = read_site(replica, target)
    cloud = target_cloud(site, target)
    hosts = [h.name for h in site.fabric.hosts if h.responding and h.name in cloud.hosts]
    private = {
        (host.lower(), name) for host in hosts for name in _private_switches(replica, target, host)
    }
    return tuple(
        replace(network, isolated=_isolated_network(site, hosts, private, network.network_id))
        for network in cloud.vm_networks
    )


def _private_switches(replica: VmmReplica, target: TargetConnection, host: str) -> list[str]:
    """The names (lower case) of the host's private switches."""
    client = replica.sides.server(host_target(target, host))
    script = hyperv_scripts.get_switches()
    found = rows(client.query(script), f"{client.host}: {script.command}")
    return [
        r.text("Name").lower() for r in found if r.optional_text("SwitchType") == PRIVATE_SWITCH
    ]


def _isolated_network(
    site: ReplicaSite, hosts: Sequence[str], private: set[tuple[str, str]], vm_network: str
) -> bool:
    logical = dict(site.vm_networks).get(vm_network.lower(), "")
    wanted = {host.lower() for host in hosts}
    carriers = [
        (switch.host.lower(), switch.name.lower())
        for switch in site.switches
        if switch.host.lower() in wanted and logical in switch.logical_network_ids
    ]
    return bool(carriers) and all(carrier in private for carrier in carriers)


# -- protect ------------------------------------------------------------------------------


def protect(
    replica: VmmReplica, target: TargetConnection, request: NativeProtection
) -> NativeGroupState:
    """Place the group on a host of the cloud, then enable Hyper-V Replica toward it."""
    site = read_site(replica, target)
    host = place(site, target_cloud(site, target), target.option("replica_host"))
    landing = host_target(target, host)
    storage = target.option("replica_storage_path", hyperv.DEFAULT_REVERSE_STORAGE)
    hyperv.accept_replicas(replica.sides.server(landing), storage)
    options = (
        *request.options,
        ("primary_address", _primary_address(target, request)),
        ("primary_username", request.option("primary_username") or target.option("username")),
    )
    return hyperv.protect(replica.sides, landing, replace(request, options=options))


def place(site: ReplicaSite, cloud: VmmCloud, wanted: str) -> str:
    """The host of the cloud that receives a group's replicas (VMM's placement, simplified)."""
    responding = [h.name for h in site.fabric.hosts if h.responding and h.name in cloud.hosts]
    if wanted:
        chosen = [h for h in responding if wanted.lower() in (h.lower(), h.split(".")[0].lower())]
        if not chosen:
            raise ValidationError(
                f"replica_host {wanted!r} is not a responding host of cloud {cloud.name!r}"
            )
        return chosen[0]
    if not responding:
        raise ValidationError(
            f"cloud {cloud.name!r} of VMM server {site.server!r} has no responding host "
            "to hold replicas"
        )
    load = {h: sum(vm.host.lower() == h.lower() for vm in site.fabric.vms) for h in responding}
    return min(responding, key=lambda h: (load[h], h.lower()))


def _primary_address(target: TargetConnection, request: NativeProtection) -> str:
    """Where the group's primary host answers: the option, else its VMM name through endpoints."""
    named = request.option("primary_address")
    if named:
        return named
    hosts = {m.host.lower() for m in request.machines}
    if len(hosts) != 1 or not next(iter(hosts)):
        raise ValidationError(
            f"group {request.group_id!r}: Hyper-V Replica replicates one primary host per "
            f"group; the machines run on {sorted(hosts)}"
        )
    return host_address(vmm_connection(target), request.machines[0].host)


# -- where a group is now -----------------------------------------------------------------


def known_group(replica: VmmReplica, target: TargetConnection, group_id: str) -> hyperv.GroupRecord:
    """The group's record; for a group the book lacks, the secondary VMM is asked first.

    The book is local: without the call, a wrong password or a VMM server
    that is down would answer "no such group" instead of what is wrong.
    """
    try:
        return replica.sides.book.get(target, group_id)
    except NotFound:
        connection = vmm_connection(target)
        client = replica.locator.server(connection)
        discovery.identify(client, server_name(connection), server_port(connection))
        raise


def replica_host(replica: VmmReplica, target: TargetConnection, group_id: str) -> str:
    """The host (VMM's name) holding the group's secondary VMs, as the secondary VMM says."""
    record = known_group(replica, target, group_id)
    return replica.locator.host_of(vmm_connection(target), record.machines[0][0])


def located(replica: VmmReplica, target: TargetConnection, group_id: str) -> TargetConnection:
    """The target located at the host that holds the group's secondary VMs."""
    return host_target(target, replica_host(replica, target, group_id))


def state(replica: VmmReplica, target: TargetConnection, group_id: str) -> NativeGroupState:
    return hyperv.state(replica.sides, located(replica, target, group_id), group_id)


def points(replica: VmmReplica, target: TargetConnection, group_id: str) -> tuple[NativePoint, ...]:
    return hyperv.points(replica.sides, located(replica, target, group_id), group_id)


def cleanup_test(
    replica: VmmReplica, target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> CleanupResult:
    at = located(replica, target, group_id)
    return hyperv.cleanup_test(replica.sides, at, group_id, machine_ids)


def reverse(
    replica: VmmReplica, target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> NativeGroupState:
    """Replicate back to the original host: it lands on the primary site, no cloud involved."""
    at = located(replica, target, group_id)
    return hyperv.reverse(replica.sides, at, group_id, machine_ids)


def resync(
    replica: VmmReplica, target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> NativeGroupState:
    return hyperv.resync(replica.sides, located(replica, target, group_id), group_id, machine_ids)


def stop(replica: VmmReplica, target: TargetConnection, group_id: str) -> None:
    """Remove the group's replication; an unknown group does nothing (nothing is asked)."""
    try:
        replica.sides.book.get(target, group_id)
    except NotFound:
        return
    hyperv.stop(replica.sides, located(replica, target, group_id), group_id)


# -- failover -----------------------------------------------------------------------------


def failover(
    replica: VmmReplica, target: TargetConnection, request: NativeFailover
) -> NativeFailoverResult:
    """Check the cloud and the networks first, then fail over with Hyper-V Replica."""
    record = known_group(replica, target, request.group_id)
    host = replica_host(replica, target, request.group_id)
    at = host_target(target, host)
    home = record.reversed or request.mode is FailoverMode.FAILBACK
    if home:
        networks = home_networks(replica.sides.pair(at, record).replica, record, request)
    else:
        site = read_site(replica, target)
        cloud = target_cloud(site, target)
        require_room(site, cloud, request)
        client = replica.sides.server(at)
        networks = secondary_networks(site, cloud, client, host, request)
    return hyperv.failover(replica.sides, at, replace(request, networks=networks))


def test_failover(
    replica: VmmReplica, target: TargetConnection, request: NativeFailover
) -> NativeFailoverResult:
    """A test copy in the cloud, its NICs on the isolated VM network's switch."""
    record = known_group(replica, target, request.group_id)
    if record.reversed:
        raise FailoverError(
            f"group {request.group_id!r} replicates in reverse: its test copies would start on "
            "the original site, which this target's VMM does not manage; nothing was changed"
        )
    host = replica_host(replica, target, request.group_id)
    at = host_target(target, host)
    site = read_site(replica, target)
    cloud = target_cloud(site, target)
    require_room(site, cloud, request)
    client = replica.sides.server(at)
    switch = _isolated(site, cloud, client, host, request.option("network"))
    options = tuple((k, v) for k, v in request.options if k != "network")
    chosen = replace(request, options=(*options, ("network", switch)) if switch else options)
    return hyperv.test_failover(replica.sides, at, chosen)


def require_room(site: ReplicaSite, cloud: VmmCloud, request: NativeFailover) -> None:
    """Refuse a failover the cloud's quotas cannot hold, naming the cloud and what is short."""
    machines = [_machine(site, cloud, machine_id) for machine_id in request.machine_ids]
    short = cloud.capacity.shortfall(machines)
    if short:
        raise FailoverError(
            f"cloud {cloud.name!r} of VMM server {site.server!r} cannot hold the failed-over "
            f"VMs: {short}; nothing was changed",
            hint="raise the cloud's capacity or fail over fewer VMs",
        )


def _machine(site: ReplicaSite, cloud: VmmCloud, machine_id: str) -> Machine:
    size = site.size_of(machine_id)
    if size is None:
        raise FailoverError(
            f"VMM server {site.server!r} knows no replica VM {machine_id!r}; nothing was changed"
        )
    memory = max(size.memory_mb, 1)
    return Machine(
        size.vm_id, size.name, cloud.cloud_id, (), cpu_count=size.cpu_count, memory_mib=memory
    )


def secondary_networks(
    site: ReplicaSite,
    cloud: VmmCloud,
    client: HyperVClient,
    host: str,
    request: NativeFailover,
) -> tuple[tuple[str, str], ...]:
    """Each primary VM network -> the id of the replica host's switch for its mapped VM network."""
    ids = _switch_ids(client)
    return tuple(
        (source, _landing_switch(site, cloud, ids, host, mapped, f"mapped from {source!r}"))
        for source, mapped in request.networks
    )


def _landing_switch(
    site: ReplicaSite, cloud: VmmCloud, ids: dict[str, str], host: str, vm_network: str, why: str
) -> str:
    if not site.has_network(vm_network):
        raise FailoverError(
            f"VM network {vm_network!r} ({why}) does not exist in VMM server {site.server!r}; "
            "nothing was changed",
            hint="map the VM network to one the secondary VMM has",
        )
    if not cloud.allows_network(vm_network.lower()):
        raise FailoverError(
            f"cloud {cloud.name!r} does not allow VM network {vm_network!r} ({why}); "
            "nothing was changed"
        )
    switch = site.switch_for(host, vm_network)
    if not switch or switch.lower() not in ids:
        raise FailoverError(
            f"no virtual switch of {host} carries VM network {vm_network!r} ({why}); "
            "nothing was changed"
        )
    return ids[switch.lower()]


def _isolated(
    site: ReplicaSite, cloud: VmmCloud, client: HyperVClient, host: str, network: str
) -> str:
    """The switch id of the test failover's isolated VM network ('' leaves NICs disconnected)."""
    if not network:
        return ""
    vm_network = site.network_id(network) or network
    return _landing_switch(site, cloud, _switch_ids(client), host, vm_network, "isolated network")


def _switch_ids(client: HyperVClient) -> dict[str, str]:
    """The host's switches by name (lower case) -> id."""
    return {name.lower(): switch_id for switch_id, name in hyperv.switch_names(client).items()}


def home_networks(
    landing: HyperVClient, record: hyperv.GroupRecord, request: NativeFailover
) -> tuple[tuple[str, str], ...]:
    """Each NIC's VM network -> the switch the original VM's adapter at that place is on."""
    ids = _switch_ids(landing)
    wanted = dict(request.networks)
    found: dict[str, str] = {}
    for machine_id in request.machine_ids:
        name = record.vm_name(request.group_id, machine_id)
        script = hyperv_scripts.get_adapters(name)
        adapters = rows(landing.query(script), f"{landing.host}: {script.command}")
        for network, adapter in zip(record.networks_of(machine_id), adapters, strict=False):
            switch = adapter.optional_text("SwitchName").lower()
            if network in wanted and switch in ids:
                found.setdefault(network, ids[switch])
    return tuple(sorted(found.items()))
