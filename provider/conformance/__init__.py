"""srp's conformance suite for fabric plugins, shipped as a pytest plugin.

A plugin author proves a fabric plugin works before production in three steps:

1. define a fixture ``srp_conformance_fabric`` returning a
   :class:`ConformanceFabric` (the kind, the plugin object, where the test
   fabric answers, and a :class:`SourceFabric` that writes and reads its
   machines' disks and flips its fault switches);
2. subclass :class:`ConformanceSuite` in a test module
   (``class TestMyFabric(ConformanceSuite): ...``);
3. run pytest. The pytest plugin (entry point ``srp-conformance`` in group
   ``pytest11``, loaded automatically with srp) supplies the lab fixtures.

The suite runs the whole life of a protected machine through the plugin and
the error contract. It skips, saying why, what the kind does not declare, and
fails what it declares but does not do. ``docs/plugin-guide.md`` walks
through it with the example plugin in ``examples/srp-dirfabric``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provider.conformance.fabric import ConformanceFabric, SourceFabric
    from provider.conformance.lab import ConformanceLab, ProtectedMachine
    from provider.conformance.native_suite import (
        NativeConformanceFabric,
        NativeConformanceLab,
        NativeConformanceSuite,
        NativeSite,
    )
    from provider.conformance.suite import HOSTILE_NAMES, ConformanceSuite

__all__ = [
    "HOSTILE_NAMES",
    "ConformanceFabric",
    "ConformanceLab",
    "ConformanceSuite",
    "NativeConformanceFabric",
    "NativeConformanceLab",
    "NativeConformanceSuite",
    "NativeSite",
    "ProtectedMachine",
    "SourceFabric",
]

# pytest imports this package (for its plugin module) in every session where
# srp is installed: the suite and its lab load only when a name is used.
_HOMES = {
    "ConformanceFabric": "fabric",
    "SourceFabric": "fabric",
    "ConformanceLab": "lab",
    "ProtectedMachine": "lab",
    "ConformanceSuite": "suite",
    "HOSTILE_NAMES": "suite",
    "NativeConformanceFabric": "native_suite",
    "NativeConformanceLab": "native_suite",
    "NativeConformanceSuite": "native_suite",
    "NativeSite": "native_suite",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'provider.conformance' has no attribute {name!r}")
    return getattr(importlib.import_module(f"provider.conformance.{_HOMES[name]}"), name)
