"""Explicit transition tables, checked by one function."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

from provider.errors import InvalidTransition

S = TypeVar("S", bound=enum.Enum)


def check_transition(name: str, table: Mapping[S, frozenset[S]], current: S, wanted: S) -> S:
    """Return ``wanted`` if the table allows ``current -> wanted``, else raise.

    The error names the machine, both states and every state reachable from
    ``current``, so an operator sees at once what can be done instead.
    """
    allowed = table.get(current, frozenset())
    if wanted not in allowed:
        raise InvalidTransition(
            name, str(current.value), str(wanted.value), sorted(str(s.value) for s in allowed)
        )
    return wanted
