"""CxClient: one configuration server's CX API, signed, retried, in provider errors.

Every failure leaves here as a :mod:`provider.errors` class naming the CX
and the function, raised ``from`` the cause:

* a refused signature (wrong passphrase) -> ``AuthenticationFailed``, never retried;
* connection errors, timeouts, HTTP 502/503/504 -> ``FabricUnreachable``,
  retried with exponential backoff (tenacity) for functions safe to repeat;
* HTTP 404 on the API path -> ``WrongFabricKind``;
* a function's own error -> :class:`CxFault` (a ``RemoteCommandFailed``)
  carrying the API's return code, for callers to map further;
* an answer with a DTD, or that is not a CX API response -> ``HostileResponse``.

The passphrase is a :class:`~provider.contracts.connection.Secret`: it is
revealed only to compute a signature, and never logged.
"""

from __future__ import annotations

import itertools
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from plugins.inmage import cxapi
from plugins.inmage.signature import API_PATH, fingerprint_of, sign
from provider.contracts.connection import FabricConnection, Secret, TargetConnection
from provider.errors import (
    AuthenticationFailed,
    ConfigurationError,
    FabricUnreachable,
    RemoteCommandFailed,
    ValidationError,
    WrongFabricKind,
)

#: Functions that change nothing, so a transient failure may simply be retried.
READ_ONLY = frozenset(
    {
        "ListScoutComponents",
        "GetHostInfo",
        "InfrastructureDiscovery",
        "GetProtectionState",
        "ListConsistencyPoints",
        "GetRollbackState",
        "GetRequestStatus",
        "ListEvents",
    }
)


class CxFault(RemoteCommandFailed):
    """A CX API function failed: ``code`` is the API's return code."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Endpoint:
    """Where a CX is and how to talk to it, from a fabric or a target connection."""

    ident: str
    address: str
    passphrase: Secret
    access_key: str
    options: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, connection: FabricConnection | TargetConnection) -> Endpoint:
        if isinstance(connection, FabricConnection):
            key = connection.username or "srp"
            return cls(
                connection.fabric_id, connection.address, connection.secret, key, connection.options
            )
        return cls(
            connection.target_id, connection.location, connection.secret, "srp", connection.options
        )

    def option(self, key: str, default: str = "") -> str:
        return dict(self.options).get(key, default)

    @property
    def url(self) -> str:
        address = self.address.rstrip("/")
        return address if "://" in address else f"{self.option('transport', 'https')}://{address}"


def _number(endpoint: Endpoint, name: str, default: str) -> float:
    try:
        return float(endpoint.option(name, default))
    except ValueError as exc:
        raise ValidationError(f"CX {endpoint.address}: bad option {name}: {exc}") from exc


class CxClient:
    """Calls one CX's functions; thread-safe."""

    def __init__(
        self,
        endpoint: Endpoint,
        http: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = endpoint
        self.where = f"CX {endpoint.address}"
        self.timeout = _number(endpoint, "read_timeout", "60")
        self.attempts = max(1, int(_number(endpoint, "retry_attempts", "4")))
        self.wait = _number(endpoint, "retry_wait", "1.0")
        self.max_wait = _number(endpoint, "retry_max_wait", "30.0")
        self.sleep = sleep
        self._http = http or self._session()
        self._fingerprint: str | None = None
        self._ids = itertools.count(1)
        self._token = secrets.token_hex(4)
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # no proxy from the environment
        session.verify = self._verify()
        return session

    def _verify(self) -> bool | str:
        if self.endpoint.option("cert_validation", "validate") == "ignore":
            return False
        return self.endpoint.option("ca_trust_path") or True

    def call(self, function: str, body: cxapi.Params = cxapi.NO_PARAMS) -> cxapi.Params:
        """Run one function and return its response body."""
        if function not in READ_ONLY:
            return self._once(function, body)
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.wait, max=self.max_wait),
            retry=retry_if_exception_type(FabricUnreachable),
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(self._once, function, body)

    def close(self) -> None:
        self._http.close()

    def _once(self, function: str, body: cxapi.Params) -> cxapi.Params:
        where = f"{self.where}: {function}"
        request_id = f"srp-{self._token}-{next(self._ids)}"
        signature = sign(
            self.endpoint.passphrase, function, request_id, cxapi.VERSION, self._channel()
        )
        payload = cxapi.build_request(
            function, request_id, self.endpoint.access_key, signature, body
        )
        reply = cxapi.read_reply(self._post(where, payload), function, where)
        return self._result(where, reply)

    def _post(self, where: str, payload: bytes) -> bytes:
        try:
            response = self._http.post(
                self.endpoint.url + API_PATH,
                data=payload,
                headers={"Content-Type": "text/xml; charset=UTF-8"},
                timeout=self.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise FabricUnreachable(f"{where}: {type(exc).__name__}: {exc}") from exc
        except requests.RequestException as exc:
            raise RemoteCommandFailed(f"{where}: {type(exc).__name__}: {exc}") from exc
        if response.status_code in (502, 503, 504):
            raise FabricUnreachable(f"{where}: HTTP {response.status_code}")
        if response.status_code == 404:
            raise WrongFabricKind(f"{where}: {API_PATH} answered 404: not an InMage CX")
        if response.status_code != 200:
            raise RemoteCommandFailed(f"{where}: HTTP {response.status_code}")
        return response.content

    def _result(self, where: str, reply: cxapi.Reply) -> cxapi.Params:
        if reply.code == cxapi.AUTH_FAILED:
            raise AuthenticationFailed(
                f"{where}: the CX refused the request signature ({reply.message})",
                hint="check the CX passphrase the fabric was registered with",
            )
        if reply.code != cxapi.SUCCESS:
            raise CxFault(f"{where}: refused with code {reply.code}: {reply.message}", reply.code)
        if reply.function_code != cxapi.SUCCESS:
            raise CxFault(
                f"{where}: failed with code {reply.function_code}: {reply.function_message}",
                reply.function_code,
            )
        return reply.body

    def _channel(self) -> str:
        """The server certificate's fingerprint over HTTPS (fetched once), else empty."""
        if urlsplit(self.endpoint.url).scheme != "https":
            return ""
        with self._lock:
            if self._fingerprint is None:
                self._fingerprint = fingerprint_of(self._peer_certificate())
            return self._fingerprint

    def _peer_certificate(self) -> bytes:
        parts = urlsplit(self.endpoint.url)
        host, port = parts.hostname or "", parts.port or 443
        context = ssl.create_default_context()
        verify = self._verify()
        if verify is False:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        elif isinstance(verify, str):
            self._trust(context, verify)
        try:
            with (
                socket.create_connection((host, port), timeout=self.timeout) as raw,
                context.wrap_socket(raw, server_hostname=host) as tls,
            ):
                der = tls.getpeercert(binary_form=True)
        except (OSError, ssl.SSLError) as exc:
            raise FabricUnreachable(f"{self.where}: TLS: {exc}") from exc
        if not der:
            raise FabricUnreachable(f"{self.where}: TLS: the server sent no certificate")
        return der

    def _trust(self, context: ssl.SSLContext, path: str) -> None:
        try:
            context.load_verify_locations(path)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                f"{self.where}: cannot load the CA bundle {path!r}: {exc}",
                hint="fix the fabric's ca_trust_path option",
            ) from exc


class ClientPool:
    """One client per endpoint id and address, made on first use, closed on drop."""

    def __init__(self, factory: Callable[[Endpoint], CxClient] = CxClient) -> None:
        self._factory = factory
        self._clients: dict[tuple[str, str, Secret], CxClient] = {}
        self._lock = threading.Lock()

    def get(self, connection: FabricConnection | TargetConnection) -> CxClient:
        endpoint = Endpoint.of(connection)
        key = (endpoint.ident, endpoint.address, endpoint.passphrase)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._factory(endpoint)
            return client

    def drop(self, ident: str) -> None:
        with self._lock:
            keys = [key for key in self._clients if key[0] == ident]
            dropped = [self._clients.pop(key) for key in keys]
        for client in dropped:
            client.close()
