"""The domain model: frozen dataclasses validated on creation.

Every value that crosses a hook, the store or the API is one of these. They
refuse bad input in ``__post_init__`` with :class:`provider.errors.ValidationError`
naming the field and the rule, so a bad policy or a malformed inventory is
caught where it is made, not three layers later.
"""

from provider.model.inventory import (
    Disk,
    Fabric,
    Host,
    Inventory,
    Machine,
    Network,
    Nic,
    ProtectionContainer,
)
from provider.model.item import ProtectedItem
from provider.model.job import Job, JobState, Task, TaskState
from provider.model.mapping import NetworkMapping, StorageMapping
from provider.model.plan import PlanAction, PlanGroup, RecoveryPlan
from provider.model.policy import InitialReplicationMethod, ReplicationPolicy
from provider.model.recovery import Consistency, DiskPoint, RecoveryPoint
from provider.model.states import (
    Health,
    HealthReport,
    ReplicationState,
    replication_transitions,
)

__all__ = [
    "Consistency",
    "Disk",
    "DiskPoint",
    "Fabric",
    "Health",
    "HealthReport",
    "Host",
    "InitialReplicationMethod",
    "Inventory",
    "Job",
    "JobState",
    "Machine",
    "Network",
    "NetworkMapping",
    "Nic",
    "PlanAction",
    "PlanGroup",
    "ProtectedItem",
    "ProtectionContainer",
    "RecoveryPlan",
    "RecoveryPoint",
    "ReplicationPolicy",
    "ReplicationState",
    "StorageMapping",
    "Task",
    "TaskState",
    "replication_transitions",
]
