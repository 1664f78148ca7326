"""Native replication values: a target that replicates by itself, driven by the core.

Some targets replicate without srp's HRL data path (``DataPath.NATIVE``):
InMage Scout (agents -> process server -> master target), Hyper-V Replica.
The core still decides *what* is protected, *when* to fail over and *to
which point*; these values carry those decisions to the target's plugin
and bring back what the target reports. A *group* is a replication group:
its machines share recovery points (multi-machine consistency).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from provider.contracts.declarations import FailoverMode
from provider.contracts.failover import ReplicaDisk
from provider.errors import ValidationError
from provider.model.checks import require_id, require_non_negative, require_unique
from provider.model.inventory import Machine
from provider.model.recovery import Consistency
from provider.model.states import Health, ReplicationState


@dataclass(frozen=True)
class NativeProtection:
    """Protect a group of machines toward a natively replicating target.

    ``options`` carry what only the target understands (InMage: the process
    server and the master target; Hyper-V Replica: the replica server).
    ``retention_hours`` bounds how far back a recovery point may be;
    ``app_frequency_minutes`` asks for app-consistent points that often
    (0: crash-consistent points only).
    """

    group_id: str
    machines: tuple[Machine, ...]
    retention_hours: int = 24
    app_frequency_minutes: int = 0
    options: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        require_id("NativeProtection", "group_id", self.group_id)
        if not self.machines:
            raise ValidationError(f"NativeProtection {self.group_id!r}: no machine to protect")
        require_unique(
            f"NativeProtection {self.group_id!r}", "machines", (m.machine_id for m in self.machines)
        )
        require_non_negative(
            "NativeProtection", "app_frequency_minutes", self.app_frequency_minutes
        )
        if self.retention_hours <= 0:
            raise ValidationError(f"NativeProtection {self.group_id!r}: retention must be positive")

    def option(self, key: str, default: str = "") -> str:
        """One target-specific option."""
        return dict(self.options).get(key, default)


@dataclass(frozen=True)
class NativeMachineState:
    """One machine's replication as the target reports it.

    ``detail`` is the target's own state name (``Differential Sync``,
    ``Replicating``); ``reason`` says why health is not normal;
    ``pending_bytes`` is data captured on the source side that the target
    does not hold yet (cached, never lost).
    """

    machine_id: str
    state: ReplicationState
    health: Health
    detail: str = ""
    reason: str = ""
    pending_bytes: int = 0


@dataclass(frozen=True)
class NativeGroupState:
    """Every machine of a group, as the target reports it."""

    group_id: str
    machines: tuple[NativeMachineState, ...]

    def machine(self, machine_id: str) -> NativeMachineState:
        """The state of one machine; KeyError names the group when absent."""
        for state in self.machines:
            if state.machine_id == machine_id:
                return state
        raise KeyError(f"group {self.group_id!r} has no machine {machine_id!r}")


class Accuracy(enum.StrEnum):
    """How faithfully a recovery point holds the sources' data at its instant."""

    EXACT = "exact"
    APPROXIMATE = "approximate"
    NOT_GUARANTEED = "not_guaranteed"


@dataclass(frozen=True)
class NativePoint:
    """A recovery point a native target holds.

    ``machine_ids`` are the machines that hold it: a point held by every
    machine of the group is a multi-machine (common) point.
    """

    name: str
    created_at: float
    consistency: Consistency
    accuracy: Accuracy
    machine_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        require_non_negative("NativePoint", "created_at", self.created_at)
        if not self.name:
            raise ValidationError("NativePoint: a point needs a name")


class PointChoice(enum.StrEnum):
    """Which point a native failover goes to."""

    #: Each machine to its own latest point.
    LATEST = "latest"
    #: Each machine to the latest data the target holds, consistent or not.
    LATEST_TIME = "latest_time"
    #: Every machine to the latest point they all hold.
    LATEST_COMMON = "latest_common"
    #: Every machine to the point named in the request.
    NAMED = "named"


@dataclass(frozen=True)
class NativeFailover:
    """Fail (some machines of) a group over to a point on a native target.

    ``networks`` maps each source network id the machines' NICs use to the
    recovery site's network (from the vault's network mappings): the target
    attaches the recovered NICs there. ``options`` carry the operation's
    target-side choices (test failover: ``network``, the isolated network).
    """

    group_id: str
    machine_ids: tuple[str, ...]
    choice: PointChoice
    mode: FailoverMode = FailoverMode.UNPLANNED
    point_name: str = ""
    networks: tuple[tuple[str, str], ...] = ()
    options: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        require_id("NativeFailover", "group_id", self.group_id)
        if not self.machine_ids:
            raise ValidationError(f"NativeFailover {self.group_id!r}: no machine to fail over")
        if (self.choice is PointChoice.NAMED) != bool(self.point_name):
            raise ValidationError(
                f"NativeFailover {self.group_id!r}: a point name goes with choice 'named' only"
            )

    def network_for(self, source_network: str) -> str:
        """The recovery site's network for a source network ("" when unmapped)."""
        return dict(self.networks).get(source_network, "")

    def option(self, key: str, default: str = "") -> str:
        """One operation-specific option."""
        return dict(self.options).get(key, default)


@dataclass(frozen=True)
class NativeRecovered:
    """One machine recovered on the target: which point it got and its disks."""

    machine_id: str
    replica_id: str
    point_name: str
    point_time: float
    disks: tuple[ReplicaDisk, ...]


@dataclass(frozen=True)
class NativeFailoverResult:
    """What a native failover did, machine by machine."""

    group_id: str
    machines: tuple[NativeRecovered, ...]

    def machine(self, machine_id: str) -> NativeRecovered:
        """The result of one machine; KeyError names the group when absent."""
        for recovered in self.machines:
            if recovered.machine_id == machine_id:
                return recovered
        raise KeyError(f"failover of group {self.group_id!r} has no machine {machine_id!r}")
