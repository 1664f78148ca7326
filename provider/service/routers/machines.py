"""/machines: every discovered machine, with its protection state."""

from __future__ import annotations

from fastapi import APIRouter

from provider.service.lookups import find_fabric
from provider.service.routers.deps import Srp
from provider.service.views import Json, machine_view

router = APIRouter(prefix="/machines", tags=["machines"])


@router.get("")
def list_machines(svc: Srp, fabric: str | None = None) -> list[Json]:
    """Machines of every fabric, or of one (by name or id)."""
    with svc.store.read() as tx:
        fabrics = [find_fabric(tx, fabric)] if fabric else tx.fabrics.list()
        rows = [
            machine_view(f, m, tx.items.for_machine(f.fabric_id, m.machine_id))
            for f in fabrics
            for m in tx.fabrics.inventory(f.fabric_id).machines
        ]
    return sorted(rows, key=lambda row: (row["fabric"], row["name"]))
