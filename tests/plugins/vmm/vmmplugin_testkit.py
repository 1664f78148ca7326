"""Shared pieces of the vmm plugin tests."""

from __future__ import annotations

from collections.abc import Callable

from fakes.hyperv.backend import ServedLab
from provider.contracts.connection import FabricConnection

#: The ``connect`` fixture: ``connect(address="vmm01", password=None, **options)``.
Connect = Callable[..., FabricConnection]


def dead_endpoint(served: ServedLab | None) -> str:
    """An address where nothing answers, for the transport under test."""
    return "nowhere" if served is None else "http://127.0.0.1:9/wsman"
