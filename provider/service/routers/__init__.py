"""One router per resource; :func:`all_routers` lists them for the app.

A new resource (the failover family, recovery plans) adds its module here
and its router to ``all_routers``.
"""

from __future__ import annotations

from fastapi import APIRouter

from provider.service.routers import (
    fabrics,
    failover,
    items,
    jobs,
    machines,
    mappings,
    plans,
    policies,
    targets,
)


def all_routers() -> list[APIRouter]:
    """Every resource router, in the order the OpenAPI document lists them."""
    return [
        fabrics.router,
        machines.router,
        policies.router,
        targets.router,
        items.router,
        mappings.router,
        failover.router,
        jobs.router,
        plans.router,
    ]
