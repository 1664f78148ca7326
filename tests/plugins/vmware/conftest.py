"""Fixtures for the vmware plugin against the simulated vCenter and mobility service.

``transport`` is parametrized: every test that takes ``vc_connection`` runs
over loopback HTTP (the real ``requests`` code through a socket) and in
process (the same code through :class:`fakes.vcenter.AppAdapter`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from fakes.clock import VirtualClock
from fakes.mobility import MobilityApi, PhysicalServer, serve_mobility
from fakes.vcenter import AppAdapter, VCenter, VCenterApi, serve_vcenter
from plugins.vmware import plugin
from plugins.vmware.transport import register_adapter, unregister_adapter
from provider.contracts.connection import FabricConnection, Secret

MIB = 1 << 20
_IDS = itertools.count(1)
Connect = Callable[..., FabricConnection]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def vcenter(clock: VirtualClock) -> VCenter:
    """DC1 with cluster Prod (esx01, esx02), two port groups, three VMs."""
    vc = VCenter(seed=11, clock=clock)
    dc = vc.add_datacenter("DC1")
    dc.add_network("VM Network")
    dc.add_network("DMZ", "DISTRIBUTED_PORTGROUP")
    prod = dc.add_cluster("Prod")
    esx01, esx02 = dc.add_host("esx01.lab", prod), dc.add_host("esx02.lab", prod)
    vc.create_vm("web01", esx01, disks=(2 * MIB, MIB), networks=("VM Network", "DMZ"))
    vc.create_vm("app01", esx01, disks=(MIB,), networks=("VM Network",))
    vc.create_vm("db01", esx02, disks=(MIB,), networks=("VM Network",), power_on=False)
    return vc


@pytest.fixture(params=["http", "inprocess"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def vc_api(vcenter: VCenter, transport: str) -> Iterator[tuple[VCenterApi, str]]:
    """The vCenter's API and the address to register (loopback, or the in-process name)."""
    if transport == "inprocess":
        api = VCenterApi(vcenter)
        register_adapter("fake-vcenter", lambda connection: AppAdapter(api))
        yield api, "vcsa01.lab"
        unregister_adapter("fake-vcenter")
        return
    server, api = serve_vcenter(vcenter)
    with server:
        yield api, server.address


@pytest.fixture
def connect(vcenter: VCenter, vc_api: tuple[VCenterApi, str], transport: str) -> Iterator[Connect]:
    """Make vmware connections; every one is disconnected (logged out) at teardown."""
    made: list[FabricConnection] = []
    _, address = vc_api

    def make(*, password: str | None = None, **options: str) -> FabricConnection:
        user, secret = vcenter.credentials
        options.setdefault("transport", "fake-vcenter" if transport == "inprocess" else "http")
        options.setdefault("retry_wait", "0")
        options.setdefault("task_poll_interval", "0")
        connection = FabricConnection(
            f"fab-{next(_IDS)}",
            "vmware",
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


@pytest.fixture
def vc_connection(connect: Connect) -> FabricConnection:
    return connect()


@pytest.fixture
def physical_server(clock: VirtualClock) -> PhysicalServer:
    return PhysicalServer.build("db-phys01", disks=(2 * MIB, MIB), seed=4, clock=clock)


@pytest.fixture
def mobility(
    physical_server: PhysicalServer, transport: str
) -> Iterator[tuple[MobilityApi, FabricConnection]]:
    """The mobility service (loopback or in process) and a physical connection to it."""
    user, secret = physical_server.credentials
    options = {"retry_wait": "0"}
    if transport == "inprocess":
        api = MobilityApi(physical_server)
        register_adapter("fake-mobility", lambda connection: AppAdapter(api))
        options["transport"] = "fake-mobility"
        connection = FabricConnection(
            f"fab-{next(_IDS)}",
            "physical",
            "db-phys01",
            user,
            Secret(secret),
            tuple(options.items()),
        )
        yield api, connection
        plugin.srp_disconnect(connection)
        unregister_adapter("fake-mobility")
        return
    server, api = serve_mobility(physical_server)
    options["transport"] = "http"
    with server:
        connection = FabricConnection(
            f"fab-{next(_IDS)}",
            "physical",
            server.address,
            user,
            Secret(secret),
            tuple(options.items()),
        )
        yield api, connection
        plugin.srp_disconnect(connection)
