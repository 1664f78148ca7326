"""/mappings: network mappings (checked against the source inventory) and storage mappings."""

from __future__ import annotations

from fastapi import APIRouter

from provider.errors import NotFound
from provider.model.mapping import IpPolicy, NetworkMapping, StorageMapping
from provider.service.lookups import find_fabric
from provider.service.routers.deps import Srp
from provider.service.schemas import AddNetworkMapping, AddStorageMapping
from provider.service.views import Json, network_mapping_view, storage_mapping_view
from provider.store.unit import Unit

router = APIRouter(prefix="/mappings", tags=["mappings"])


@router.post("/networks", status_code=201)
def add_network(body: AddNetworkMapping, svc: Srp) -> Json:
    """Map a source network (by id or name) to a target network; replaces an earlier one."""
    with svc.store.unit() as tx:
        fabric = find_fabric(tx, body.fabric)
        tx.targets.get(body.target)
        mapping = NetworkMapping(
            fabric.fabric_id,
            _source_network(tx, fabric.fabric_id, body.fabric, body.source_network),
            body.target,
            body.target_network,
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
