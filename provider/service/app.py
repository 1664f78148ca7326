"""The FastAPI application of ``srp serve``.

    app = create_app(Settings.from_env(), plugins=manager)

Every route needs an API token (the OpenAPI document too), bodies are
capped, and every failure answers with the JSON error shape of
:mod:`provider.service.errors`. The app's lifespan starts the scheduler and
the job worker, and stops them on shutdown.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from provider import __version__
from provider.pluginmanager import PluginManager
from provider.service.auth import TokenAuth
from provider.service.context import ServiceContext, ServiceOptions, open_service
from provider.service.errors import install_error_handlers
from provider.service.limits import DEFAULT_BODY_LIMIT, BodyLimit
from provider.service.routers import all_routers
from provider.settings import Settings


def create_app(
    settings: Settings,
    *,
    plugins: PluginManager | None = None,
    clock: Callable[[], float] = time.time,
    options: ServiceOptions | None = None,
    body_limit: int = DEFAULT_BODY_LIMIT,
) -> FastAPI:
    """The service app over the vault in ``settings`` (which must be initialised)."""
    svc = open_service(settings, plugins=plugins, clock=clock, options=options)
    app = FastAPI(
        title="srp provider service",
        version=__version__,
        description="Fabrics, policies, protection, recovery points, mappings and jobs.",
        lifespan=_lifespan,
    )
    app.state.srp = svc
    install_error_handlers(app)
    for router in all_routers():
        app.include_router(router)
    # Added last, runs first: an unauthenticated request never has its body read.
    app.add_middleware(BodyLimit, limit=body_limit)
    app.add_middleware(TokenAuth, tokens=svc.tokens)
    return app


def service_of(app: FastAPI) -> ServiceContext:
    """The shared context of an app made by :func:`create_app`."""
    svc = app.state.srp
    assert isinstance(svc, ServiceContext)
    return svc


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    svc = service_of(app)
    svc.start()
    try:
        yield
    finally:
        svc.stop()
