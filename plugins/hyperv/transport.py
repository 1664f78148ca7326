"""How a script reaches a Hyper-V host: the ScriptTransport seam and WinRM.

A :class:`ScriptTransport` runs one PowerShell script and hands back what it
printed. The connection option ``transport`` picks one from a registry:
``winrm`` (the default; authentication from the ``auth`` option), the
WinRM shorthands ``basic``, ``ntlm``, ``kerberos``, ``credssp``,
``certificate`` and ``https`` (Basic over TLS), or any name a test or lab
registers with :func:`register_transport` (``fakes.hyperv`` registers
``fake-inprocess``). The WinRM transport maps pywinrm and requests errors
into :mod:`provider.errors` here, at its boundary.
"""

from __future__ import annotations

import base64
import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable
from xml.parsers.expat import ExpatError

import requests
import winrm
from winrm import exceptions as winrm_errors

from provider.contracts.connection import FabricConnection, Secret
from provider.errors import (
    AuthenticationFailed,
    FabricError,
    FabricUnreachable,
    HostileResponse,
    RemoteCommandFailed,
    ValidationError,
)


@dataclass(frozen=True)
class ScriptResult:
    """What one script printed and how it ended."""

    stdout: bytes
    stderr: bytes
    exit_code: int


class ScriptTransport(Protocol):
    """Runs one PowerShell script on a host."""

    def run(self, script: str) -> ScriptResult: ...


@runtime_checkable
class ClosableTransport(Protocol):
    """A transport that holds a session to close when the client is dropped."""

    def close(self) -> None: ...


TransportFactory = Callable[[FabricConnection], ScriptTransport]

_REGISTRY: dict[str, TransportFactory] = {}
_REGISTRY_LOCK = threading.Lock()


def register_transport(name: str, factory: TransportFactory) -> None:
    """Make ``transport=<name>`` build its transport with ``factory``; replaces a previous one."""
    if not name or name != name.strip():
        raise ValueError(f"transport name {name!r} must be non-empty without surrounding spaces")
    with _REGISTRY_LOCK:
        _REGISTRY[name] = factory


def unregister_transport(name: str) -> None:
    """Forget a registered transport (no-op when absent)."""
    with _REGISTRY_LOCK:
        _REGISTRY.pop(name, None)


def registered_transports() -> tuple[str, ...]:
    """The transport names currently known, sorted."""
    with _REGISTRY_LOCK:
        return tuple(sorted(_REGISTRY))


def _owner(connection: FabricConnection) -> str:
    return f"hyperv fabric {connection.fabric_id!r}"


def open_transport(connection: FabricConnection) -> ScriptTransport:
    """The transport the connection's ``transport`` option names (default ``winrm``)."""
    name = connection.option("transport", "winrm")
    with _REGISTRY_LOCK:
        factory = _REGISTRY.get(name)
    if factory is None:
        known = ", ".join(registered_transports())
        raise ValidationError(f"{_owner(connection)}: unknown transport {name!r}; known: {known}")
    return factory(connection)


# --------------------------------------------------------------------------
# WinRM through pywinrm.

WINRM_AUTHS = ("basic", "ntlm", "kerberos", "credssp", "certificate")
HTTP_PORT, HTTPS_PORT = 5985, 5986


@dataclass(frozen=True)
class WinRMSettings:
    """pywinrm session settings read from a connection's options."""

    endpoint: str
    username: str
    secret: Secret = field(repr=False)
    auth: str = "ntlm"
    cert_validation: str = "validate"
    ca_trust_path: str = ""
    read_timeout: int = 30
    operation_timeout: int = 20
    message_encryption: str = "auto"
    proxy: str = ""

    @classmethod
    def from_connection(cls, connection: FabricConnection, auth: str) -> WinRMSettings:
        https = connection.option("scheme", "https" if auth == "https" else "http") == "https"
        return cls(
            endpoint=endpoint_url(connection, https),
            username=connection.username,
            secret=connection.secret,
            auth="basic" if auth == "https" else auth,
            cert_validation=_choice(
                connection, "cert_validation", "validate", ("validate", "ignore")
            ),
            ca_trust_path=connection.option("ca_trust_path"),
            read_timeout=_integer(connection, "read_timeout", 30),
            operation_timeout=_integer(connection, "operation_timeout", 20),
            message_encryption=_choice(
                connection, "message_encryption", "auto", ("auto", "always", "never")
            ),
            proxy=connection.option("proxy"),
        )


def endpoint_url(connection: FabricConnection, https: bool) -> str:
    """``http://address:5985/wsman`` (or https on 5986); an address with a scheme is used as is."""
    address = connection.address.strip()
    if address.lower().startswith(("http://", "https://")):
        return address
    if ":" in address and not address.startswith("["):
        address = f"[{address}]"  # an IPv6 literal
    port = _integer(connection, "port", HTTPS_PORT if https else HTTP_PORT)
    return f"{'https' if https else 'http'}://{address}:{port}/wsman"


def _integer(connection: FabricConnection, key: str, default: int) -> int:
    raw = connection.option(key, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValidationError(
            f"{_owner(connection)}: {key} must be a positive integer, got {raw!r}"
        )
    return value


def _choice(connection: FabricConnection, key: str, default: str, allowed: tuple[str, ...]) -> str:
    value = connection.option(key, default)
    if value not in allowed:
        raise ValidationError(
            f"{_owner(connection)}: {key} must be one of {', '.join(allowed)}, got {value!r}"
        )
    return value


def encoded_command(script: str) -> str:
    """The command line ``Session.run_ps`` sends: ``powershell -encodedcommand <b64 UTF-16LE>``."""
    payload = base64.b64encode(script.encode("utf-16-le")).decode("ascii")
    return f"powershell -encodedcommand {payload}"


class WinRMTransport:
    """Runs scripts over one pywinrm session (kept, so NTLM and keep-alive are reused).

    It sends exactly what ``Session.run_ps`` sends, but through ``run_cmd``:
    ``run_ps`` would parse the CLIXML stderr with an unhardened XML parser
    and flatten it; :mod:`plugins.hyperv.output` parses it instead.
    """

    def __init__(self, settings: WinRMSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._session: winrm.Session | None = None

    def run(self, script: str) -> ScriptResult:
        with self._lock:
            try:
                response = self._open().run_cmd(encoded_command(script))
            except FabricError:
                raise
            except Exception as exc:
                raise map_winrm_error(exc, self.settings.endpoint) from exc
        return ScriptResult(response.std_out, response.std_err, response.status_code)

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.protocol.transport.close_session()
                self._session = None

    def _open(self) -> winrm.Session:
        if self._session is None:
            self._session = _new_session(self.settings)
        return self._session


def _new_session(settings: WinRMSettings) -> winrm.Session:
    try:
        return winrm.Session(
            settings.endpoint,
            auth=(settings.username, settings.secret.reveal()),
            transport=settings.auth,
            server_cert_validation=settings.cert_validation,
            # Explicit settings only: pywinrm's "legacy_requests" default would read
            # CA bundles and proxies from the environment behind the operator's back.
            ca_trust_path=settings.ca_trust_path or None,
            proxy=settings.proxy or None,
            read_timeout_sec=settings.read_timeout,
            operation_timeout_sec=settings.operation_timeout,
            message_encryption=settings.message_encryption,
        )
    except winrm_errors.WinRMError as exc:
        raise ValidationError(f"WinRM settings for {settings.endpoint} refused: {exc}") from exc


def map_winrm_error(exc: Exception, endpoint: str) -> FabricError:
    """The provider error for a pywinrm or requests failure (the caller raises it ``from exc``)."""
    if isinstance(exc, winrm_errors.AuthenticationError):
        return AuthenticationFailed(f"{endpoint} refused the credentials: {exc}")
    if isinstance(exc, requests.exceptions.SSLError):
        return FabricUnreachable(f"TLS with {endpoint} failed: {exc}", hint="check ca_trust_path")
    if isinstance(exc, requests.exceptions.RequestException | ConnectionError | TimeoutError):
        return FabricUnreachable(f"cannot reach {endpoint}: {type(exc).__name__}: {exc}")
    if isinstance(exc, winrm_errors.WinRMTransportError):
        return _http_error(exc, endpoint)
    if isinstance(exc, winrm_errors.WSManFaultError):
        return _wsman_fault(exc, endpoint)
    if isinstance(exc, winrm_errors.WinRMOperationTimeoutError):
        return FabricUnreachable(f"{endpoint} timed out an operation: {exc}")
    if isinstance(exc, ElementTree.ParseError | ExpatError):
        return HostileResponse(f"{endpoint} sent an unreadable WinRM answer: {exc}")
    return RemoteCommandFailed(f"WinRM call to {endpoint} failed: {type(exc).__name__}: {exc}")


def _http_error(exc: winrm_errors.WinRMTransportError, endpoint: str) -> FabricError:
    if exc.code == 401:
        return AuthenticationFailed(f"{endpoint} refused the credentials (HTTP 401)")
    if exc.code >= 500:
        return FabricUnreachable(f"{endpoint} answered HTTP {exc.code}")
    return RemoteCommandFailed(f"{endpoint} answered HTTP {exc.code}")


#: WSMan fault code for "Access is denied".
_ACCESS_DENIED = 5


def _wsman_fault(exc: winrm_errors.WSManFaultError, endpoint: str) -> FabricError:
    if exc.wsman_fault_code == _ACCESS_DENIED:
        return AuthenticationFailed(f"{endpoint} denied access: {exc.reason}")
    # Other service faults (shell quota, service restarting) pass; they are retried.
    return FabricUnreachable(f"{endpoint} WinRM fault {exc.wsman_fault_code}: {exc.reason}")


def _winrm_factory(auth: str) -> TransportFactory:
    def build(connection: FabricConnection) -> ScriptTransport:
        chosen = connection.option("auth", "ntlm") if auth == "winrm" else auth
        if chosen not in (*WINRM_AUTHS, "https"):
            raise ValidationError(
                f"{_owner(connection)}: auth must be one of "
                f"{', '.join(WINRM_AUTHS)}, got {chosen!r}"
            )
        return WinRMTransport(WinRMSettings.from_connection(connection, chosen))

    return build


for _name in ("winrm", *WINRM_AUTHS, "https"):
    register_transport(_name, _winrm_factory(_name))
