"""What a route handler gets injected: the service's shared context."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from provider.service.context import ServiceContext


def service_context(request: Request) -> ServiceContext:
    """The context :func:`provider.service.app.create_app` put on the app."""
    return cast(ServiceContext, request.app.state.srp)


Srp = Annotated[ServiceContext, Depends(service_context)]
