"""The CLI's HTTP client of the provider service.

Where the service is and the token to present come from, in order:
``SRP_URL`` / ``SRP_TOKEN`` / ``SRP_CA``; else ``SRP_HOME/service.json``
(written by ``srp serve``: url and, with TLS, the CA to trust) and the
token file ``SRP_TOKEN_FILE`` or ``SRP_HOME/api-token``.

An error answer ``{"error": {"type": ..., "message": ..., "hint": ...}}`` is
raised again as the :mod:`provider.errors` class it names, so the CLI exits
with the same code a local failure of that kind would give.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from provider import errors
from provider.contracts.connection import Secret
from provider.errors import ConfigurationError, SrpError

DISCOVERY_FILE = "service.json"
TOKEN_FILE = "api-token"
DEFAULT_TIMEOUT = 120.0


@dataclass(frozen=True)
class Endpoint:
    """The service's base URL, the API token, and the CA to trust (TLS)."""

    url: str
    token: Secret = field(repr=False)
    ca: str | None = None


def endpoint_from_env(environ: Mapping[str, str] | None = None) -> Endpoint:
    """Where the service is, from the environment or SRP_HOME's discovery and token files."""
    env = os.environ if environ is None else environ
    home = Path(env.get("SRP_HOME") or "~/.srp").expanduser()
    discovered = _discovery(home) if not env.get("SRP_URL") else {}
    url = env.get("SRP_URL") or str(discovered.get("url") or "")
    if not url:
        raise ConfigurationError(
            f"no srp service is known: SRP_URL is not set and {home / DISCOVERY_FILE} is missing",
            hint="start one with `srp serve`, or set SRP_URL",
        )
    ca = env.get("SRP_CA") or discovered.get("ca")
    token = env.get("SRP_TOKEN") or _token_file(env, home)
    return Endpoint(url.rstrip("/"), Secret(token), str(ca) if ca else None)


def _discovery(home: Path) -> dict[str, Any]:
    path = home / DISCOVERY_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path} cannot be read: {exc}") from exc
    if not isinstance(record, dict):
        raise ConfigurationError(f"{path} is not a service discovery file")
    return record


def _token_file(env: Mapping[str, str], home: Path) -> str:
    path = Path(env.get("SRP_TOKEN_FILE") or home / TOKEN_FILE).expanduser()
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = ""
    except OSError as exc:
        raise ConfigurationError(f"the API token file {path} cannot be read: {exc}") from exc
    if not token:
        raise ConfigurationError(
            f"no API token: SRP_TOKEN is not set and {path} is missing or empty",
            hint="set SRP_TOKEN, or save one with `srp vault token create NAME --save`",
        )
    return token


class ServiceClient:
    """JSON over HTTP(S) to the service, errors raised as srp's own exceptions."""

    def __init__(self, endpoint: Endpoint, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.endpoint = endpoint
        self._http = httpx.Client(
            base_url=endpoint.url,
            headers={"Authorization": f"Bearer {endpoint.token.reveal()}"},
            verify=ssl.create_default_context(cafile=endpoint.ca) if endpoint.ca else True,
            timeout=timeout,
        )

    @classmethod
    def from_env(cls) -> ServiceClient:
        return cls(endpoint_from_env())

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return self._call("GET", path, params=params)

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return self._call("POST", path, json=dict(body or {}))

    def delete(self, path: str) -> Any:
        return self._call("DELETE", path)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ConfigurationError(
                f"the srp service at {self.endpoint.url} does not answer: {exc}",
                hint="start it with `srp serve`, or check SRP_URL and SRP_CA",
            ) from exc
        if response.is_success:
            return response.json()
        raise error_from(response)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def error_from(response: httpx.Response) -> SrpError:
    """The srp exception an error answer names (SrpError when it names none we know)."""
    try:
        body = response.json()["error"]
        kind, message, hint = str(body["type"]), str(body["message"]), str(body.get("hint", ""))
    except (ValueError, KeyError, TypeError):
        return SrpError(f"the service answered HTTP {response.status_code}: {response.text[:200]}")
    cls = getattr(errors, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, SrpError)):
        cls = SrpError
    # Built without the subclass's own __init__ (InvalidTransition's differs):
    # the service already wrote the message.
    error = cls.__new__(cls)
    SrpError.__init__(error, message, hint=hint or None)
    return error


def path(*parts: str) -> str:
    """A URL path from segments, each quoted (a name may hold any character)."""
    return "/" + "/".join(quote(part, safe="") for part in parts)
