"""Where each VM of a VMM fabric runs, and the clients that reach the server and the hosts.

VMM knows which host a VM is on; VMs move between the hosts of a cloud
(live migration). The locator remembers each VM's host from discovery and
from the machines the engine hands over, asks VMM again (one round trip)
when a VM is unknown or was not found where it was, and keeps working from
what it knows while the VMM server is down: replica sync talks to the hosts.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from plugins.hyperv.client import ClientPool, HyperVClient
from plugins.hyperv.records import one_row
from plugins.vmm import scripts
from plugins.vmm.client import server_pool
from plugins.vmm.hosts import HostClients
from plugins.vmm.kinds import DEFAULT_VMM_PORT
from plugins.vmm.model import VmmFabric
from provider.contracts.connection import FabricConnection
from provider.errors import MachineNotFound, ValidationError


def server_name(connection: FabricConnection) -> str:
    """The name given to Get-SCVMMServer: ``vmm_server``, else the address's host part."""
    chosen = connection.option("vmm_server")
    if chosen:
        return chosen
    address = connection.address.strip()
    if "://" in address:
        return urlsplit(address).hostname or address
    return address


def server_port(connection: FabricConnection) -> int:
    """The VMM management port (``vmm_port``, default 8100)."""
    raw = connection.option("vmm_port", str(DEFAULT_VMM_PORT))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValidationError(
            f"vmm fabric {connection.fabric_id!r}: vmm_port must be a TCP port, got {raw!r}"
        )
    return int(raw)


class Locator:
    """Clients of VMM servers and hosts, and the host of every known VM, per fabric."""

    def __init__(self) -> None:
        self._servers: ClientPool = server_pool()
        self._hosts = HostClients()
        self._where: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def server(self, connection: FabricConnection) -> HyperVClient:
        return self._servers.get(connection)

    def host_client(self, connection: FabricConnection, host: str) -> HyperVClient:
        return self._hosts.get(connection, host)

    def remember(self, connection: FabricConnection, fabric: VmmFabric) -> None:
        """Record where every VM of a discovery pass runs."""
        with self._lock:
            for vm in fabric.vms:
                self._where[(connection.fabric_id, vm.vm_id)] = vm.host

    def host_of(self, connection: FabricConnection, vm_id: str, hint: str = "") -> str:
        """The host of a VM: remembered, else ``hint``, else asked of VMM."""
        with self._lock:
            known = self._where.get((connection.fabric_id, vm_id.lower()))
        if known or hint:
            return known or hint
        self.relocate(connection)
        with self._lock:
            found = self._where.get((connection.fabric_id, vm_id.lower()))
        if found is None:
            raise MachineNotFound(
                f"{connection.address}: VMM knows no VM with id {vm_id} on its hosts"
            )
        return found

    def relocate(self, connection: FabricConnection) -> dict[str, str]:
        """Ask VMM where every VM runs now; returns VM id -> host and remembers it."""
        client = self.server(connection)
        script = scripts.locate_vms(server_name(connection), server_port(connection))
        answer = one_row(client.query(script), f"{client.host}: {script.command}")
        found = {
            row.text("VMId").strip("{}").lower(): row.text("HostName") for row in answer.rows("VMs")
        }
        with self._lock:
            for vm_id, host in found.items():
                self._where[(connection.fabric_id, vm_id)] = host
        return found

    def drop(self, connection: FabricConnection) -> None:
        """Close every client of the fabric and forget its VMs' hosts."""
        self._servers.drop(connection)
        self._hosts.drop(connection)
        with self._lock:
            for key in [key for key in self._where if key[0] == connection.fabric_id]:
                del self._where[key]
