"""The in-process transport: the vmm plugin talks to fake VMM servers and hosts without WinRM.

``install_inprocess_transport(lab)`` registers the transport name
``fake-vmm-inprocess`` with the plugins' transport registry
(``plugins.hyperv.transport``, which the vmm plugin reuses). A connection
with that transport reaches the VMM server *or* the Hyper-V host named by
its address, so the plugin's connections to the hosts of a cloud (made from
the VMM registration) work in process too.

Example::

    from fakes.vmm import VmmLab, install_inprocess_transport

    lab = VmmLab()
    lab.add_server("vmm01")
    install_inprocess_transport(lab)
    # FabricConnection(..., kind="vmm", address="vmm01",
    #                  options=(("transport", "fake-vmm-inprocess"),))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakes.hyperv.transport import InProcessTransport
from fakes.vmm.lab import VmmLab
from fakes.vmm.server import VmmServer
from provider.errors import FabricUnreachable

if TYPE_CHECKING:
    from plugins.hyperv.transport import ScriptResult

TRANSPORT_NAME = "fake-vmm-inprocess"


class VmmInProcessTransport:
    """Runs scripts directly on a fake VMM server (the plugin's ``ScriptTransport``)."""

    def __init__(self, server: VmmServer) -> None:
        self.server = server

    def run(self, script: str) -> ScriptResult:
        from plugins.hyperv.transport import ScriptResult

        if self.server.faults.unreachable:
            # What a refused connection looks like once the WinRM transport has mapped it.
            raise FabricUnreachable(f"cannot reach {self.server.name}: connection refused")
        raw = self.server.run_script(script)
        return ScriptResult(stdout=raw.stdout, stderr=raw.stderr, exit_code=raw.exit_code)

    def close(self) -> None:
        """Nothing to release; present so clients can close any transport."""


def install_inprocess_transport(lab: VmmLab, name: str = TRANSPORT_NAME) -> None:
    """Register ``name`` so connections reach ``lab``'s VMM servers and hosts in process."""
    from plugins.hyperv.transport import ScriptTransport, register_transport
    from provider.contracts.connection import FabricConnection

    def factory(connection: FabricConnection) -> ScriptTransport:
        found = lab.find_machine(connection.address)
        if isinstance(found, VmmServer):
            return VmmInProcessTransport(found)
        if found is not None:
            return InProcessTransport(found)
        raise FabricUnreachable(
            f"no fake VMM server or Hyper-V host answers at {connection.address!r} "
            f"(transport {name!r})"
        )

    register_transport(name, factory)
