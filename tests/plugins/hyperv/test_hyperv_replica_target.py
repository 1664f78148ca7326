"""The ``hyperv-replica`` target's declaration and network listing (in process and over WinRM)."""

from __future__ import annotations

import pytest

from fakes.hyperv import HyperVLab, SwitchType
from plugins.hyperv import plugin
from plugins.hyperv.kinds import HYPERV_REPLICA
from provider.contracts.connection import TargetConnection
from provider.contracts.declarations import ConnectionParameter, DataPath, TargetKind
from provider.errors import ValidationError
from provider.model.inventory import Network
from tests.plugins.hyperv.hvplugin_testkit import Connect


def replica_server(connect: Connect, host: str = "hv02", **options: str) -> TargetConnection:
    """The host as a hyperv-replica target (its id is the connection's: dropped at teardown)."""
    made = connect(host, **options)
    return TargetConnection(
        made.fabric_id,
        "hyperv-replica",
        made.address,
        made.secret,
        (*made.options, ("username", made.username)),
    )


def test_the_target_is_latest_only_and_names_its_primary_host() -> None:
    parameters = {p.name: p for p in HYPERV_REPLICA.parameters}
    assert HYPERV_REPLICA.latest_only is True
    assert parameters["primary_address"] == ConnectionParameter(
        "primary_address",
        description=(
            "WinRM address of the primary host replicating to this server, used when a "
            "protection names none (same secret and transport options)"
        ),
    )


def test_only_a_native_target_kind_can_be_latest_only() -> None:
    assert TargetKind("native", "N", DataPath.NATIVE, latest_only=True).latest_only
    with pytest.raises(ValidationError) as caught:
        TargetKind("cloudish", "C", latest_only=True)
    assert str(caught.value) == (
        "TargetKind 'cloudish': only a native target can be latest-only "
        "(srp records every point of an HRL target and fails over to any of them)"
    )


def test_target_networks_are_the_replica_servers_switches_private_ones_isolated(
    lab: HyperVLab, connect: Connect
) -> None:
    host = lab.host("hv02")
    isolated = host.add_switch("Drill", switch_type=SwitchType.Private)
    lab.host("hv01").add_switch("Elsewhere", switch_type=SwitchType.Private)
    lan = next(s for s in host.switches if s.name == "LAN")

    networks = plugin.srp_target_networks(replica_server(connect))

    assert networks == (
        Network(str(lan.id), "LAN", "switch", isolated=False),
        Network(str(isolated.id), "Drill", "switch", isolated=True),
    )
