"""The protected item: a machine under replication, and its life."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from provider.model.checks import require_id, require_text
from provider.model.states import HealthReport, ReplicationState, replication_transitions


class Direction(enum.StrEnum):
    """Primary to target, or (after failover and re-protect) target back to primary."""

    FORWARD = "forward"
    REVERSE = "reverse"


@dataclass(frozen=True)
class ProtectedItem:
    """A machine protected by a policy towards a target.

    While failed over, ``replica_id`` names the replica machine on the
    target, ``failover_point_id`` the point it runs at and ``failover_mode``
    how it got there (a cancelled planned failover restarts the source).
    ``test_replica_id`` names a test failover's machine until its cleanup.
    """

    item_id: str
    fabric_id: str
    machine_id: str
    machine_name: str
    policy: str
    target: str
    state: ReplicationState = ReplicationState.ENABLING
    health: HealthReport = field(default_factory=HealthReport)
    replication_group: str = ""
    direction: Direction = Direction.FORWARD
    last_point_at: float | None = None
    created_at: float = 0.0
    replica_id: str = ""
    test_replica_id: str = ""
    failover_point_id: str = ""
    failover_mode: str = ""

    def __post_init__(self) -> None:
        require_id("ProtectedItem", "item_id", self.item_id)
        require_id("ProtectedItem", "fabric_id", self.fabric_id)
        require_id("ProtectedItem", "machine_id", self.machine_id)
        require_text("ProtectedItem", "machine_name", self.machine_name)
        require_text("ProtectedItem", "policy", self.policy)
        require_text("ProtectedItem", "target", self.target)

    def moved_to(self, state: ReplicationState) -> ProtectedItem:
        """A copy in ``state``; raises InvalidTransition if the table forbids it."""
        replication_transitions(self.state, state)
        return replace(self, state=state)
