"""Fixtures for the hyperv plugin against the fake hosts, in process and over loopback WinRM.

``hyperv_connection`` is parametrized over the transports, so every plugin
test that takes it runs three times: in process (``fake-inprocess``), and
with real pywinrm over the loopback WinRM server with Basic and with NTLM.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from fakes.hyperv import HyperVLab, install_inprocess_transport, start_winrm_lab
from fakes.hyperv.backend import ServedLab
from plugins.hyperv import plugin
from plugins.hyperv.transport import unregister_transport
from provider.contracts.connection import FabricConnection, Secret
from tests.plugins.hyperv.hvplugin_testkit import Connect

TRANSPORTS = ("fake-inprocess", "winrm-basic", "winrm-ntlm")
_FABRIC_IDS = itertools.count(1)


@pytest.fixture
def lab() -> HyperVLab:
    """Two hosts, each with a switch named LAN."""
    lab = HyperVLab(seed=5)
    for name in ("hv01", "hv02"):
        lab.add_host(name).add_switch("LAN")
    return lab


@pytest.fixture(params=TRANSPORTS)
def transport_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def served(lab: HyperVLab, transport_name: str) -> Iterator[ServedLab | None]:
    """The lab's hosts over loopback WinRM (None for the in-process transport)."""
    if transport_name == "fake-inprocess":
        install_inprocess_transport(lab)
        yield None
        unregister_transport("fake-inprocess")
        return
    with start_winrm_lab(lab) as running:
        yield running


@pytest.fixture
def connect(lab: HyperVLab, transport_name: str, served: ServedLab | None) -> Iterator[Connect]:
    """Make connections to lab hosts; every one is disconnected (client dropped) at teardown."""
    made: list[FabricConnection] = []

    def make(host: str, *, password: str | None = None, **options: str) -> FabricConnection:
        options.setdefault("retry_wait", "0")
        if served is None:
            address, user, secret = host, "", ""
            options.setdefault("transport", "fake-inprocess")
        else:
            address, (user, secret) = served.endpoint(host), served.credentials
            options.setdefault("transport", transport_name.removeprefix("winrm-"))
        secret = secret if password is None else password
        fabric_id = f"fabric-{next(_FABRIC_IDS)}"
        connection = FabricConnection(
            fabric_id, "hyperv", address, user, Secret(secret), tuple(options.items())
        )
        made.append(connection)
        return connection

    yield make
    for connection in made:
        plugin.srp_disconnect(connection)


@pytest.fixture
def hyperv_connection(connect: Connect) -> FabricConnection:
    """A connection to host hv01 over the transport under test."""
    return connect("hv01")
