"""VSphereClient: one vCenter's REST API, JSON API and datastore files, in provider errors.

Every failure leaves here as a :mod:`provider.errors` class whose message
names the vCenter and the operation, raised ``from`` the cause:

* refused credentials -> ``AuthenticationFailed`` (never retried);
* an expired session (401 on a call) -> log in again, then retry the call
  once; a second 401 -> ``AuthenticationFailed``;
* connection errors, timeouts, 502/503/504 -> ``FabricUnreachable``,
  retried with exponential backoff (tenacity) for calls that are safe to
  repeat; a call that is not (creating a snapshot) is retried by its caller
  after a probe;
* a VM that is gone (REST ``NOT_FOUND`` on a VM, JSON
  ``ManagedObjectNotFound`` of a VirtualMachine) -> ``MachineNotFound``;
* any other vSphere error -> ``RemoteCommandFailed`` (:class:`VSphereFault`
  for JSON API faults, with the fault's type);
* a body that is not what vSphere sends -> ``HostileResponse``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

import provider.clientpool
from plugins.vmware.transport import base_url, open_session
from provider.contracts.connection import FabricConnection
from provider.errors import (
    AuthenticationFailed,
    FabricError,
    FabricUnreachable,
    HostileResponse,
    MachineNotFound,
    RemoteCommandFailed,
    ValidationError,
    WrongFabricKind,
)

SESSION_HEADER = "vmware-api-session-id"
DEFAULT_RELEASE = "8.0.2.0"
_GONE_HINT = (
    "the VM was deleted or unregistered in vCenter; refresh the fabric and remove its protection"
)


class VSphereFault(RemoteCommandFailed):
    """A JSON API fault: ``fault_type`` is its ``_typeName`` (``InvalidArgument``...)."""

    def __init__(self, message: str, fault_type: str, invalid_property: str = "") -> None:
        super().__init__(message)
        self.fault_type = fault_type
        self.invalid_property = invalid_property


class VSphereRestError(RemoteCommandFailed):
    """A REST API error: ``error_type`` is vSphere's (``ALREADY_EXISTS``, ``NOT_FOUND``...)."""

    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient failure is retried."""

    attempts: int = 4
    initial_wait: float = 1.0
    max_wait: float = 30.0

    @classmethod
    def from_connection(cls, connection: FabricConnection) -> RetryPolicy:
        """From the ``retry_attempts``, ``retry_wait`` and ``retry_max_wait`` options."""
        try:
            policy = cls(
                int(connection.option("retry_attempts", str(cls.attempts))),
                float(connection.option("retry_wait", str(cls.initial_wait))),
                float(connection.option("retry_max_wait", str(cls.max_wait))),
            )
        except ValueError as exc:
            raise ValidationError(
                f"fabric {connection.fabric_id!r}: bad retry option: {exc}"
            ) from exc
        if policy.attempts < 1 or policy.initial_wait < 0 or policy.max_wait < 0:
            raise ValidationError(
                f"fabric {connection.fabric_id!r}: retry_attempts must be >= 1 and waits >= 0"
            )
        return policy

    def retrying(self, sleep: Callable[[float], None]) -> Retrying:
        return Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.initial_wait, max=self.max_wait),
            retry=retry_if_exception_type(FabricUnreachable),
            sleep=sleep,
            reraise=True,
        )


def _seconds(connection: FabricConnection, name: str, default: str) -> float:
    try:
        return float(connection.option(name, default))
    except ValueError as exc:
        raise ValidationError(f"fabric {connection.fabric_id!r}: bad {name}: {exc}") from exc


class VSphereClient:
    """Talks to one vCenter; thread-safe; logs in lazily and again when a session expires."""

    def __init__(
        self,
        connection: FabricConnection,
        http: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.connection = connection
        self.vcenter = connection.address
        self.url = base_url(connection)
        self.release = connection.option("api_release", DEFAULT_RELEASE)
        self.retry = RetryPolicy.from_connection(connection)
        self.timeout = _seconds(connection, "read_timeout", "60")
        self.poll_interval = _seconds(connection, "task_poll_interval", "0.5")
        self.task_timeout = _seconds(connection, "task_timeout", "900")
        self.sleep = sleep
        self.logins = 0
        self._http = http or open_session(connection, self.url)
        self._session_id = ""
        self._lock = threading.Lock()

    # -- public calls ---------------------------------------------------------------

    def rest_get(self, operation: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET a REST resource as JSON (retried when transient)."""
        return self._json(operation, self._call(operation, "GET", path, params=params))

    def rest_post(
        self,
        operation: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        retry: bool = True,
    ) -> None:
        """POST a REST action that answers 204 (e.g. a power operation)."""
        self._call(operation, "POST", path, params=params, retry=retry)

    def rest_create(self, operation: str, path: str, body: Mapping[str, Any]) -> Any:
        """POST a REST create call and return its JSON answer (the new object's id).

        Never retried: a lost answer may hide a created object, which a
        blind retry would then refuse as already existing.
        """
        return self._json(operation, self._call(operation, "POST", path, body=body, retry=False))

    def vim_get(self, operation: str, type_name: str, moid: str, prop: str) -> Any:
        """Read a managed object's property through the JSON API."""
        path = f"/sdk/vim25/{self.release}/{type_name}/{moid}/{prop}"
        return self._json(operation, self._call(operation, "GET", path))

    def vim_invoke(
        self,
        operation: str,
        type_name: str,
        moid: str,
        method: str,
        body: Mapping[str, Any],
        *,
        retry: bool = True,
    ) -> Any:
        """Invoke a JSON API method; ``retry=False`` for calls not safe to repeat."""
        path = f"/sdk/vim25/{self.release}/{type_name}/{moid}/{method}"
        return self._json(operation, self._call(operation, "POST", path, body=body, retry=retry))

    def read_file(
        self, operation: str, path: str, params: Mapping[str, str], start: int, length: int
    ) -> bytes:
        """Read ``length`` bytes at ``start`` of a datastore file (one HTTP range request)."""
        headers = {"Range": f"bytes={start}-{start + length - 1}"}
        response = self._call(operation, "GET", path, params=params, headers=headers)
        where = f"vCenter {self.vcenter}: {operation}"
        if response.status_code != 206 or len(response.content) != length:
            raise HostileResponse(
                f"{where}: asked for {length} bytes at {start}, got HTTP {response.status_code} "
                f"with {len(response.content)} bytes"
            )
        return response.content

    def service_content(self) -> Any:
        """The JSON API's ServiceContent (``about``), readable without a session."""
        path = f"/sdk/vim25/{self.release}/ServiceInstance/ServiceInstance/content"
        response = self._retrying(
            lambda: self._send("read the service content", "GET", path, {}, None, {})
        )
        if response.status_code == 404:
            raise WrongFabricKind(f"{self.vcenter} does not serve the vSphere JSON API (HTTP 404)")
        return self._json(
            "read the service content", self._checked("read the service content", path, response)
        )

    def close(self) -> None:
        """Log out (best effort: a session that already expired needs nothing) and close."""
        with self._lock:
            session_id, self._session_id = self._session_id, ""
        if session_id:
            with contextlib.suppress(FabricError):
                self._send(
                    "log out", "DELETE", "/api/session", {}, None, {SESSION_HEADER: session_id}
                )
        self._http.close()

    # -- sessions -------------------------------------------------------------------

    def _session(self) -> str:
        with self._lock:
            if self._session_id:
                return self._session_id
        session_id = self._login()
        with self._lock:
            self._session_id = session_id
        return session_id

    def _login(self) -> str:
        where = f"vCenter {self.vcenter}: log in as {self.connection.username!r}"
        auth = (self.connection.username, self.connection.secret.reveal())
        response = self._retrying(
            lambda: self._send("log in", "POST", "/api/session", {}, None, {}, auth)
        )
        if response.status_code == 401:
            raise AuthenticationFailed(f"{where}: vCenter refused the credentials")
        if response.status_code == 404:
            raise WrongFabricKind(
                f"{self.vcenter} is not a vCenter: POST /api/session answered 404"
            )
        value = self._json("log in", self._checked("log in", "/api/session", response))
        if not isinstance(value, str) or not value:
            raise HostileResponse(f"{where}: the session id is not a JSON string")
        self.logins += 1
        return value

    def _forget(self, session_id: str) -> None:
        with self._lock:
            if self._session_id == session_id:
                self._session_id = ""

    # -- requests -------------------------------------------------------------------

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: bool = True,
    ) -> requests.Response:
        def attempt() -> requests.Response:
            response = self._authed(operation, method, path, params or {}, body, headers or {})
            return self._checked(operation, path, response)

        return self._retrying(attempt) if retry else attempt()

    def _retrying(self, attempt: Callable[[], requests.Response]) -> requests.Response:
        return self.retry.retrying(self.sleep)(attempt)

    def _authed(
        self,
        operation: str,
        method: str,
        path: str,
        params: Mapping[str, Any],
        body: Mapping[str, Any] | None,
        headers: Mapping[str, str],
    ) -> requests.Response:
        session_id = self._session()
        response = self._send(
            operation, method, path, params, body, {**headers, SESSION_HEADER: session_id}
        )
        if response.status_code != 401:
            return response
        # The session expired (idle timeout, vCenter restart): log in again, retry once.
        self._forget(session_id)
        session_id = self._session()
        response = self._send(
            operation, method, path, params, body, {**headers, SESSION_HEADER: session_id}
        )
        if response.status_code == 401:
            raise AuthenticationFailed(
                f"vCenter {self.vcenter}: {operation}: refused again right after a new login"
            )
        return response

    def _send(
        self,
        operation: str,
        method: str,
        path: str,
        params: Mapping[str, Any],
        body: Mapping[str, Any] | None,
        headers: Mapping[str, str],
        auth: tuple[str, str] | None = None,
    ) -> requests.Response:
        where = f"vCenter {self.vcenter}: {operation}"
        try:
            response = self._http.request(
                method,
                self.url + path,
                params=dict(params),
                json=body,
                headers=dict(headers),
                auth=auth,
                timeout=self.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise FabricUnreachable(f"{where}: {type(exc).__name__}: {exc}") from exc
        except requests.RequestException as exc:
            raise RemoteCommandFailed(f"{where}: {type(exc).__name__}: {exc}") from exc
        if response.status_code in (502, 503, 504):
            raise FabricUnreachable(
                f"{where}: HTTP {response.status_code}: {_error_text(response)}"
            )
        return response

    def _checked(self, operation: str, path: str, response: requests.Response) -> requests.Response:
        if response.ok:
            return response
        raise failure(f"vCenter {self.vcenter}: {operation}", path, response)

    def _json(self, operation: str, response: requests.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise HostileResponse(
                f"vCenter {self.vcenter}: {operation}: the answer is not JSON"
            ) from exc


def failure(where: str, path: str, response: requests.Response) -> FabricError:
    """The provider error for a non-2xx vSphere answer."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error_type" in body:
        return _rest_failure(where, path, str(body["error_type"]), _error_text(response))
    if isinstance(body, dict) and "_typeName" in body:
        return _vim_failure(where, body)
    return RemoteCommandFailed(f"{where}: HTTP {response.status_code} without a vSphere error body")


def _rest_failure(where: str, path: str, error_type: str, message: str) -> FabricError:
    if error_type == "NOT_FOUND" and path.startswith("/api/vcenter/vm/"):
        return MachineNotFound(
            f"{where}: the VM no longer exists in vCenter ({message})", hint=_GONE_HINT
        )
    return VSphereRestError(f"{where}: {error_type}: {message}", error_type)


def _vim_failure(where: str, body: dict[str, Any]) -> FabricError:
    fault = str(body["_typeName"])
    message = str(body.get("message") or fault)
    obj = body.get("obj")
    if (
        fault == "ManagedObjectNotFound"
        and isinstance(obj, dict)
        and obj.get("type") == "VirtualMachine"
    ):
        return MachineNotFound(
            f"{where}: the VM {obj.get('value')} no longer exists in vCenter ({message})",
            hint=_GONE_HINT,
        )
    return VSphereFault(
        f"{where}: {fault}: {message}", fault, str(body.get("invalidProperty") or "")
    )


def _error_text(response: requests.Response) -> str:
    """The human text of a vSphere error body, or a short excerpt of anything else."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        messages = body.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            return str(messages[0].get("default_message", ""))
        return str(body.get("message") or body.get("_typeName") or "")
    return str(body)[:200]


class ClientPool(provider.clientpool.ClientPool[VSphereClient]):
    """One vSphere client per fabric id and address, logged out on disconnect."""

    def __init__(
        self, factory: Callable[[FabricConnection], VSphereClient] = VSphereClient
    ) -> None:
        super().__init__(factory)
