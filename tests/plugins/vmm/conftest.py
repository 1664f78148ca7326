"""Fixtures for the vmm plugin against the fake VMM lab, in process and over loopback WinRM.

``transport_name`` is parametrized, so every test that takes ``connect``
runs three times: in process (``fake-vmm-inprocess``), and with real pywinrm
over the loopback WinRM server with Basic and with NTLM. Over WinRM the
hosts are reached through ``host_endpoints`` (each fake machine has its own
loopback port).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from fakes.hyperv.backend import ServedLab
from fakes.vmm import VmmLab, install_inprocess_transport, start_winrm_lab
from fakes.vmm.samples import build_cloud_lab
from plugins.hyperv.transport import unregister_transport
from plugins.vmm import plugin
from provider.contracts.connection import FabricConnection, Secret
from tests.plugins.vmm.vmmplugin_testkit import Connect

TRANSPORTS = ("fake-vmm-inprocess", "winrm-basic", "winrm-ntlm")
_FABRIC_IDS = itertools.count(1)


@pytest.fixture
def lab() -> VmmLab:
    return build_cloud_lab(seed=9)


@pytest.fixture(params=TRANSPORTS)
def transport_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def served(lab: VmmLab, transport_name: str) -> Iterator[ServedLab | None]:
    """The lab's VMM server and hosts over loopback WinRM (None in process)."""
    if transport_name == "fake-vmm-inprocess":
        install_inprocess_transport(lab)
        yield None
        unregister_transport("fake-vmm-inprocess")
        return
    with start_winrm_lab(lab) as running:
        yield running


@pytest.fixture
def connect(lab: VmmLab, transport_name: str, served: ServedLab | None) -> Iterator[Connect]:
    """Make connections to the VMM server; every one is disconnected at teardown."""
    made: list[FabricConnection] = []

    def make(
        address: str = "vmm01", *, password: str | None = None, **options: str
    ) -> FabricConnection:
        options.setdefault("retry_wait", "0")
        if served is None:
            user, secret = "", ""
            options.setdefault("transport", "fake-vmm-inprocess")
        else:
            user, secret = served.credentials
            endpoints = {host.name: served.endpoint(host.name) for host in lab.hyperv.hosts}
            endpoints.update(_overrides(options.get("host_endpoints", "")))
            options["host_endpoints"] = ",".join(f"{k}={v}" for k, v in endpoints.items())
            options.setdefault("transport", transport_name.removeprefix("winrm-"))
            options.setdefault("vmm_server", address)
            address = served.endpoint(address)
        connection = FabricConnection(
            f"vmm-{next(_FABRIC_IDS)}",
            "vmm",
            address,
            user,
            Secret(secret if password is None else password),
            tuple(options.items()),
        )
        made.append(connection)
        return connection

    yield make
    for connection in made:
        plugin.srp_disconnect(connection)


def _overrides(raw: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in raw.split(",") if item)
