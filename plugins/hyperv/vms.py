"""Finding a discovered VM again: by name (what the cmdlets take), checked by id.

VM names are not unique on Hyper-V and a VM can be deleted and another made
with its name; every operation that changes a VM first checks that the name
still means the machine that was discovered.
"""

from __future__ import annotations

from plugins.hyperv import scripts
from plugins.hyperv.client import HyperVClient
from plugins.hyperv.records import Row, rows
from provider.errors import MachineNotFound
from provider.model.inventory import Machine


def current(client: HyperVClient, machine: Machine, operation: str) -> Row:
    """The VM's Get-VM row; MachineNotFound (naming host and operation) when it is gone."""
    script = scripts.get_vm(machine.name)
    try:
        found = rows(client.query(script), f"{client.host}: {script.command}")
    except MachineNotFound as exc:
        raise _gone(client, machine, operation) from exc
    for row in found:
        if row.text("Id").lower() == machine.machine_id.lower():
            return row
    raise _gone(client, machine, operation)


def _gone(client: HyperVClient, machine: Machine, operation: str) -> MachineNotFound:
    return MachineNotFound(
        f"{client.host}: {operation}: VM {machine.name!r} ({machine.machine_id}) is no longer "
        "on the host"
    )
