"""Writing failback data into a VM's disks through the on-premises master target.

Reverse replication and failback to VMware need two components, as in ASR:
a process server on the cloud side that sends the blocks (fabric option
``failback_process_server``, its name) and a master target on premises
that writes them into the VM's VMDKs (fabric option ``master_target``, its
address; it accepts the vCenter's credentials). Without either, both are
refused before anything changes (:func:`require_failback_setup`).

The master target's HTTP API is in :mod:`fakes.vcenter.mastertarget`'s
docstring. A write is safe to repeat (same bytes, same place), so every
call is retried with backoff when the master target is unreachable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import requests

import provider.clientpool
from plugins.vmware.client import RetryPolicy
from plugins.vmware.transport import base_url, open_session
from provider.contracts.connection import FabricConnection
from provider.contracts.replica import ExtentData
from provider.errors import (
    AuthenticationFailed,
    ConfigurationError,
    FabricUnreachable,
    HostileResponse,
    MachineNotFound,
    RemoteCommandFailed,
)
from provider.model.inventory import Machine

API = "/mastertarget/v1"


def require_failback_setup(connection: FabricConnection, machine: Machine) -> None:
    """Refuse reverse replication and failback when a component they need is not configured."""
    missing = [
        what
        for option, what in (
            (
                "master_target",
                "no master target is configured on premises (fabric option master_target)",
            ),
            (
                "failback_process_server",
                "no process server is configured on the cloud side "
                "(fabric option failback_process_server)",
            ),
        )
        if not connection.option(option)
    ]
    if missing:
        raise ConfigurationError(
            f"failback of {machine.name} ({machine.machine_id}) to vCenter "
            f"{connection.address} needs a process server on the cloud side and a master "
            f"target on premises: {'; '.join(missing)}",
            hint="deploy both, then set the fabric's master_target and "
            "failback_process_server options",
        )


class MasterTargetClient:
    """Talks to the master target a vmware fabric names."""

    def __init__(
        self, connection: FabricConnection, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.connection = connection
        self.address = connection.address
        self.url = base_url(connection)
        self.retry = RetryPolicy.from_connection(connection)
        self.timeout = float(connection.option("read_timeout", "60"))
        self._sleep = sleep
        self._http = open_session(connection, self.url)
        self._http.auth = (connection.username, connection.secret.reveal())

    def write(self, machine: Machine, disk_id: str, extent: ExtentData) -> None:
        path = f"{API}/vms/{machine.machine_id}/disks/{disk_id}"
        operation = (
            f"write {len(extent.data)} bytes at {extent.offset} of {machine.name} disk {disk_id}"
        )
        self.retry.retrying(self._sleep)(
            lambda: self._checked(operation, machine, self._put(operation, path, extent))
        )

    def close(self) -> None:
        self._http.close()

    def _put(self, operation: str, path: str, extent: ExtentData) -> requests.Response:
        try:
            return self._http.put(
                self.url + path,
                params={"offset": extent.offset},
                data=extent.data,
                headers={"Content-Type": "application/octet-stream"},
                timeout=self.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise FabricUnreachable(
                f"master target {self.address}: {operation}: {type(exc).__name__}: {exc}"
            ) from exc

    def _checked(self, operation: str, machine: Machine, response: requests.Response) -> None:
        if response.ok:
            return
        where = f"master target {self.address}: {operation}"
        code, message = _error(response)
        if response.status_code in (502, 503, 504):
            raise FabricUnreachable(f"{where}: HTTP {response.status_code}: {message}")
        if response.status_code == 401:
            raise AuthenticationFailed(f"{where}: the master target refused the credentials")
        if code == "vm_not_found":
            raise MachineNotFound(f"{where}: {machine.name} no longer exists in vCenter")
        if not code:
            raise HostileResponse(f"{where}: HTTP {response.status_code} is not a master target's")
        raise RemoteCommandFailed(f"{where}: {code}: {message}")


def _error(response: requests.Response) -> tuple[str, str]:
    try:
        body: Any = response.json()
    except ValueError:
        return "", response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"], str(body.get("message", ""))
    return "", str(body)[:200]


def write_extents(
    pool: MasterTargetPool,
    connection: FabricConnection,
    machine: Machine,
    disk_id: str,
    extents: Sequence[ExtentData],
) -> None:
    """Write the extents into one disk of the VM through the fabric's master target."""
    require_failback_setup(connection, machine)
    client = pool.get(connection)
    for extent in extents:
        client.write(machine, disk_id, extent)


class MasterTargetPool(provider.clientpool.ClientPool[MasterTargetClient]):
    """One master target client per fabric; the master target's address replaces vCenter's."""

    def __init__(self) -> None:
        super().__init__(MasterTargetClient)

    def get(self, connection: FabricConnection) -> MasterTargetClient:
        return super().get(replace(connection, address=connection.option("master_target")))
