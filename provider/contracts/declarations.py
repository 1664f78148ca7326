"""What a plugin serves: fabric kinds and target kinds, with their capabilities."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from provider.errors import ValidationError
from provider.model.checks import require_text, require_unique

_KIND = re.compile(r"^[a-z][a-z0-9-]{1,31}$")


def _require_kind(owner: str, kind: str) -> None:
    if not _KIND.match(kind):
        raise ValidationError(
            f"{owner}: kind {kind!r} must be 2-32 lowercase letters, digits or dashes, "
            "starting with a letter"
        )


class ParameterType(enum.StrEnum):
    """How a connection parameter is read and stored."""

    TEXT = "text"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    SECRET = "secret"
    CHOICE = "choice"


@dataclass(frozen=True)
class ConnectionParameter:
    """One parameter an operator gives when registering a fabric of this kind."""

    name: str
    type: ParameterType = ParameterType.TEXT
    required: bool = False
    default: str = ""
    choices: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        require_text("ConnectionParameter", "name", self.name)
        if self.type is ParameterType.CHOICE and not self.choices:
            raise ValidationError(f"ConnectionParameter {self.name!r}: a choice needs choices")
        if self.choices and self.default and self.default not in self.choices:
            raise ValidationError(
                f"ConnectionParameter {self.name!r}: default {self.default!r} is not a choice"
            )


class FailoverMode(enum.StrEnum):
    """The four ways to fail over."""

    TEST = "test"
    PLANNED = "planned"
    UNPLANNED = "unplanned"
    FAILBACK = "failback"


@dataclass(frozen=True)
class Capabilities:
    """What a fabric kind supports; the core refuses what is not declared.

    ``copy_frequencies`` are the cycle periods in seconds the fabric can honour
    (empty: any). ``failback_to`` names the fabric kinds a failback may land on
    (VMware sources fail back to ``vmware`` only, never to a physical server).
    """

    copy_frequencies: tuple[int, ...] = ()
    app_consistent: bool = False
    failover_modes: tuple[FailoverMode, ...] = (FailoverMode.TEST, FailoverMode.UNPLANNED)
    failback_to: tuple[str, ...] = ()
    multi_machine_groups: bool = False
    reverse_replication: bool = False
    max_retention_hours: int = 24

    def __post_init__(self) -> None:
        require_unique("Capabilities", "failover_modes", (m.value for m in self.failover_modes))
        if any(f <= 0 for f in self.copy_frequencies):
            raise ValidationError("Capabilities: copy frequencies must be positive seconds")

    def allows(self, mode: FailoverMode) -> bool:
        """True when this kind declares the failover mode."""
        return mode in self.failover_modes


@dataclass(frozen=True)
class FabricKind:
    """A kind of fabric a plugin serves (hyperv, vmm, vmware, inmage...)."""

    kind: str
    title: str
    parameters: tuple[ConnectionParameter, ...] = ()
    capabilities: Capabilities = Capabilities()
    default_port: int = 0

    def __post_init__(self) -> None:
        _require_kind("FabricKind", self.kind)
        require_text(f"FabricKind {self.kind!r}", "title", self.title)
        require_unique(f"FabricKind {self.kind!r}", "parameters", (p.name for p in self.parameters))


class DataPath(enum.StrEnum):
    """Whether srp ships HRL to the target, or the fabric replicates natively."""

    HRL = "hrl"
    NATIVE = "native"


@dataclass(frozen=True)
class TargetKind:
    """A kind of replication target (cloud storage + compute, a secondary site...).

    ``latest_only`` declares a native target that fails over to its latest
    replicated data only (Hyper-V Replica): asked for a point, it records
    none, and whatever other points it lists are its own (hourly replica
    snapshots). Every point of an HRL target is srp's, so only a native
    target may declare it.
    """

    kind: str
    title: str
    data_path: DataPath = DataPath.HRL
    parameters: tuple[ConnectionParameter, ...] = ()
    failover_modes: tuple[FailoverMode, ...] = tuple(FailoverMode)
    latest_only: bool = False

    def __post_init__(self) -> None:
        _require_kind("TargetKind", self.kind)
        require_text(f"TargetKind {self.kind!r}", "title", self.title)
        require_unique(f"TargetKind {self.kind!r}", "parameters", (p.name for p in self.parameters))
        if self.latest_only and self.data_path is not DataPath.NATIVE:
            raise ValidationError(
                f"TargetKind {self.kind!r}: only a native target can be latest-only "
                "(srp records every point of an HRL target and fails over to any of them)"
            )
