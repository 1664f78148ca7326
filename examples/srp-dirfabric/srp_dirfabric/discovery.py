"""Discovery: the host's machines, disks, NICs and networks in one pass over its folder."""

from __future__ import annotations

from provider.model.inventory import Disk, Inventory, Machine, Network, Nic, ProtectionContainer
from srp_dirfabric.host import HostSession, MachineRecord


def inventory(session: HostSession) -> Inventory:
    """Everything on the host; one container, the host itself."""
    container = f"kvm-{session.name}"
    machines = tuple(_machine(session, record, container) for record in session.machines())
    networks = sorted({nic.network_id for machine in machines for nic in machine.nics})
    return Inventory(
        containers=(ProtectionContainer(container, f"KVM host {session.name}", kind="host"),),
        machines=machines,
        networks=tuple(Network(network, network) for network in networks),
    )


def _machine(session: HostSession, record: MachineRecord, container: str) -> Machine:
    disks = tuple(
        Disk(disk.disk_id, disk.image.name, disk.capacity, str(disk.image))
        for disk in record.disks(session.address)
    )
    networks = [str(network) for network in record.raw.get("networks", [])]
    nics = tuple(Nic(f"{record.machine_id}-nic{i}", net) for i, net in enumerate(networks))
    return Machine(
        record.machine_id,
        record.name,
        container,
        disks,
        nics,
        host=session.name,
        power_state=str(record.raw.get("power_state", "off")),
        os_type="linux",
    )
