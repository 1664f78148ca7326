"""A lab of fake VMM servers over one Hyper-V lab (shared clock, seed, lock and hosts)."""

from __future__ import annotations

from fakes.hyperv.host import HyperVHost
from fakes.hyperv.site import HyperVLab
from fakes.vmm.server import DEFAULT_PORT, VmmServer
from provider.errors import AlreadyExists, NotFound


class VmmLab:
    """VMM servers by name, FQDN or address, managing hosts of :attr:`hyperv`."""

    def __init__(self, hyperv: HyperVLab | None = None) -> None:
        self.hyperv = hyperv or HyperVLab()
        self.servers: list[VmmServer] = []

    def __repr__(self) -> str:
        return f"VmmLab(servers={[server.name for server in self.servers]})"

    def add_server(
        self,
        name: str,
        *,
        address: str | None = None,
        fqdn: str | None = None,
        port: int = DEFAULT_PORT,
    ) -> VmmServer:
        """Create a VMM server; its address defaults to its name, its FQDN to ``name.domain``."""
        if self.find_server(name) is not None or self.hyperv.find_host(name) is not None:
            raise AlreadyExists(f"the lab already has a machine named {name!r}")
        server = VmmServer(
            self,
            name,
            address=address or name,
            fqdn=fqdn or f"{name}.{self.hyperv.domain}",
            port=port,
        )
        self.servers.append(server)
        return server

    def find_server(self, key: str) -> VmmServer | None:
        """The server whose name, FQDN or address is ``key`` (no case), or ``None``."""
        lowered = key.strip().lower()
        for server in self.servers:
            if lowered in (server.name.lower(), server.fqdn.lower(), server.address.lower()):
                return server
        return None

    def server(self, key: str) -> VmmServer:
        found = self.find_server(key)
        if found is None:
            raise NotFound(f"no fake VMM server named {key!r} in this lab")
        return found

    def find_machine(self, key: str) -> VmmServer | HyperVHost | None:
        """A VMM server or a Hyper-V host answering to ``key`` (what a WinRM client reaches)."""
        return self.find_server(key) or self.hyperv.find_host(key)

    def machine_names(self) -> list[str]:
        """Every VMM server and Hyper-V host name (one WinRM endpoint each)."""
        return [server.name for server in self.servers] + [h.name for h in self.hyperv.hosts]
