"""A replication group as one cycle sees it: items, machines, policy, endpoints.

A lone machine is a group of one. Every item of a group shares its fabric,
policy and target, so one cut covers them all and their recovery points are
one consistent cut across all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provider.contracts.connection import FabricConnection, TargetConnection
from provider.contracts.replica import DiskMarker as CutMarker
from provider.contracts.transfer import DiskRef
from provider.engine.context import EngineContext
from provider.errors import ValidationError
from provider.model.inventory import Machine
from provider.model.item import ProtectedItem
from provider.model.policy import ReplicationPolicy
from provider.store.items import DiskMarker


@dataclass(frozen=True)
class Member:
    """One protected item of the group, with its machine and per-disk markers."""

    item: ProtectedItem
    machine: Machine
    markers: dict[str, DiskMarker]

    def disk_ref(self, disk_id: str) -> DiskRef:
        """The target-side reference of one of this machine's disks."""
        return DiskRef(self.item.item_id, disk_id, self.machine.disk(disk_id).capacity)

    def disk_refs(self) -> list[DiskRef]:
        """Every disk of the machine, as the target knows it."""
        return [self.disk_ref(disk.disk_id) for disk in self.machine.disks]


@dataclass(frozen=True)
class Group:
    """Items cut together, and where they replicate from and to."""

    members: tuple[Member, ...]
    policy: ReplicationPolicy
    source: FabricConnection
    target: TargetConnection

    def member(self, machine_id: str) -> Member:
        """The member protecting this machine."""
        for member in self.members:
            if member.machine.machine_id == machine_id:
                return member
        raise KeyError(f"no member protects machine {machine_id!r}")

    def cut_markers(self) -> tuple[CutMarker, ...]:
        """Each disk's last shipped cut, for the source plugin's cut request."""
        return tuple(
            CutMarker(m.machine.machine_id, disk_id, marker.last_cut_id)
            for m in self.members
            for disk_id, marker in m.markers.items()
        )


def load_group(ctx: EngineContext, item_ids: Sequence[str]) -> Group:
    """Read the items and everything their cycle needs, in one read transaction."""
    with ctx.store.read() as tx:
        items = [tx.items.get(item_id) for item_id in item_ids]
        _check_shared(items)
        first = items[0]
        members = tuple(
            Member(
                item,
                tx.fabrics.inventory(item.fabric_id).machine(item.machine_id),
                {marker.disk_id: marker for marker in tx.items.markers(item.item_id)},
            )
            for item in items
        )
        policy = tx.policies.get(first.policy)
    return Group(
        members, policy, ctx.fabric_connection(first.fabric_id), ctx.target_connection(first.target)
    )


def _check_shared(items: Sequence[ProtectedItem]) -> None:
    if not items:
        raise ValidationError("a replication cycle needs at least one protected item")
    first = items[0]
    for item in items[1:]:
        if (item.fabric_id, item.policy, item.target) != (
            first.fabric_id,
            first.policy,
            first.target,
        ):
            raise ValidationError(
                f"items {first.item_id!r} and {item.item_id!r} cannot be cut together: a "
                "replication group shares one fabric, one policy and one target"
            )
