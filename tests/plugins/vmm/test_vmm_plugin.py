"""The vmm plugin against the fake VMM lab: registration, discovery, cloud facts, replica sync.

Each test runs in process and over loopback WinRM with Basic and NTLM.
"""

from __future__ import annotations

import hashlib

import pytest

from fakes.hyperv.backend import ServedLab
from fakes.vmm import VmmLab
from plugins.vmm import plugin
from provider.contracts.replica import ChangeMode, CutRequest, DiskMarker
from provider.errors import (
    FabricUnreachable,
    RemoteCommandFailed,
    WrongFabricKind,
)
from provider.model.inventory import Machine
from provider.model.recovery import Consistency
from tests.plugins.vmm.vmmplugin_testkit import Connect, dead_endpoint


def _machines(lab: VmmLab, connect: Connect) -> dict[str, Machine]:
    inventory = plugin.srp_discover(connect())
    return {machine.name: machine for machine in inventory.machines}


def test_connect_says_it_is_the_vmm_server(connect: Connect) -> None:
    identity = plugin.srp_connect(connect())
    assert (identity.name, identity.kind, identity.version, identity.server_id) == (
        "vmm01",
        "vmm",
        "10.22.1287.0",
        "vmm01.srp.test",
    )


def test_discovery_gives_clouds_their_vms_hosts_and_vm_networks(
    lab: VmmLab, connect: Connect
) -> None:
    server = lab.server("vmm01")
    inventory = plugin.srp_discover(connect())
    clouds = {cloud.name: cloud for cloud in server.clouds}
    assert [(c.container_id, c.name, c.kind) for c in inventory.containers] == [
        (str(clouds[name].id), name, "vmm-cloud") for name in ("Gold", "Silver", "Empty")
    ]
    expected = []
    for vm, managed in server.vms():
        cloud = server.placement(vm).cloud
        if cloud is None:
            continue
        networks = server.placement(vm).networks
        expected.append(
            (
                vm.vm_id,
                vm.name,
                str(cloud.id),
                managed.host.fqdn,
                tuple((d.disk_id, d.capacity) for d in vm.disks),
                tuple(str(networks[a.mac_address].id) for a in vm.adapters),  # type: ignore[union-attr]
            )
        )
    assert [
        (
            m.machine_id,
            m.name,
            m.container_id,
            m.host,
            tuple((d.disk_id, d.capacity) for d in m.disks),
            tuple(n.network_id for n in m.nics),
        )
        for m in inventory.machines
    ] == expected
    assert [(n.network_id, n.name, n.kind) for n in inventory.networks] == [
        (str(n.id), n.name, "vm-network") for n in server.vm_networks
    ]
    assert [(h.host_id, h.name, h.role) for h in inventory.hosts] == [
        ("vmm01.srp.test", "vmm01", "vmm-server"),
        ("hv01.srp.test", "hv01", "hypervisor"),
        ("hv02.srp.test", "hv02", "hypervisor"),
    ]


def test_discovery_round_trips_do_not_grow_with_the_vms(lab: VmmLab, connect: Connect) -> None:
    server = lab.server("vmm01")
    host = lab.hyperv.host("hv01")
    for index in range(6):
        vm = host.create_vm(f"more{index}", switch="LAN")
        server.place_vm(vm, cloud="Gold", networks=["Corp-VMs"])
    connection = connect()
    inventory = plugin.srp_discover(connection)
    assert len(inventory.machines) == 11
    assert len(server.script_log) == 1
    assert len(lab.hyperv.host("hv01").script_log) == 1
    assert len(lab.hyperv.host("hv02").script_log) == 1


def test_cloud_facts_give_vm_networks_per_cloud_and_capacity(lab: VmmLab, connect: Connect) -> None:
    fabric = plugin.vmm_fabric(connect())
    facts = {
        cloud.name: (cloud.has_capacity, tuple(n.name for n in cloud.vm_networks), cloud.hosts)
        for cloud in fabric.clouds
    }
    assert facts == {
        "Gold": (True, ("Corp-VMs", "Dmz-VMs", "Backup"), ("hv01.srp.test", "hv02.srp.test")),
        "Silver": (False, ("Corp-VMs", "Backup"), ("hv01.srp.test", "hv02.srp.test")),
        "Empty": (False, ("Corp-VMs", "Backup"), ()),
    }
    silver = next(cloud for cloud in fabric.clouds if cloud.name == "Silver")
    machines = _machines(lab, connect)
    assert silver.capacity.shortfall([machines["web01"]]) == ("1 virtual machines needed, 0 free")
    assert silver.capacity.free_memory_mb == 4096
    gold = next(cloud for cloud in fabric.clouds if cloud.name == "Gold")
    dmz = next(n for n in fabric.vm_networks if n.name == "Dmz-VMs")
    assert gold.allows_network(dmz.network_id) and not silver.allows_network(dmz.network_id)


def test_an_unreachable_vmm_server_is_a_clear_error(
    lab: VmmLab, connect: Connect, served: ServedLab | None
) -> None:
    connection = connect(retry_attempts="2")
    if served is None:
        lab.server("vmm01").faults.unreachable = True
    else:
        served.winrm["vmm01"].stop()
    with pytest.raises(FabricUnreachable) as raised:
        plugin.srp_discover(connection)
    assert raised.value.message.startswith(f"{connection.address}: Discover-VMM: ")
    assert lab.hyperv.host("hv01").script_log == []


def test_an_error_mid_discovery_fails_it_with_the_vmm_message(
    lab: VmmLab, connect: Connect
) -> None:
    server = lab.server("vmm01")
    server.faults.failing_cmdlets["Get-SCVirtualNetworkAdapter"] = "database timeout"
    connection = connect()
    with pytest.raises(RemoteCommandFailed) as raised:
        plugin.srp_discover(connection)
    assert raised.value.message == (
        f"{connection.address}: Discover-VMM failed: Get-SCVirtualNetworkAdapter : An internal "
        "error has occurred on the VMM management server vmm01: database timeout (Error ID: "
        "2606) Try the operation again. If the problem persists, restart the Virtual Machine "
        "Manager service."
    )
    assert len(server.script_log) == 1
    assert lab.hyperv.host("hv01").script_log == []


def test_a_stopped_vmm_service_is_unreachable_and_retried(lab: VmmLab, connect: Connect) -> None:
    server = lab.server("vmm01")
    server.faults.service_stopped = True
    connection = connect(retry_attempts="3")
    with pytest.raises(FabricUnreachable, match=r"service on that server is not running"):
        plugin.srp_connect(connection)
    assert len(server.script_log) == 3


def test_a_hyperv_host_registered_as_vmm_is_the_wrong_kind(connect: Connect) -> None:
    connection = connect("hv01")
    with pytest.raises(WrongFabricKind, match=r"is not a VMM server: Get-SCVMMServer : The term"):
        plugin.srp_connect(connection)


def test_an_unreachable_host_fails_discovery_naming_the_host(
    lab: VmmLab, connect: Connect, served: ServedLab | None
) -> None:
    connection = connect(host_endpoints=f"hv02={dead_endpoint(served)}", retry_attempts="1")
    with pytest.raises(FabricUnreachable) as raised:
        plugin.srp_discover(connection)
    assert raised.value.message.startswith("VMM host hv02.srp.test: ")


def test_a_cut_across_two_hosts_reads_the_exact_bytes(lab: VmmLab, connect: Connect) -> None:
    connection = connect()
    machines = _machines(lab, connect)
    web, app = machines["web01"], machines["app01"]
    for machine in (web, app):
        info = plugin.srp_enable_tracking(connection, machine)
        assert info.disks == tuple(d.disk_id for d in machine.disks)
    request = CutRequest("cut-1", (web, app), ())
    cut = plugin.srp_capture_cut(connection, request)
    assert [(d.machine_id, d.disk_id, d.mode) for d in cut.disks] == [
        (m.machine_id, disk.disk_id, ChangeMode.FULL) for m in (web, app) for disk in m.disks
    ]
    for changes in cut.disks:
        vm = lab.hyperv.host(_host_of(machines, changes.machine_id)).vm_by_id(changes.machine_id)
        disk = next(d for d in vm.disks if d.disk_id == changes.disk_id)  # type: ignore[union-attr]
        data = plugin.srp_read_extents(
            connection, cut, changes.machine_id, changes.disk_id, changes.extents
        )
        for extent in data:
            assert extent.data == disk.read(extent.offset, len(extent.data))
        digests = list(
            plugin.srp_block_digests(connection, cut, changes.machine_id, changes.disk_id, 65536)
        )
        assert digests[0].digest == hashlib.sha256(disk.read(0, 65536)).digest()
    plugin.srp_release_cut(connection, cut, True)
    lab.hyperv.host("hv02").vm("app01").disks[0].write(8192, b"changed after the cut")
    markers = tuple(DiskMarker(d.machine_id, d.disk_id, "cut-1") for d in cut.disks)
    second = plugin.srp_capture_cut(connection, CutRequest("cut-2", (web, app), markers))
    assert [(d.mode, d.extents) for d in second.disks] == [
        (ChangeMode.INCREMENTAL, ()),
        (ChangeMode.INCREMENTAL, ()),
        (ChangeMode.INCREMENTAL, ((8192, 4096),)),
    ]
    assert second.consistency is Consistency.CRASH
    plugin.srp_release_cut(connection, second, False)


def _host_of(machines: dict[str, Machine], machine_id: str) -> str:
    return next(m.host for m in machines.values() if m.machine_id == machine_id)


def test_a_vm_that_moved_host_is_found_through_vmm(
    lab: VmmLab, connect: Connect, served: ServedLab | None
) -> None:
    connection = connect()
    app = _machines(lab, connect)["app01"]
    plugin.srp_enable_tracking(connection, app)
    first = plugin.srp_capture_cut(connection, CutRequest("cut-1", (app,), ()))
    plugin.srp_release_cut(connection, first, True)
    old = lab.hyperv.host("hv02").remove_vm("app01")
    moved = lab.hyperv.host("hv01").create_vm("app01", disks=(1 << 20,), vm_id=old.id)
    moved.disks[0].write(0, old.disks[0].read(0, 1 << 20))
    markers = tuple(DiskMarker(app.machine_id, d.disk_id, "cut-1") for d in app.disks)
    request = CutRequest("cut-2", (app,), markers)
    with pytest.raises(RemoteCommandFailed) as raised:
        plugin.srp_capture_cut(connection, request)
    # Not found on hv02, VMM says hv01: the agent there has no tracking for the VM yet.
    hv01 = "hv01.srp.test" if served is None else served.endpoint("hv01")
    assert raised.value.message == (
        f"{hv01}: New-SrpCut failed: New-SrpCut : Change tracking is not enabled for "
        "virtual machine 'app01'. Run Enable-SrpChangeTracking first."
    )
    info = plugin.srp_enable_tracking(connection, app)
    cut = plugin.srp_capture_cut(connection, CutRequest("cut-3", (app,), markers))
    # The fake moved the VM with a new VHD (a new disk id), so its copy starts over.
    assert [(d.disk_id, d.mode) for d in cut.disks] == [(info.disks[0], ChangeMode.FULL)]
    plugin.srp_release_cut(connection, cut, False)
    assert lab.hyperv.host("hv01").commands_run().count("New-SrpCut") == 2
