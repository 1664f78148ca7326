"""MobilityClient: the mobility service's HTTP API on one physical server, in provider errors.

Basic credentials on every request (the agent's registration passphrase).
401 -> ``AuthenticationFailed``; connection errors, timeouts and 502/503/504
-> ``FabricUnreachable``, retried with backoff (every call of this API is
safe to repeat: a cut asked for twice is the same cut); a refused request ->
``RemoteCommandFailed`` with the agent's code and message; an answer that
is not the agent's -> ``HostileResponse`` (``WrongFabricKind`` when the
endpoint does not serve the API at all).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

import provider.clientpool
from plugins.vmware.client import RetryPolicy
from plugins.vmware.transport import base_url, open_session
from provider.contracts.connection import FabricConnection
from provider.errors import (
    AuthenticationFailed,
    FabricUnreachable,
    HostileResponse,
    RemoteCommandFailed,
    WrongFabricKind,
)

API = "/mobility/v1"


class MobilityClient:
    """Talks to the mobility service of one physical server."""

    def __init__(
        self,
        connection: FabricConnection,
        http: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.connection = connection
        self.server = connection.address
        self.url = base_url(connection)
        self.retry = RetryPolicy.from_connection(connection)
        self.timeout = float(connection.option("read_timeout", "60"))
        self._sleep = sleep
        self._http = http or open_session(connection, self.url)
        self._http.auth = (connection.username, connection.secret.reveal())

    def get_json(self, operation: str, path: str) -> Any:
        return self._json(operation, self._call(operation, "GET", path))

    def post_json(self, operation: str, path: str, body: Mapping[str, Any]) -> Any:
        return self._json(operation, self._call(operation, "POST", path, body=body))

    def post(self, operation: str, path: str, body: Mapping[str, Any]) -> None:
        """POST an action that answers 204."""
        self._call(operation, "POST", path, body=body)

    def get_bytes(
        self,
        operation: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> bytes:
        return self._call(operation, "GET", path, params=params, headers=headers).content

    def close(self) -> None:
        self._http.close()

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        def attempt() -> requests.Response:
            return self._checked(
                operation, self._send(operation, method, path, body, params, headers)
            )

        return self.retry.retrying(self._sleep)(attempt)

    def _send(
        self,
        operation: str,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> requests.Response:
        where = f"mobility service on {self.server}: {operation}"
        try:
            return self._http.request(
                method,
                self.url + API + path,
                json=body,
                params=dict(params or {}),
                headers=dict(headers or {}),
                timeout=self.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise FabricUnreachable(f"{where}: {type(exc).__name__}: {exc}") from exc
        except requests.RequestException as exc:
            raise RemoteCommandFailed(f"{where}: {type(exc).__name__}: {exc}") from exc

    def _checked(self, operation: str, response: requests.Response) -> requests.Response:
        where = f"mobility service on {self.server}: {operation}"
        if response.ok:
            return response
        error = _error(response)
        if response.status_code in (502, 503, 504):
            raise FabricUnreachable(f"{where}: HTTP {response.status_code}: {error[1]}")
        if response.status_code == 401:
            raise AuthenticationFailed(f"{where}: the mobility service refused the credentials")
        if error[0] == "":
            raise WrongFabricKind(
                f"{self.server} does not serve the mobility service API "
                f"(HTTP {response.status_code})"
            )
        raise RemoteCommandFailed(f"{where}: {error[0]}: {error[1]}")

    def _json(self, operation: str, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise HostileResponse(
                f"mobility service on {self.server}: {operation}: the answer is not JSON"
            ) from exc


def _error(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"], str(body.get("message", ""))
    return "", str(body)[:200]


class MobilityPool(provider.clientpool.ClientPool[MobilityClient]):
    """One mobility service client per fabric id and address."""

    def __init__(
        self, factory: Callable[[FabricConnection], MobilityClient] = MobilityClient
    ) -> None:
        super().__init__(factory)
