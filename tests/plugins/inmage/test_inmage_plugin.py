"""The inmage plugin against the simulated CX over loopback HTTP and HTTPS: connect, discover."""

from __future__ import annotations

import importlib.metadata
import logging

import pytest

from fakes.inmage import CxServer, serve_cx
from fakes.inmage.lab import MIB, S5Lab
from plugins.inmage import plugin
from plugins.inmage.kinds import INMAGE, INMAGE_SITE
from provider.contracts.connection import FabricConnection, Secret
from provider.contracts.declarations import DataPath, FailoverMode
from provider.errors import (
    AuthenticationFailed,
    ConfigurationError,
    FabricUnreachable,
    HostileResponse,
)
from provider.model.inventory import Host, Network, ProtectionContainer
from provider.pluginmanager import PluginManager

from .conftest import Connect


def test_the_entry_point_loads_the_plugin_with_its_kinds() -> None:
    (entry,) = [e for e in importlib.metadata.entry_points(group="srp") if e.name == "inmage"]
    assert entry.value == "plugins.inmage.plugin"
    assert entry.load() is plugin
    assert plugin.srp_fabric_kinds() == (INMAGE,)
    assert plugin.srp_target_kinds() == (INMAGE_SITE,)
    assert INMAGE_SITE.data_path is DataPath.NATIVE
    assert INMAGE.capabilities.failback_to == ("inmage",)
    assert INMAGE_SITE.failover_modes == (
        FailoverMode.TEST,
        FailoverMode.UNPLANNED,
        FailoverMode.FAILBACK,
    )


def test_connect_says_what_the_cx_is(plugins: PluginManager, connect: Connect, lab: S5Lab) -> None:
    identity = plugins.connect(connect())
    assert (identity.name, identity.kind, identity.version, identity.server_id) == (
        "cs01.dr.lab",
        "inmage",
        "9.55.1.0",
        lab.cx.host_id,
    )


def test_discovery_lists_sources_and_components_in_three_calls(
    plugins: PluginManager, connect: Connect, lab: S5Lab, server: CxServer
) -> None:
    inventory = plugins.discover(connect())
    assert server.api.calls == ["ListScoutComponents", "InfrastructureDiscovery", "GetHostInfo"]
    by_name = {m.name: m for m in inventory.machines}
    assert sorted(by_name) == ["app01", "db01", "web01"]
    web = by_name["web01"]
    vm = lab.vcenter.vm_named("web01")
    assert web.machine_id == lab.cx.host_named("web01").host_id
    assert [(d.disk_id, d.capacity) for d in web.disks] == [
        (f"{vm.moid}-2000", MIB),
        (f"{vm.moid}-2001", MIB // 2),
    ]
    network_id = f"vcsa01.lab.local:{vm.nics[0].network.moid}"
    assert [(n.nic_id, n.network_id, n.mac) for n in web.nics] == [
        ("nic-4000", network_id, vm.nics[0].mac)
    ]
    assert (web.container_id, web.physical, web.cpu_count, web.power_state) == (
        f"vcsa01.lab.local:{vm.datacenter.moid}",
        False,
        2,
        "running",
    )
    db = by_name["db01"]
    assert (db.container_id, db.physical, [d.disk_id for d in db.disks]) == (
        "physical",
        True,
        ["physicaldrive0"],
    )
    assert db.nics[0].ip_addresses == lab.physical.nics[0].ip_addresses
    assert inventory.containers == (
        ProtectionContainer(f"vcsa01.lab.local:{vm.datacenter.moid}", "DC1", "datacenter"),
        ProtectionContainer("physical", "Physical servers", "physical"),
    )
    # The physical server's LAN is listed too, so its NIC can be mapped for failover.
    lan = db.nics[0].network_id
    assert inventory.networks == (
        Network(network_id, "VM Network", "port-group"),
        Network(lan, lan, "lan"),
    )
    assert inventory.hosts == (
        Host(lab.ps.host_id, "ps01", "process-server", "9.55.1.0"),
        Host(lab.ps_dr.host_id, "ps-dr", "process-server", "9.55.1.0"),
        Host(lab.mt.host_id, "mt01", "master-target", "9.55.1.0"),
        Host(lab.mt_primary.host_id, "mt-primary", "master-target", "9.55.1.0"),
    )


def test_a_wrong_passphrase_is_refused_and_never_shown(
    plugins: PluginManager, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    connection = connect(passphrase="not-the-passphrase")
    with pytest.raises(AuthenticationFailed) as caught:
        plugins.connect(connection)
    assert caught.value.message.endswith(
        "ListScoutComponents: the CX refused the request signature "
        "(Authentication failed: the access signature does not match.)"
    )
    assert caught.value.hint == "check the CX passphrase the fabric was registered with"
    assert "not-the-passphrase" not in caplog.text + repr(connection) + str(caught.value)


@pytest.mark.parametrize("payload", ["entity-expansion", "external-entity"])
def test_a_response_with_a_dtd_is_refused(
    plugins: PluginManager, connect: Connect, lab: S5Lab, server: CxServer, payload: str
) -> None:
    lab.cx.faults.hostile_response = payload
    with pytest.raises(HostileResponse) as caught:
        plugins.connect(connect())
    assert caught.value.message == (
        f"CX {server.address}: ListScoutComponents: "
        "the answer carries a DTD (DOCTYPE or ENTITY); refused"
    )


def test_a_cx_that_is_gone_is_unreachable_after_the_retries(
    plugins: PluginManager, lab: S5Lab
) -> None:
    served = serve_cx(lab.cx)
    options = (("transport", "http"), ("retry_attempts", "2"), ("retry_wait", "0"))
    connection = FabricConnection(
        "cx-gone", "inmage", served.address, "srp", Secret(lab.cx.passphrase), options
    )
    served.stop()
    try:
        with pytest.raises(FabricUnreachable, match=f"CX {served.address}: ListScoutComponents: "):
            plugins.discover(connection)
    finally:
        plugin.srp_disconnect(connection)


def test_a_missing_ca_bundle_is_a_configuration_error(
    plugins: PluginManager, connect: Connect, server: CxServer
) -> None:
    if not server.tls:
        pytest.skip("a CA bundle matters over HTTPS only")
    with pytest.raises(ConfigurationError, match=r"cannot load the CA bundle '/nonexistent\.pem'"):
        plugins.connect(connect(ca_trust_path="/nonexistent.pem"))


def test_https_refuses_a_certificate_it_cannot_verify(lab: S5Lab, plugins: PluginManager) -> None:
    with serve_cx(lab.cx, tls=True) as served:
        connection = FabricConnection(
            "cx-untrusted",
            "inmage",
            served.address,
            "srp",
            Secret(lab.cx.passphrase),
            (("retry_attempts", "1"),),
        )
        try:
            with pytest.raises(FabricUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
                plugins.connect(connection)
        finally:
            plugin.srp_disconnect(connection)
