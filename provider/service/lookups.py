"""Finding what an operator names: a fabric by name or id, a machine by name or id."""

from __future__ import annotations

from dataclasses import dataclass

from provider.errors import NotFound, ValidationError
from provider.model.inventory import Fabric, Machine
from provider.store.unit import Unit


@dataclass(frozen=True)
class FoundMachine:
    """A discovered machine and the fabric it lives on."""

    fabric: Fabric
    machine: Machine


def find_fabric(tx: Unit, name_or_id: str) -> Fabric:
    """A fabric by its name, else by its id; NotFound naming what was asked."""
    fabric = tx.fabrics.find_by_name(name_or_id)
    if fabric is not None:
        return fabric
    for candidate in tx.fabrics.list():
        if candidate.fabric_id == name_or_id:
            return candidate
    raise NotFound(
        f"no fabric named {name_or_id!r} is registered", hint="list them with `srp fabric list`"
    )


def find_machine(tx: Unit, reference: str, fabric_name: str | None = None) -> FoundMachine:
    """A machine by name or id, on one fabric or on any; refuses an ambiguous name."""
    fabrics = [find_fabric(tx, fabric_name)] if fabric_name else tx.fabrics.list()
    found = [
        FoundMachine(fabric, machine)
        for fabric in fabrics
        for machine in tx.fabrics.inventory(fabric.fabric_id).machines
        if reference in (machine.machine_id, machine.name)
    ]
    if not found:
        where = f"fabric {fabric_name!r}" if fabric_name else "any registered fabric"
        raise NotFound(
            f"no machine {reference!r} was discovered on {where}",
            hint="re-discover with `srp refresh FABRIC` if it is new",
        )
    if len(found) > 1:
        names = ", ".join(sorted(f.fabric.name for f in found))
        raise ValidationError(
            f"machine {reference!r} is on several fabrics ({names})",
            hint="name the fabric with --fabric",
        )
    return found[0]
