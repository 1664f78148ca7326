"""Every failure as an HTTP status and one JSON shape.

    {"error": {"type": "NotFound", "message": "...", "hint": "..."}}

``type`` is the name of the :mod:`provider.errors` class, so the CLI rebuilds
the same exception and exits with the same code as a local failure would.
Failures that are not ``SrpError`` (a malformed request, an unknown route, a
body over the limit) use the class that says the same thing. Only a real
bug reaches the catch-all: it is logged and answered with a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from provider import errors

log = logging.getLogger("srp.service")

#: The most specific class in an error's MRO decides its status.
STATUS_BY_CLASS: dict[type[errors.SrpError], int] = {
    errors.SrpError: 400,
    errors.ConfigurationError: 422,
    errors.ValidationError: 422,
    errors.InvalidTransition: 409,
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.PluginError: 502,
    errors.NoPluginForKind: 422,
    errors.StoreError: 503,
    errors.CredentialsError: 403,
    errors.FabricError: 502,
    errors.FabricUnreachable: 503,
    errors.AuthenticationFailed: 403,
    errors.WrongFabricKind: 422,
    errors.MachineNotFound: 404,
    errors.HrlError: 422,
    errors.ReplicationError: 409,
    errors.TargetUnavailable: 503,
    errors.TargetFull: 507,
    errors.CacheFull: 503,
    errors.FailoverError: 409,
    errors.NotSupported: 422,
    errors.RecoveryPointUnavailable: 404,
    errors.PlanError: 422,
    errors.JobError: 409,
}

#: Statuses Starlette raises itself, as the error type a client understands.
_HTTP_TYPES = {404: "NotFound", 405: "ValidationError", 413: "ValidationError"}


def status_for(error: errors.SrpError) -> int:
    """The HTTP status of an srp error."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_CLASS:
            return STATUS_BY_CLASS[cls]
    return 400


def error_body(kind: str, message: str, hint: str = "") -> dict[str, Any]:
    """The one JSON shape of every error answer."""
    return {"error": {"type": kind, "message": message, "hint": hint}}


def error_response(status: int, kind: str, message: str, hint: str = "") -> JSONResponse:
    return JSONResponse(error_body(kind, message, hint), status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every failure the JSON shape above."""
    app.add_exception_handler(errors.SrpError, _srp_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _bug)


async def _srp_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.SrpError)
    return error_response(status_for(exc), type(exc).__name__, exc.message, exc.hint)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = exc.errors()
    # Garbage that is not JSON at all is a bad request; JSON of the wrong shape is 422.
    status = 400 if any(p.get("type") == "json_invalid" for p in problems) else 422
    return error_response(
        status,
        "ValidationError",
        "the request is invalid: " + describe_problems(problems),
        "see the API's OpenAPI document at /openapi.json",
    )


def describe_problems(problems: Sequence[Any]) -> str:
    """Each problem as ``location: message``; input values are left out (they may be secrets)."""
    parts = []
    for problem in problems[:10]:
        where = ".".join(str(part) for part in problem.get("loc", ()))
        parts.append(f"{where}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    kind = _HTTP_TYPES.get(exc.status_code, "ValidationError")
    message = str(exc.detail) if exc.status_code != 404 else f"no route {request.url.path!r}"
    return error_response(exc.status_code, kind, message)


async def _bug(request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return error_response(
        500,
        "InternalError",
        f"internal error: {type(exc).__name__}",
        "this is a bug in srp; the service log has the traceback",
    )
