"""Fixtures: the S5 lab's CX served on loopback (HTTP and HTTPS), and connections to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from fakes.inmage import CxServer, serve_cx
from fakes.inmage.lab import S5Lab, build_s5_lab
from plugins.inmage import plugin
from provider.contracts.connection import FabricConnection, Secret, TargetConnection
from provider.pluginmanager import PluginManager

Connect = Callable[..., FabricConnection]
Target = Callable[..., TargetConnection]


@pytest.fixture
def lab() -> S5Lab:
    return build_s5_lab()


@pytest.fixture(params=["http", "https"])
def server(request: pytest.FixtureRequest, lab: S5Lab) -> Iterator[CxServer]:
    with serve_cx(lab.cx, tls=request.param == "https") as served:
        yield served


def _options(server: CxServer, **extra: str) -> tuple[tuple[str, str], ...]:
    options = {"transport": "https" if server.tls else "http", "retry_wait": "0"}
    if server.tls:
        options["ca_trust_path"] = str(server.ca_cert)
    options.update(extra)
    return tuple(options.items())


@pytest.fixture
def connect(server: CxServer, lab: S5Lab) -> Iterator[Connect]:
    made: list[FabricConnection] = []

    def make(passphrase: str | None = None, **options: str) -> FabricConnection:
        secret = Secret(lab.cx.passphrase if passphrase is None else passphrase)
        connection = FabricConnection(
            f"cx-{len(made)}", "inmage", server.address, "srp", secret, _options(server, **options)
        )
        made.append(connection)
        return connection

    yield make
    for connection in made:
        plugin.srp_disconnect(connection)


@pytest.fixture
def target(server: CxServer, lab: S5Lab) -> Iterator[Target]:
    made: list[TargetConnection] = []

    def make(process_server: str = "ps01", master_target: str = "mt01") -> TargetConnection:
        options = _options(server, process_server=process_server, master_target=master_target)
        connection = TargetConnection(
            f"site-{len(made)}", "inmage-site", server.address, Secret(lab.cx.passphrase), options
        )
        made.append(connection)
        return connection

    yield make
    for connection in made:
        plugin.CLIENTS.drop(connection.target_id)


@pytest.fixture
def plugins() -> PluginManager:
    manager = PluginManager()
    manager.register(plugin, name="inmage")
    return manager
