"""/items: protect machines (202 + job), list and show protected items, points, disable."""

from __future__ import annotations

from fastapi import APIRouter

from provider.service.protection import ProtectMachines, disable_item, protect_machines
from provider.service.routers.deps import Srp
from provider.service.schemas import Protect
from provider.service.views import Json, item_view, job_view, point_view

router = APIRouter(prefix="/items", tags=["protected items"])


@router.post("", status_code=202)
def protect(body: Protect, svc: Srp) -> Json:
    """Protect machines; the answer names the initial-replication job to watch."""
    request = ProtectMachines(
        tuple(body.machines),
        body.policy,
        body.target,
        body.fabric,
        body.group,
        tuple(sorted(body.options.items())),
    )
    protection = protect_machines(svc, request)
    now = svc.clock()
    return {
        "job_id": protection.job.job_id,
        "job": job_view(protection.job),
        "items": [item_view(item, now, None) for item in protection.items],
    }


@router.get("")
def list_items(svc: Srp) -> list[Json]:
    """Every protected item with state, health and its reasons, RPO and last point."""
    now = svc.clock()
    with svc.store.read() as tx:
        return [item_view(item, now, tx.points.latest(item.item_id)) for item in tx.items.list()]


@router.get("/{item_id}")
def show(item_id: str, svc: Srp) -> Json:
    with svc.store.read() as tx:
        item = tx.items.get(item_id)
        points = tx.points.for_item(item_id)
    view = item_view(item, svc.clock(), points[-1] if points else None)
    return {**view, "points": len(points)}


@router.get("/{item_id}/points")
def points(item_id: str, svc: Srp) -> list[Json]:
    """The item's recovery points, oldest first."""
    with svc.store.read() as tx:
        tx.items.get(item_id)
        return [point_view(point) for point in tx.points.for_item(item_id)]


@router.post("/{item_id}/disable")
def disable(item_id: str, svc: Srp) -> Json:
    """Stop protecting the item: tracking off, item and its points forgotten."""
    stopped = disable_item(svc, item_id)
    return {
        "item_id": stopped.item_id,
        "machine": stopped.machine_name,
        "state": "disabled",
        "warning": stopped.warning,
    }
