"""/fabrics: register, list, show (with inventory), refresh, unregister."""

from __future__ import annotations

from fastapi import APIRouter

from provider.contracts.connection import Secret
from provider.model.inventory import Fabric
from provider.service.context import ServiceContext
from provider.service.lookups import find_fabric
from provider.service.registration import (
    Registration,
    refresh_fabric,
    register_fabric,
    unregister_fabric,
)
from provider.service.routers.deps import Srp
from provider.service.schemas import RegisterFabric
from provider.service.views import Json, fabric_view, inventory_view

router = APIRouter(prefix="/fabrics", tags=["fabrics"])


@router.post("", status_code=201)
def register(body: RegisterFabric, svc: Srp) -> Json:
    """Register a fabric with a vault credentials file; 409 if its address is registered."""
    request = Registration(
        kind=body.kind,
        address=body.address,
        username=body.username,
        password=Secret(body.password),
        credentials=body.credentials.encode("utf-8"),
        name=body.name,
        options=tuple(sorted(body.options.items())),
        reregister=body.reregister,
    )
    return _summary(svc, register_fabric(svc, request))


@router.get("")
def list_fabrics(svc: Srp) -> list[Json]:
    with svc.store.read() as tx:
        fabrics = tx.fabrics.list()
    return [_summary(svc, fabric) for fabric in fabrics]


@router.get("/{name}")
def show(name: str, svc: Srp) -> Json:
    """One fabric with its inventory: containers, machines, networks, hosts."""
    with svc.store.read() as tx:
        fabric = find_fabric(tx, name)
        inventory = tx.fabrics.inventory(fabric.fabric_id)
    return {**_summary(svc, fabric), "inventory": inventory_view(inventory)}


@router.post("/{name}/refresh")
def refresh(name: str, svc: Srp) -> Json:
    """Re-discover the fabric's inventory."""
    return _summary(svc, refresh_fabric(svc, name))


@router.delete("/{name}")
def unregister(name: str, svc: Srp) -> Json:
    """Stop every protection on the fabric and forget it; says which items stopped."""
    result = unregister_fabric(svc, name)
    return {
        "fabric": result.fabric.name,
        "stopped": [
            {"item_id": s.item_id, "machine": s.machine_name, "warning": s.warning}
            for s in result.stopped
        ],
    }


def _summary(svc: ServiceContext, fabric: Fabric) -> Json:
    with svc.store.read() as tx:
        inventory = tx.fabrics.inventory(fabric.fabric_id)
        discovered = tx.fabrics.discovered_at(fabric.fabric_id)
        current = tx.fabrics.get(fabric.fabric_id)
    return fabric_view(current, inventory, discovered)
