"""A plan checked against the vault: which protected item each machine is, and every problem.

A plan names machines by machine name, machine id or protected item id.
Each name must match exactly one protected item; the problems are: a name
nothing matches (unknown), a discovered machine that is not protected, a
name several items share (ambiguous), two names for one item, an item that
is not protected yet (or any more), a forward item with a NIC whose
network has no mapping to the item's target, and a script whose program is
missing or not executable on this host.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from provider.model.inventory import Machine
from provider.model.item import Direction, ProtectedItem
from provider.model.plan import ActionKind, PlanGroup, RecoveryPlan
from provider.model.states import ReplicationState
from provider.store.unit import Unit
from provider.store.vaultstore import VaultStore

_R = ReplicationState
#: States in which an item is not (or no longer) protected: a plan cannot use it.
_UNPROTECTED = frozenset({_R.ENABLING, _R.INITIAL_REPLICATION, _R.DISABLING, _R.DISABLED})


@dataclass(frozen=True)
class Resolution:
    """The item id of each machine name that resolved, and every problem found."""

    items: tuple[tuple[str, str], ...]
    problems: tuple[str, ...]

    def item_id(self, machine: str) -> str:
        return dict(self.items)[machine]


def resolve_plan(store: VaultStore, plan: RecoveryPlan) -> Resolution:
    """Match every machine of the plan to its protected item, collecting every problem."""
    with store.read() as tx:
        checker = _Checker(tx)
        for group in plan.groups:
            checker.group(group)
    problems = checker.problems + [p for g in plan.groups for p in _script_problems(g)]
    return Resolution(tuple(checker.items.items()), tuple(problems))


class _Checker:
    def __init__(self, tx: Unit) -> None:
        self.tx = tx
        self.all_items = tx.items.list()
        self.items: dict[str, str] = {}
        self.owner: dict[str, str] = {}
        self.problems: list[str] = []

    def group(self, group: PlanGroup) -> None:
        for name in group.machines:
            item = self.item(group, name)
            if item is not None:
                self.accept(group, name, item)

    def item(self, group: PlanGroup, name: str) -> ProtectedItem | None:
        found = [i for i in self.all_items if name in (i.item_id, i.machine_id, i.machine_name)]
        if len(found) == 1:
            return found[0]
        if found:
            ids = ", ".join(i.item_id for i in found)
            self.problems.append(
                f"group {group.name}: machine {name!r} is ambiguous (items {ids}); "
                "name it by item id"
            )
        elif self.discovered(name):
            self.problems.append(
                f"group {group.name}: machine {name!r} is not protected: protect it first"
            )
        else:
            self.problems.append(
                f"group {group.name}: machine {name!r} is unknown: no protected item or "
                "discovered machine has that name"
            )
        return None

    def accept(self, group: PlanGroup, name: str, item: ProtectedItem) -> None:
        if item.item_id in self.owner:
            self.problems.append(
                f"group {group.name}: machine {name!r} is item {item.item_id}, already in the "
                f"plan as {self.owner[item.item_id]!r}"
            )
            return
        self.owner[item.item_id] = name
        self.items[name] = item.item_id
        if item.state in _UNPROTECTED:
            self.problems.append(
                f"group {group.name}: machine {name!r} is not protected: it is {item.state.value}"
            )
        elif item.direction is Direction.FORWARD:
            self.problems.extend(self.unmapped(group, name, item))

    def unmapped(self, group: PlanGroup, name: str, item: ProtectedItem) -> list[str]:
        machine = self.machine(item)
        if machine is None:
            return [f"group {group.name}: machine {name!r} is no longer in its fabric's inventory"]
        return [
            f"group {group.name}: machine {name!r}: NIC {nic.nic_id} is on network "
            f"{nic.network_id!r}, which has no network mapping to target {item.target}"
            for nic in machine.nics
            if self.tx.mappings.network(item.fabric_id, nic.network_id, item.target) is None
        ]

    def machine(self, item: ProtectedItem) -> Machine | None:
        try:
            return self.tx.fabrics.inventory(item.fabric_id).machine(item.machine_id)
        except KeyError:
            return None

    def discovered(self, name: str) -> bool:
        for fabric in self.tx.fabrics.list():
            if self.tx.fabrics.discovered_at(fabric.fabric_id) is None:
                continue
            machines = self.tx.fabrics.inventory(fabric.fabric_id).machines
            if any(name in (m.machine_id, m.name) for m in machines):
                return True
        return False


def _script_problems(group: PlanGroup) -> list[str]:
    # Scripts run on the service's host: a missing program is found now, not mid-failover.
    problems = []
    for action in group.pre + group.post:
        if action.kind is not ActionKind.SCRIPT:
            continue
        program = Path(action.command[0])
        if not program.is_file() or not os.access(program, os.X_OK):
            problems.append(
                f"group {group.name}: script action {action.name!r}: {program} is not an "
                "executable file on the service's host"
            )
    return problems
