"""Bearer-token authentication for every route, the OpenAPI document included.

An ASGI middleware rather than a route dependency: FastAPI's own routes
(``/openapi.json``, ``/docs``) and unknown paths are covered too, and an
unauthenticated request is refused before its body is read.
"""

from __future__ import annotations

import json

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from provider.errors import CredentialsError, SrpError
from provider.service.errors import error_body, status_for
from provider.vault.tokens import ApiTokens

_SCHEME = "bearer "
_HINT = "create a token with `srp vault token create NAME`"


class TokenAuth:
    """Refuses with 401 and a JSON error unless the request bears a live API token."""

    def __init__(self, app: ASGIApp, tokens: ApiTokens) -> None:
        self._app = app
        self._tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        try:
            problem = await self._problem(_authorization(scope))
        except SrpError as exc:
            # The vault could not be read to check the token: not the client's fault.
            await _send_error(send, status_for(exc), type(exc).__name__, exc.message)
            return
        if problem is None:
            await self._app(scope, receive, send)
            return
        await _send_error(send, 401, "CredentialsError", problem, _HINT)

    async def _problem(self, header: str) -> str | None:
        if not header.lower().startswith(_SCHEME):
            return "the request has no 'Authorization: Bearer <token>' header"
        token = header[len(_SCHEME) :].strip()
        try:
            # The check reads the vault: keep the event loop free meanwhile.
            await anyio.to_thread.run_sync(self._tokens.verify_token, token)
        except CredentialsError as exc:
            return exc.message
        return None


def _authorization(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return bytes(value).decode("latin-1")
    return ""


async def _send_error(send: Send, status: int, kind: str, message: str, hint: str = "") -> None:
    payload = json.dumps(error_body(kind, message, hint)).encode("utf-8")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode("ascii")),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="srp"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
