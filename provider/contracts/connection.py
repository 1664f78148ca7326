"""How the core hands a plugin a fabric or a target to talk to."""

from __future__ import annotations

from dataclasses import dataclass, field

from provider.model.checks import require_id, require_text


class Secret:
    """A password or key that never shows in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself: call only where it is sent to the fabric."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class FabricConnection:
    """A registered fabric as a plugin needs it: where, who, and how."""

    fabric_id: str
    kind: str
    address: str
    username: str = ""
    secret: Secret = field(default_factory=lambda: Secret(""), repr=False)
    options: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        require_id("FabricConnection", "fabric_id", self.fabric_id)
        require_text("FabricConnection", "kind", self.kind)
        require_text("FabricConnection", "address", self.address)

    def option(self, key: str, default: str = "") -> str:
        """One connection option, e.g. ``transport`` or ``cert_validation``."""
        return dict(self.options).get(key, default)


@dataclass(frozen=True)
class FabricIdentity:
    """What a fabric says it is when the plugin connects."""

    name: str
    kind: str
    version: str = ""
    server_id: str = ""


@dataclass(frozen=True)
class TargetConnection:
    """A replication target: a storage account + compute, or a secondary site.

    ``state_dir`` is a directory the core keeps for this target's plugin, for
    what the target itself cannot hold and a restart of the service must not
    lose (a native target's group records); empty when the caller has none.
    """

    target_id: str
    kind: str
    location: str
    secret: Secret = field(default_factory=lambda: Secret(""), repr=False)
    options: tuple[tuple[str, str], ...] = ()
    state_dir: str = ""

    def __post_init__(self) -> None:
        require_id("TargetConnection", "target_id", self.target_id)
        require_text("TargetConnection", "kind", self.kind)
        require_text("TargetConnection", "location", self.location)

    def option(self, key: str, default: str = "") -> str:
        """One target option."""
        return dict(self.options).get(key, default)
