"""Several fake WinRM hosts at once, one server (and one port) per host name."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import Self

from fakes.winrm.backend import CommandBackend
from fakes.winrm.server import WinRMServer
from fakes.winrm.stats import StatsSnapshot
from provider.errors import ConfigurationError, NotFound


class WinRMLab:
    """Fake hosts sharing one backend, which tells them apart by ``CommandRequest.host``.

    Every host serves the same ``users``, ``auth`` schemes and ``tls`` choice::

        with WinRMLab(backend, ["hv01", "hv02"], users={"admin": "pw"}) as lab:
            winrm.Session(lab["hv02"].endpoint, auth=("admin", "pw")).run_ps("Get-VM")
    """

    def __init__(
        self,
        backend: CommandBackend,
        host_names: Iterable[str],
        *,
        users: Mapping[str, str],
        auth: Iterable[str] = ("basic", "ntlm"),
        tls: bool = False,
    ) -> None:
        names = list(host_names)
        if len(set(names)) != len(names) or not names:
            raise ConfigurationError(f"a WinRM lab needs distinct host names, got {names}")
        schemes = tuple(auth)
        self._servers = {
            name: WinRMServer(backend, users=users, auth=schemes, tls=tls, host_name=name)
            for name in names
        }

    def start(self) -> Self:
        """Start every host; if one fails, the ones already started are stopped."""
        try:
            for server in self._servers.values():
                server.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()

    def __getitem__(self, host_name: str) -> WinRMServer:
        try:
            return self._servers[host_name]
        except KeyError:
            raise NotFound(f"no fake WinRM host named {host_name!r} in this lab") from None

    def __iter__(self) -> Iterator[WinRMServer]:
        return iter(self._servers.values())

    def endpoints(self) -> dict[str, str]:
        """Host name to WS-Management end point."""
        return {name: server.endpoint for name, server in self._servers.items()}

    def stats(self) -> dict[str, StatsSnapshot]:
        return {name: server.stats.snapshot() for name, server in self._servers.items()}

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
