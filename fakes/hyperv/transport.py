"""The in-process transport: the hyperv plugin talks to a fake host without WinRM.

``install_inprocess_transport(lab)`` registers the transport name
``fake-inprocess`` with the plugin (``plugins.hyperv.transport``); a
connection whose ``transport`` option is ``fake-inprocess`` then runs its
scripts on the lab host named by the connection's address, in process, with
the same bytes on stdout and stderr as over WinRM.

Example::

    from fakes.hyperv import HyperVLab, install_inprocess_transport

    lab = HyperVLab()
    lab.add_host("hv01")
    install_inprocess_transport(lab)
    # FabricConnection(..., address="hv01", options=(("transport", "fake-inprocess"),))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakes.hyperv.host import HyperVHost, RawResult
from fakes.hyperv.site import HyperVLab
from provider.errors import FabricUnreachable

if TYPE_CHECKING:
    from plugins.hyperv.transport import ScriptResult

TRANSPORT_NAME = "fake-inprocess"


class InProcessTransport:
    """Runs scripts directly on a fake host (the plugin's ``ScriptTransport`` protocol)."""

    def __init__(self, host: HyperVHost) -> None:
        self.host = host

    def run(self, script: str) -> ScriptResult:
        # Imported here: the plugin is another package and must not be needed to use the fakes.
        from plugins.hyperv.transport import ScriptResult

        raw: RawResult = self.host.run_script(script)
        return ScriptResult(stdout=raw.stdout, stderr=raw.stderr, exit_code=raw.exit_code)

    def close(self) -> None:
        """Nothing to release; present so clients can close any transport."""


def install_inprocess_transport(lab: HyperVLab, name: str = TRANSPORT_NAME) -> None:
    """Register ``name`` with the plugin so connections can reach ``lab``'s hosts in process."""
    from plugins.hyperv.transport import register_transport
    from provider.contracts.connection import FabricConnection

    def factory(connection: FabricConnection) -> InProcessTransport:
        host = lab.find_host(connection.address)
        if host is None:
            raise FabricUnreachable(
                f"no fake Hyper-V host answers at {connection.address!r} (transport {name!r})"
            )
        return InProcessTransport(host)

    register_transport(name, factory)
