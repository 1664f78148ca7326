"""Reaching the Hyper-V hosts of a VMM server's clouds.

Decision: the plugin connects to each host directly, with the VMM
registration's account, rather than relaying through the VMM server. VMM
manages its hosts with a Run As account that is an administrator on every
host, and ASR does the same split: the provider on the VMM server
orchestrates, the agent on each host tracks and ships changes. So the
SrpAgent cmdlets (change tracking, cuts, reads) run on the host where each
VM lives, over the hyperv plugin's own client, while VMM is asked only
where things are. A host is reached at its FQDN (as VMM names it) on the
WinRM port ``host_port``, unless ``host_endpoints`` says otherwise (NAT,
labs on loopback).
"""

from __future__ import annotations

from plugins.hyperv.client import ClientPool, HyperVClient
from provider.contracts.connection import FabricConnection
from provider.errors import ValidationError

#: Options that describe the VMM server only; a host connection does not inherit them.
_SERVER_ONLY = frozenset(["port", "host_port", "host_endpoints", "vmm_server", "vmm_port"])


def host_endpoints(connection: FabricConnection) -> dict[str, str]:
    """The ``host_endpoints`` option as host name (lower case) -> address."""
    raw = connection.option("host_endpoints")
    found: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, address = item.partition("=")
        if not (sep and name.strip() and address.strip()):
            raise ValidationError(
                f"vmm fabric {connection.fabric_id!r}: host_endpoints entry {item!r} is not "
                "name=address"
            )
        found[name.strip().lower()] = address.strip()
    return found


def host_address(connection: FabricConnection, host: str) -> str:
    """Where the host named ``host`` (FQDN or short name) answers WinRM."""
    endpoints = host_endpoints(connection)
    lowered = host.lower()
    for key in (lowered, lowered.split(".", 1)[0]):
        if key in endpoints:
            return endpoints[key]
    return host


def host_connection(connection: FabricConnection, host: str) -> FabricConnection:
    """A connection to one host, with the VMM registration's account and transport."""
    options = [(key, value) for key, value in connection.options if key not in _SERVER_ONLY]
    if connection.option("host_port"):
        options.append(("port", connection.option("host_port")))
    return FabricConnection(
        connection.fabric_id,
        "hyperv",
        host_address(connection, host),
        connection.username,
        connection.secret,
        tuple(options),
    )


class HostClients:
    """Clients of the hosts of each VMM fabric, made on first use, dropped on disconnect."""

    def __init__(self) -> None:
        self._pool = ClientPool()

    def get(self, connection: FabricConnection, host: str) -> HyperVClient:
        return self._pool.get(host_connection(connection, host))

    def drop(self, connection: FabricConnection) -> None:
        self._pool.drop(connection)
