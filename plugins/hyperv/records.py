"""Typed reading of the JSON rows a host returned, refusing what does not fit.

Output is untrusted: a field of the wrong type or a missing one is a
:class:`HostileResponse` naming the host, the command and the field, never a
``KeyError`` or ``TypeError`` deep in the plugin.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from provider.errors import HostileResponse

_MS_DATE = re.compile(r"^/Date\((-?\d+)\)/$")


class Row:
    """One JSON object of a script's output."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def _refuse(self, key: str, wanted: str) -> HostileResponse:
        value = self.data.get(key)
        return HostileResponse(f"{self.where}: field {key!r} is not {wanted}: {value!r:.80}")

    def text(self, key: str) -> str:
        """A required text field."""
        value = self.data.get(key)
        if not isinstance(value, str):
            raise self._refuse(key, "text")
        return value

    def optional_text(self, key: str) -> str:
        """A text field that may be null or missing ('' then); numbers are written as text."""
        value = self.data.get(key)
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise self._refuse(key, "text")

    def integer(self, key: str, default: int | None = None) -> int:
        """A required integer field (or ``default`` when null or missing)."""
        value = self.data.get(key)
        if value is None and default is not None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._refuse(key, "an integer")
        return value

    def number(self, key: str) -> float:
        """A required number field."""
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._refuse(key, "a number")
        return float(value)

    def texts(self, key: str) -> tuple[str, ...]:
        """A list of texts; PowerShell may unwrap a one-item list or write null."""
        value = self.data.get(key)
        items = [] if value is None else value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) for item in items):
            raise self._refuse(key, "a list of texts")
        return tuple(items)

    def rows(self, key: str) -> list[Row]:
        """A nested list of objects."""
        return rows(self.data.get(key), f"{self.where}: {key}")

    def date(self, key: str) -> float | None:
        """A ``\\/Date(ms)\\/`` field as Unix seconds, or None when null."""
        value = self.data.get(key)
        if value is None:
            return None
        match = _MS_DATE.match(value) if isinstance(value, str) else None
        if match is None:
            raise self._refuse(key, "a date")
        return int(match.group(1)) / 1000


def rows(value: Any, where: str) -> list[Row]:
    """The rows of a JSON value: a list of objects, one object, or null (no rows)."""
    items = [] if value is None else value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, dict):
            raise HostileResponse(f"{where}: expected objects, got {type(item).__name__}")
    return [Row(item, where) for item in items]


def one_row(value: Any, where: str) -> Row:
    """Exactly one row."""
    found = rows(value, where)
    if len(found) != 1:
        raise HostileResponse(f"{where}: expected one object, got {len(found)}")
    return found[0]
