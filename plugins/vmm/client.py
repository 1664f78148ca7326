"""VmmClient: runs catalog scripts on a VMM server, speaking provider errors.

It is the hyperv plugin's client (same transport, retries, output parsing
and hardening) with VMM's failures mapped: a server without the VMM module
is the wrong kind of fabric; VMM's connection errors (name not resolved,
port refused, service not running: error ids 1600-1699) mean the VMM
service cannot be reached, which is transient and retried like a dropped
connection; any other VMM error is a failed command.
"""

from __future__ import annotations

import re

from plugins.hyperv.client import ClientPool, HyperVClient, RetryPolicy
from plugins.hyperv.output import PowerShellError
from plugins.hyperv.scripts import Script
from plugins.hyperv.transport import open_transport
from provider.contracts.connection import FabricConnection
from provider.errors import FabricError, FabricUnreachable, RemoteCommandFailed, WrongFabricKind

_NOT_RECOGNIZED = re.compile(
    r"The term '(?P<term>[^']*)' is not recognized as the name of a cmdlet"
)
_ERROR_ID = re.compile(r"\(Error ID: (?P<id>\d+)\)")
#: VMM's "cannot connect to the VMM management server" family of error ids.
_CONNECTION_ERRORS = range(1600, 1700)


def vmm_error_id(error: PowerShellError) -> int | None:
    """The ``(Error ID: n)`` of a VMM error record, if it has one."""
    found = _ERROR_ID.search(error.message)
    return int(found["id"]) if found else None


class VmmClient(HyperVClient):
    """A :class:`HyperVClient` whose failures are read as a VMM server's."""

    def _failure(self, script: Script, code: int, error: PowerShellError | None) -> FabricError:
        where = f"{self.host}: {script.command}"
        if error is None:
            return RemoteCommandFailed(f"{where} exited with code {code} and printed no error")
        if _NOT_RECOGNIZED.search(error.message):
            return WrongFabricKind(
                f"{self.host} is not a VMM server: {error.message}",
                hint="register the VMM management server, with the VMM console installed",
            )
        if vmm_error_id(error) in _CONNECTION_ERRORS:
            return FabricUnreachable(f"{where}: {error.message}")
        return RemoteCommandFailed(f"{where} failed: {error.message}")


def vmm_client_for(connection: FabricConnection) -> HyperVClient:
    """A client for the VMM server of the connection."""
    return VmmClient(
        connection.address, open_transport(connection), RetryPolicy.from_connection(connection)
    )


def server_pool() -> ClientPool:
    """A pool of VMM server clients (one per fabric and address)."""
    return ClientPool(vmm_client_for)
