"""/mappings: network mappings (checked against the source inventory) and storage mappings.

A mapping toward a *native* target whose plugin lists its networks
(``srp_target_networks``: a secondary VMM cloud's VM networks) is checked
against that list at once, and the target network may be named by id or
name: a native target's networks are the recovery site's own, which srp
never creates, so a name it lacks is a mistake best refused now. A mapping
toward the HRL path's cloud target stays as given (its networks are checked
at failover, before anything changes), so one may be mapped ahead of time.
"""

from __future__ import annotations

from fastapi import APIRouter

from provider.contracts.declarations import DataPath
from provider.errors import NotFound
from provider.model.mapping import IpPolicy, NetworkMapping, StorageMapping
from provider.native.kinds import implements
from provider.service.context import ServiceContext
from provider.service.lookups import find_fabric
from provider.service.routers.deps import Srp
from provider.service.schemas import AddNetworkMapping, AddStorageMapping
from provider.service.views import Json, network_mapping_view, storage_mapping_view
from provider.store.unit import Unit

router = APIRouter(prefix="/mappings", tags=["mappings"])


@router.post("/networks", status_code=201)
def add_network(body: AddNetworkMapping, svc: Srp) -> Json:
    """Map a source network (by id or name) to a target network; replaces an earlier one."""
    # Asked before the write unit opens: the target's plugin may take a while to answer.
    target_network = _target_network(svc, body.target, body.target_network)
    with svc.store.unit() as tx:
        fabric = find_fabric(tx, body.fabric)
        tx.targets.get(body.target)
        mapping = NetworkMapping(
            fabric.fabric_id,
            _source_network(tx, fabric.fabric_id, body.fabric, body.source_network),
            body.target,
            target_network,
            IpPolicy(body.ip_policy),
            body.static_subnet,
        )
        tx.mappings.put_network(mapping)
    return network_mapping_view(mapping)


@router.get("/networks")
def list_networks(svc: Srp, target: str | None = None) -> list[Json]:
    with svc.store.read() as tx:
        return [network_mapping_view(m) for m in tx.mappings.networks(target)]


@router.delete("/networks/{fabric}/{source_network}/{target}")
def remove_network(fabric: str, source_network: str, target: str, svc: Srp) -> Json:
    with svc.store.unit() as tx:
        found = find_fabric(tx, fabric)
        network = _source_network(tx, found.fabric_id, fabric, source_network)
        mapping = tx.mappings.network(found.fabric_id, network, target)
        tx.mappings.remove_network(found.fabric_id, network, target)
    return {"removed": network_mapping_view(mapping) if mapping else None}


@router.post("/storage", status_code=201)
def add_storage(body: AddStorageMapping, svc: Srp) -> Json:
    with svc.store.unit() as tx:
        fabric = find_fabric(tx, body.fabric)
        tx.targets.get(body.target)
        mapping = StorageMapping(
            fabric.fabric_id, body.source_storage, body.target, body.target_storage
        )
        tx.mappings.put_storage(mapping)
    return storage_mapping_view(mapping)


@router.get("/storage")
def list_storage(svc: Srp, target: str | None = None) -> list[Json]:
    with svc.store.read() as tx:
        return [storage_mapping_view(m) for m in tx.mappings.storages(target)]


# The source storage is a location that may hold "/": it goes last, as a path.
@router.delete("/storage/{fabric}/{target}/{source_storage:path}")
def remove_storage(fabric: str, target: str, source_storage: str, svc: Srp) -> Json:
    with svc.store.unit() as tx:
        found = find_fabric(tx, fabric)
        mapping = tx.mappings.storage(found.fabric_id, source_storage, target)
        tx.mappings.remove_storage(found.fabric_id, source_storage, target)
    return {"removed": storage_mapping_view(mapping) if mapping else None}


def _source_network(tx: Unit, fabric_id: str, fabric_name: str, reference: str) -> str:
    for network in tx.fabrics.inventory(fabric_id).networks:
        if reference in (network.network_id, network.name):
            return network.network_id
    raise NotFound(
        f"fabric {fabric_name!r} has no network {reference!r} in its inventory",
        hint="see its networks with `srp fabric show FABRIC`",
    )


def _target_network(svc: ServiceContext, target_id: str, reference: str) -> str:
    """The target network's id: checked when the target is native and lists its networks."""
    with svc.store.read() as tx:
        kind = tx.targets.get(target_id).kind
    native = svc.plugins.target_kind(kind).data_path is DataPath.NATIVE
    if not (native and implements(svc.engine, kind, "srp_target_networks")):
        return reference
    networks = svc.plugins.target_networks(svc.engine.target_connection(target_id))
    for network in networks:
        if reference in (network.network_id, network.name):
            return network.network_id
    have = ", ".join(n.name for n in networks) or "none"
    raise NotFound(
        f"target {target_id!r} has no network {reference!r} (it has: {have})",
        hint="map to a network of the recovery site",
    )
