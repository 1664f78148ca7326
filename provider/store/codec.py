"""Small conversions shared by the repositories: pairs, enums, JSON documents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def pairs_to_json(pairs: Sequence[tuple[str, str]]) -> list[list[str]]:
    """Key/value pairs as a JSON list, keeping their order."""
    return [[key, value] for key, value in pairs]


def pairs_from_json(document: Any) -> tuple[tuple[str, str], ...]:
    """The inverse of :func:`pairs_to_json`."""
    return tuple((str(key), str(value)) for key, value in document)


def strings(document: Any) -> tuple[str, ...]:
    """A JSON list of texts as a tuple."""
    return tuple(str(value) for value in document)
