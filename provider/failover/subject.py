"""What one machine's failover works on: the item, its machine, both ends and their kinds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from provider.contracts.connection import FabricConnection, TargetConnection
from provider.contracts.declarations import FabricKind, TargetKind
from provider.engine.context import EngineContext
from provider.model.inventory import Machine
from provider.model.item import ProtectedItem


class Reporter(Protocol):
    """Where an operation reports progress and output (a job's TaskContext is one)."""

    def progress(self, fraction: float) -> None:
        """How far the operation is, 0..1."""

    def log(self, text: str) -> None:
        """A line kept with the job."""


class QuietReporter:
    """A reporter that keeps nothing, for direct calls outside a job."""

    def progress(self, fraction: float) -> None:
        """Progress goes nowhere."""

    def log(self, text: str) -> None:
        """Output goes nowhere."""


@dataclass(frozen=True)
class Subject:
    """A protected item with its machine, its source and target, and their declared kinds."""

    item: ProtectedItem
    machine: Machine
    fabric_kind: FabricKind
    target_kind: TargetKind
    source: FabricConnection
    target: TargetConnection

    @property
    def name(self) -> str:
        """How messages name the machine."""
        return f"{self.item.machine_name} ({self.item.item_id})"


def load_subject(ctx: EngineContext, item_id: str) -> Subject:
    """Read the item and what its failover needs; nothing on a fabric is contacted."""
    with ctx.store.read() as tx:
        item = tx.items.get(item_id)
        machine = tx.fabrics.inventory(item.fabric_id).machine(item.machine_id)
        fabric_kind = tx.fabrics.get(item.fabric_id).kind
        target_kind = tx.targets.get(item.target).kind
    return Subject(
        item,
        machine,
        ctx.plugins.fabric_kind(fabric_kind),
        ctx.plugins.target_kind(target_kind),
        ctx.fabric_connection(item.fabric_id),
        ctx.target_connection(item.target),
    )
