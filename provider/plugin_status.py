"""What the plugin manager reports about each plugin: loaded, blocked or failed.

These records feed ``srp plugins`` and the service's health page, so an
operator sees every plugin that was found, including the ones that did not
load and why, without reading a traceback.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: How a plugin registered in process (tests, fakes) shows instead of a distribution.
IN_PROCESS = "registered in process"


class PluginStatus(enum.StrEnum):
    """Whether a plugin takes part in dispatch."""

    LOADED = "loaded"
    BLOCKED = "blocked"
    FAILED = "failed"


@dataclass(frozen=True)
class PluginInfo:
    """One plugin as the manager sees it.

    ``kinds`` are the fabric kinds it serves, ``target_kinds`` the target
    kinds, ``hooks`` the ``srp_`` hooks it implements (all empty unless
    loaded). ``reason`` says why a plugin is blocked or failed.
    """

    name: str
    distribution: str = ""
    version: str = ""
    kinds: tuple[str, ...] = ()
    target_kinds: tuple[str, ...] = ()
    hooks: tuple[str, ...] = ()
    status: PluginStatus = PluginStatus.LOADED
    reason: str = ""

    @property
    def origin(self) -> str:
        """Where the plugin comes from, for messages: ``dist version`` or in process."""
        if not self.distribution:
            return IN_PROCESS
        return f"{self.distribution} {self.version}".rstrip()

    @property
    def loaded(self) -> bool:
        """True when the plugin takes part in dispatch."""
        return self.status is PluginStatus.LOADED
