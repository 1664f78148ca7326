"""The vmware plugin's ``physical`` kind against a mobility service (loopback and in process)."""

from __future__ import annotations

import hashlib

import pytest

from fakes.mobility import MobilityApi, PhysicalServer
from fakes.workload import write_pattern
from plugins.vmware import plugin
from provider.contracts.connection import FabricConnection, Secret
from provider.contracts.replica import ChangeMode, Cut, CutRequest, DiskMarker
from provider.errors import AuthenticationFailed, FabricUnreachable, NotSupported
from provider.model.inventory import Machine
from provider.model.recovery import Consistency
from tests.plugins.vmware.conftest import MIB

Served = tuple[MobilityApi, FabricConnection]


def machine_of(connection: FabricConnection) -> Machine:
    (machine,) = plugin.srp_discover(connection).machines
    return machine


def cut_of(
    connection: FabricConnection,
    machine: Machine,
    cut_id: str,
    previous: str = "",
    consistency: Consistency = Consistency.CRASH,
) -> Cut:
    markers = tuple(DiskMarker(machine.machine_id, d.disk_id, previous) for d in machine.disks)
    return plugin.srp_capture_cut(connection, CutRequest(cut_id, (machine,), markers, consistency))


def test_identity_and_discovery(mobility: Served, physical_server: PhysicalServer) -> None:
    _, connection = mobility
    identity = plugin.srp_connect(connection)
    assert (identity.name, identity.kind, identity.server_id, identity.version) == (
        "db-phys01",
        "physical",
        physical_server.server_id,
        "9.60.1.0",
    )
    machine = machine_of(connection)
    assert (machine.machine_id, machine.name, machine.physical) == (
        physical_server.server_id,
        "db-phys01",
        True,
    )
    assert [(d.disk_id, d.capacity) for d in machine.disks] == [
        ("physicaldrive0", 2 * MIB),
        ("physicaldrive1", MIB),
    ]
    assert [(n.nic_id, n.network_id) for n in machine.nics] == [("nic0", "Corp-LAN")]


def test_full_then_incremental_cuts_read_the_bytes_at_the_cut(
    mobility: Served, physical_server: PhysicalServer
) -> None:
    _, connection = mobility
    machine = machine_of(connection)
    disk = physical_server.disks[0]
    plugin.srp_enable_tracking(connection, machine)
    written = write_pattern(disk, 8192, 100, seed=1)
    first = cut_of(connection, machine, "c1")
    disk.write(8192, b"after")
    assert first.disk(machine.machine_id, "physicaldrive0").mode is ChangeMode.FULL
    (piece,) = plugin.srp_read_extents(
        connection, first, machine.machine_id, "physicaldrive0", [(8192, 100)]
    )
    assert piece.data == written
    plugin.srp_release_cut(connection, first, True)
    second = cut_of(connection, machine, "c2", previous="c1")
    changes = second.disk(machine.machine_id, "physicaldrive0")
    assert (changes.mode, changes.extents) == (ChangeMode.INCREMENTAL, ((8192, 4096),))
    plugin.srp_release_cut(connection, second, True)
    assert physical_server.service.open_cuts == []


def test_app_cut_quiesces_or_falls_back_with_a_note(
    mobility: Served, physical_server: PhysicalServer
) -> None:
    _, connection = mobility
    machine = machine_of(connection)
    plugin.srp_enable_tracking(connection, machine)
    cut = cut_of(connection, machine, "a1", consistency=Consistency.APP)
    assert (cut.consistency, cut.note) == (Consistency.APP, "")
    plugin.srp_release_cut(connection, cut, True)
    physical_server.faults.vss_failure = "writer failed"
    cut = cut_of(connection, machine, "a2", previous="a1", consistency=Consistency.APP)
    assert (cut.consistency, cut.note) == (
        Consistency.CRASH,
        "VSS quiesce failed on db-phys01: writer failed",
    )


def test_a_crash_makes_the_next_cut_a_resync(
    mobility: Served, physical_server: PhysicalServer
) -> None:
    _, connection = mobility
    machine = machine_of(connection)
    plugin.srp_enable_tracking(connection, machine)
    plugin.srp_release_cut(connection, cut_of(connection, machine, "c1"), True)
    physical_server.crash()
    cut = cut_of(connection, machine, "c2", previous="c1")
    changes = cut.disk(machine.machine_id, "physicaldrive1")
    assert (changes.mode, changes.reason) == (
        ChangeMode.RESYNC,
        "the disk was stopped uncleanly; change tracking restarted",
    )


def test_block_digests_are_computed_by_the_agent(
    mobility: Served, physical_server: PhysicalServer
) -> None:
    _, connection = mobility
    machine = machine_of(connection)
    plugin.srp_enable_tracking(connection, machine)
    write_pattern(physical_server.disks[1], 70_000, 300, seed=3)
    expected = physical_server.disks[1].read(0, MIB)
    cut = cut_of(connection, machine, "d1")
    digests = list(
        plugin.srp_block_digests(connection, cut, machine.machine_id, "physicaldrive1", 65536)
    )
    assert [(d.offset, d.digest) for d in digests] == [
        (o, hashlib.sha256(expected[o : o + 65536]).digest()) for o in range(0, MIB, 65536)
    ]


def test_unavailable_agent_is_retried_then_unreachable(
    mobility: Served, physical_server: PhysicalServer
) -> None:
    _, connection = mobility
    physical_server.faults.unavailable_calls = 2
    assert machine_of(connection).name == "db-phys01"
    physical_server.faults.unavailable_calls = 10
    with pytest.raises(FabricUnreachable) as raised:
        plugin.srp_discover(connection)
    assert raised.value.message == (
        f"mobility service on {connection.address}: describe the server: HTTP 503: "
        "The mobility service is restarting."
    )


def test_refused_passphrase(mobility: Served) -> None:
    _, good = mobility
    bad = FabricConnection(
        "fab-bad", "physical", good.address, good.username, Secret("nope"), good.options
    )
    with pytest.raises(AuthenticationFailed) as raised:
        plugin.srp_discover(bad)
    plugin.srp_disconnect(bad)
    assert raised.value.message == (
        f"mobility service on {good.address}: describe the server: the mobility service refused "
        "the credentials"
    )


def test_no_planned_failover_for_physical_servers(mobility: Served) -> None:
    _, connection = mobility
    machine = machine_of(connection)
    with pytest.raises(NotSupported) as raised:
        plugin.srp_prepare_failover(connection, machine)
    assert raised.value.message == (
        "physical server db-phys01: planned failover is not supported for physical servers; "
        "use unplanned failover"
    )
