"""Finding plugins: the ``srp`` entry point group and the two environment switches.

``SRP_DISABLE_PLUGINS`` lists entry point names or distribution names that
must never be imported (a broken or conflicting plugin the operator wants
out of the way). ``SRP_TRACE_PLUGINS`` turns on a log line per hook call.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Mapping
from dataclasses import dataclass

from provider.errors import PluginLoadError

#: The entry point group every plugin, built-in or third-party, registers under.
ENTRY_POINT_GROUP = "srp"
DISABLE_ENV = "SRP_DISABLE_PLUGINS"
TRACE_ENV = "SRP_TRACE_PLUGINS"
_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


def normalize_name(name: str) -> str:
    """Compare names the way pip does: case-insensitive, ``-``, ``_`` and ``.`` alike."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class PluginSource:
    """Where a plugin comes from: its entry point name and its distribution."""

    name: str
    distribution: str = ""
    version: str = ""

    @classmethod
    def of(cls, entry_point: importlib.metadata.EntryPoint) -> PluginSource:
        """The source of an entry point (a hand-made entry point has no distribution)."""
        dist = entry_point.dist
        if dist is None:
            return cls(entry_point.name)
        return cls(entry_point.name, dist.name, dist.version)


@dataclass(frozen=True)
class PluginSettings:
    """The environment's say on plugins: which are disabled, whether calls are traced."""

    disabled: frozenset[str] = frozenset()
    trace: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> PluginSettings:
        """Read ``SRP_DISABLE_PLUGINS`` (comma separated) and ``SRP_TRACE_PLUGINS``."""
        names = environ.get(DISABLE_ENV, "").split(",")
        disabled = frozenset(normalize_name(n.strip()) for n in names if n.strip())
        trace = environ.get(TRACE_ENV, "").strip().lower() in _TRUE_WORDS
        return cls(disabled=disabled, trace=trace)

    def blocks(self, source: PluginSource) -> bool:
        """True when the entry point name or the distribution name is disabled."""
        names = {normalize_name(source.name), normalize_name(source.distribution)}
        return not self.disabled.isdisjoint(names)


def discover_entry_points(group: str = ENTRY_POINT_GROUP) -> list[importlib.metadata.EntryPoint]:
    """Every installed entry point of the group, sorted by name for a stable load order."""
    return sorted(importlib.metadata.entry_points(group=group), key=lambda ep: ep.name)


def import_plugin(entry_point: importlib.metadata.EntryPoint) -> object:
    """Import the entry point's module or object.

    A plugin's import runs third-party code: any exception it raises is
    turned into ``PluginLoadError`` so one broken plugin never stops srp.
    """
    try:
        return entry_point.load()
    except Exception as exc:
        raise PluginLoadError(f"{type(exc).__name__}: {exc}") from exc
