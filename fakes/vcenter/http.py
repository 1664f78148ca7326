"""A tiny HTTP application shape shared by the loopback server and the in-process adapter.

An :class:`HttpApp` turns a :class:`HttpRequest` into a :class:`HttpResponse`;
:mod:`fakes.vcenter.server` serves one on 127.0.0.1 and
:mod:`fakes.vcenter.inprocess` plugs one into ``requests`` directly. The
mobility service's fake (:mod:`fakes.mobility`) uses the same pieces.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True)
class HttpRequest:
    """One request: method, decoded path, query lists, lower-cased headers, body."""

    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def from_target(
        cls, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> HttpRequest:
        """Build from a request target (``/path?query``) as it comes off the wire."""
        parts = urlsplit(target)
        return cls(
            method.upper(),
            unquote(parts.path),
            parse_qs(parts.query, keep_blank_values=True),
            {key.lower(): value for key, value in headers.items()},
            body,
        )

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def param(self, name: str) -> str:
        values = self.query.get(name, [])
        return values[0] if values else ""

    def json(self) -> Any:
        """The body as JSON (``None`` when empty); ValueError when it is not JSON."""
        return json.loads(self.body) if self.body.strip() else None


@dataclass(frozen=True)
class HttpResponse:
    """One response: status, body and headers."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of_json(cls, status: int, value: Any) -> HttpResponse:
        body = json.dumps(value, separators=(",", ":")).encode()
        return cls(status, body, (("Content-Type", "application/json"),))

    def header(self, name: str) -> str:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return ""


class HttpApp(Protocol):
    """Anything that answers requests."""

    def handle(self, request: HttpRequest) -> HttpResponse: ...


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """A single ``bytes=a-b`` (or ``a-``, ``-n``) range as (start, end exclusive); None if bad."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first or last) or not (first.isdigit() or not first):
        return None
    if not first:
        count = int(last) if last.isdigit() else 0
        return (max(0, size - count), size) if count else None
    start = int(first)
    end = int(last) + 1 if last.isdigit() else size
    if start >= size or end <= start:
        return None
    return start, min(end, size)


S = TypeVar("S")
#: A route: method, path pattern, and the handler given the app's subject and the match.
Route = tuple[str, "re.Pattern[str]", Callable[[S, HttpRequest, "re.Match[str]"], HttpResponse]]


def dispatch(routes: Sequence[Route[S]], subject: S, request: HttpRequest) -> HttpResponse | None:
    """The first route's answer whose method and whole path match; None when none does."""
    for method, pattern, handler in routes:
        match = pattern.fullmatch(request.path)
        if match and method == request.method:
            return handler(subject, request, match)
    return None
