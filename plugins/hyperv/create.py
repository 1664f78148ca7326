"""Creating a new VM on the host: the machine a failback to an alternate location fills.

One query checks the placement (the host is the one asked for, no VM has
the name, every network is a switch of the host), then one script builds
the VM stopped with empty dynamic VHDX disks in the host's VHD folder and
its NICs, and discovery reports it as it reports any machine.
"""

from __future__ import annotations

from plugins.hyperv import discovery, scripts
from plugins.hyperv.client import EffectCheck, HyperVClient
from plugins.hyperv.records import Row, one_row
from provider.contracts.failover import AlternateMachine
from provider.errors import AlreadyExists, HostileResponse, NotFound
from provider.model.inventory import Machine

MIB = 1 << 20
#: Generation 2 (UEFI, SCSI boot disk): what New-VM should make for a current guest.
GENERATION = 2


def create_machine(client: HyperVClient, spec: AlternateMachine, site: str = "") -> Machine:
    """Build the VM ``spec`` describes and return it as discovery sees it."""
    facts = one_row(client.query(scripts.placement_facts()), f"{client.host}: Get-VMPlacement")
    host = one_row(facts.data.get("Host"), f"{facts.where}: Host")
    _check_host(client, host, spec)
    _check_name(client, facts, spec)
    switches = _switch_names(client, facts, spec.networks)
    folder = host.text("VirtualHardDiskPath").rstrip("\\")
    vm = scripts.NewVm(
        spec.name,
        GENERATION,
        spec.memory_mib * MIB,
        tuple(
            (f"{folder}\\{spec.name}_{i}.vhdx", size) for i, size in enumerate(spec.disk_capacities)
        ),
        switches,
    )
    probe = EffectCheck.field_is(scripts.get_vm(spec.name), "Name", spec.name)
    client.act(scripts.new_vm(vm), probe)
    return _discovered(client, spec.name, site)


def _check_host(client: HyperVClient, host: Row, spec: AlternateMachine) -> None:
    if host.text("Name").lower() != spec.host.lower():
        raise NotFound(
            f"{client.host}: cannot create {spec.name} on host {spec.host!r}: this fabric is "
            f"the Hyper-V host {host.text('Name')!r}"
        )


def _check_name(client: HyperVClient, facts: Row, spec: AlternateMachine) -> None:
    # Hyper-V allows two VMs of one name, but every cmdlet srp runs finds VMs by name.
    if any(row.text("Name").lower() == spec.name.lower() for row in facts.rows("VMs")):
        raise AlreadyExists(f"{client.host}: a VM named {spec.name!r} is already on the host")


def _switch_names(client: HyperVClient, facts: Row, networks: tuple[str, ...]) -> tuple[str, ...]:
    by_id = {row.text("Id").lower(): row.text("Name") for row in facts.rows("Switches")}
    missing = [network for network in networks if network.lower() not in by_id]
    if missing:
        raise NotFound(f"{client.host}: no virtual switch with id {', '.join(missing)}")
    return tuple(by_id[network.lower()] for network in networks)


def _discovered(client: HyperVClient, name: str, site: str) -> Machine:
    found = [m for m in discovery.discover(client, site).machines if m.name == name]
    if len(found) != 1:
        raise HostileResponse(
            f"{client.host}: New-VM reported success but discovery finds {len(found)} VMs "
            f"named {name!r}"
        )
    return found[0]
