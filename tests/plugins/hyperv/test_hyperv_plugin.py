"""The hyperv plugin's hooks against fake hosts, in process and over WinRM (Basic, NTLM)."""

from __future__ import annotations

import hashlib

from fakes.hyperv import HyperVHost, HyperVLab, SwitchType, VirtualMachine
from fakes.hyperv.backend import ServedLab
from plugins.hyperv import plugin
from plugins.hyperv.kinds import HYPERV, HYPERV_REPLICA
from provider.contracts.connection import FabricConnection, FabricIdentity
from provider.contracts.declarations import DataPath, FailoverMode
from provider.contracts.failover import PreparedSource
from provider.contracts.replica import ChangeMode, CutRequest, DiskMarker
from provider.model.inventory import (
    Disk,
    Host,
    Inventory,
    Machine,
    Network,
    Nic,
    ProtectionContainer,
)
from provider.model.recovery import Consistency
from tests.plugins.hyperv.hvplugin_testkit import Connect

MIB = 1 << 20


def expected_machine(vm: VirtualMachine, container: str = "hv01") -> Machine:
    """The Machine discovery must report for a fake VM, built from the fake's own model."""
    lan = {switch.name: str(switch.id) for switch in vm.host.switches}
    return Machine(
        machine_id=vm.vm_id,
        name=vm.name,
        container_id=container,
        disks=tuple(
            Disk(d.vhd.disk.disk_id, d.vhd.path.rsplit("\\", 1)[-1], d.vhd.size, d.vhd.path)
            for d in vm.drives
        ),
        nics=tuple(
            Nic(
                a.adapter_id.rsplit("\\", 1)[-1],
                lan.get(a.switch_name or "", ""),
                a.mac_address,
                a.ip_addresses if vm.state.name == "Running" else (),
            )
            for a in vm.adapters
        ),
        host=vm.host.name,
        power_state=vm.state.name.lower(),
        cpu_count=vm.processor_count,
        memory_mib=vm.memory_startup // MIB,
    )


def test_declarations() -> None:
    assert plugin.srp_fabric_kinds() == (HYPERV,)
    assert HYPERV.capabilities.copy_frequencies == (30, 300, 900)
    assert HYPERV.capabilities.failover_modes == tuple(FailoverMode)
    assert HYPERV.capabilities.failback_to == ("hyperv",)
    assert plugin.srp_target_kinds() == (HYPERV_REPLICA,)
    assert HYPERV_REPLICA.data_path is DataPath.NATIVE


def test_connect_reports_the_host(hyperv_connection: FabricConnection) -> None:
    assert plugin.srp_connect(hyperv_connection) == FabricIdentity(
        "hv01", "hyperv", "10.0.20348.0", "hv01.srp.test"
    )


def test_discovery_is_exact_and_takes_one_round_trip(
    lab: HyperVLab, hyperv_connection: FabricConnection
) -> None:
    host = lab.host("hv01")
    host.add_switch("Isolated", switch_type=SwitchType.Private)
    web = host.create_vm("web", disks=[MIB, 2 * MIB], switch="LAN", running=True)
    db = host.create_vm("db", disks=[MIB], adapters=["Isolated", None], processors=4)
    scripts_before = len(host.script_log)
    inventory = plugin.srp_discover(hyperv_connection)
    assert len(host.script_log) == scripts_before + 1
    assert inventory == Inventory(
        containers=(ProtectionContainer("hv01", "hv01", "host"),),
        machines=(expected_machine(web), expected_machine(db)),
        networks=tuple(
            Network(str(s.id), s.name, "switch", s.name == "Isolated") for s in host.switches
        ),
        hosts=(Host("hv01", "hv01", "hypervisor", "10.0.20348.0"),),
    )


def test_site_option_names_the_container(lab: HyperVLab, connect: Connect) -> None:
    lab.host("hv01").create_vm("web")
    connection = connect("hv01", site="Site-A")
    inventory = plugin.srp_discover(connection)
    assert inventory.containers == (ProtectionContainer("Site-A", "Site-A", "site"),)
    assert inventory.machines[0].container_id == "Site-A"


def discover_one(connection: FabricConnection, name: str) -> Machine:
    inventory = plugin.srp_discover(connection)
    return next(machine for machine in inventory.machines if machine.name == name)


def disk_bytes_at(vm: VirtualMachine, index: int) -> bytes:
    disk = vm.disks[index]
    return disk.read(0, disk.capacity)


def test_cut_and_read_are_byte_exact_even_after_later_writes(
    lab: HyperVLab, hyperv_connection: FabricConnection
) -> None:
    vm = lab.host("hv01").create_vm("app", disks=[MIB, 2 * MIB], running=True)
    vm.disks[0].write(4096, b"boot sector" * 100)
    vm.disks[1].write(MIB + 512, b"\x00\xffdata" * 300)
    machine = discover_one(hyperv_connection, "app")
    tracking = plugin.srp_enable_tracking(hyperv_connection, machine)
    assert tracking.disks == tuple(disk.disk_id for disk in machine.disks)
    assert plugin.srp_enable_tracking(hyperv_connection, machine) == tracking

    full = plugin.srp_capture_cut(hyperv_connection, CutRequest("cut-1", (machine,), ()))
    at_cut = [disk_bytes_at(vm, 0), disk_bytes_at(vm, 1)]
    vm.disks[0].write(4096, b"LATER" * 10)  # after the cut: must not be seen in it
    assert [d.mode for d in full.disks] == [ChangeMode.FULL, ChangeMode.FULL]
    for index, changes in enumerate(full.disks):
        image = bytearray(changes.capacity)
        for extent in plugin.srp_read_extents(
            hyperv_connection, full, changes.machine_id, changes.disk_id, changes.extents
        ):
            image[extent.offset : extent.offset + len(extent.data)] = extent.data
        assert bytes(image) == at_cut[index]
    plugin.srp_release_cut(hyperv_connection, full, True)

    previous = tuple(DiskMarker(machine.machine_id, d.disk_id, "cut-1") for d in machine.disks)
    delta = plugin.srp_capture_cut(
        hyperv_connection, CutRequest("cut-2", (machine,), previous, Consistency.APP)
    )
    assert delta.consistency is Consistency.APP
    first = delta.disk(machine.machine_id, machine.disks[0].disk_id)
    assert (first.mode, first.extents) == (ChangeMode.INCREMENTAL, ((4096, 4096),))
    assert delta.disk(machine.machine_id, machine.disks[1].disk_id).extents == ()
    data = list(
        plugin.srp_read_extents(
            hyperv_connection, delta, machine.machine_id, first.disk_id, first.extents
        )
    )
    assert [(item.offset, item.data) for item in data] == [(4096, vm.disks[0].read(4096, 4096))]
    plugin.srp_release_cut(hyperv_connection, delta, True)


def test_unconfirmed_cut_carries_its_changes_into_the_next(
    lab: HyperVLab, hyperv_connection: FabricConnection
) -> None:
    vm = lab.host("hv01").create_vm("app", disks=[MIB], running=True)
    machine = discover_one(hyperv_connection, "app")
    plugin.srp_enable_tracking(hyperv_connection, machine)
    full = plugin.srp_capture_cut(hyperv_connection, CutRequest("cut-1", (machine,), ()))
    plugin.srp_release_cut(hyperv_connection, full, True)
    previous = (DiskMarker(machine.machine_id, machine.disks[0].disk_id, "cut-1"),)
    vm.disks[0].write(8192, b"first")
    abandoned = plugin.srp_capture_cut(hyperv_connection, CutRequest("cut-2", (machine,), previous))
    plugin.srp_release_cut(hyperv_connection, abandoned, False)
    vm.disks[0].write(65536, b"second")
    retry = plugin.srp_capture_cut(hyperv_connection, CutRequest("cut-3", (machine,), previous))
    (changes,) = retry.disks
    assert (changes.mode, changes.extents) == (
        ChangeMode.INCREMENTAL,
        ((8192, 4096), (65536, 4096)),
    )
    assert [command for command in lab.host("hv01").commands_run() if "SrpCut" in command][-2:] == [
        "Remove-SrpCut",
        "New-SrpCut",
    ]
    plugin.srp_release_cut(hyperv_connection, retry, True)


def test_block_digests_match_the_disk(lab: HyperVLab, hyperv_connection: FabricConnection) -> None:
    vm = lab.host("hv01").create_vm("app", disks=[MIB])
    vm.disks[0].write(70_000, b"x" * 5000)
    machine = discover_one(hyperv_connection, "app")
    plugin.srp_enable_tracking(hyperv_connection, machine)
    cut = plugin.srp_capture_cut(hyperv_connection, CutRequest("c1", (machine,), ()))
    vm.disks[0].write(0, b"after the cut")
    digests = list(
        plugin.srp_block_digests(
            hyperv_connection, cut, machine.machine_id, machine.disks[0].disk_id, 65536
        )
    )
    content = bytearray(MIB)
    content[70_000:75_000] = b"x" * 5000
    assert [(d.offset, d.digest) for d in digests] == [
        (offset, hashlib.sha256(content[offset : offset + 65536]).digest())
        for offset in range(0, MIB, 65536)
    ]


def test_vss_failure_gives_a_crash_cut_with_a_note(
    lab: HyperVLab, hyperv_connection: FabricConnection
) -> None:
    host = lab.host("hv01")
    host.create_vm("app", running=True)
    host.faults.vss_failure = "writer timed out"
    machine = discover_one(hyperv_connection, "app")
    plugin.srp_enable_tracking(hyperv_connection, machine)
    cut = plugin.srp_capture_cut(
        hyperv_connection, CutRequest("c1", (machine,), (), Consistency.APP)
    )
    assert (cut.consistency, cut.note) == (
        Consistency.CRASH,
        "VSS quiesce failed: writer timed out",
    )


def test_lost_tracking_reports_resync_with_the_reason(
    lab: HyperVLab, hyperv_connection: FabricConnection
) -> None:
    host = lab.host("hv01")
    host.create_vm("app")
    machine = discover_one(hyperv_connection, "app")
    plugin.srp_enable_tracking(hyperv_connection, machine)
    first = plugin.srp_capture_cut(hyperv_connection, CutRequest("c1", (machine,), ()))
    plugin.srp_release_cut(hyperv_connection, first, True)
    host.lose_tracking("app")
    marker = (DiskMarker(machine.machine_id, machine.disks[0].disk_id, "c1"),)
    cut = plugin.srp_capture_cut(hyperv_connection, CutRequest("c2", (machine,), marker))
    assert cut.disks[0].mode is ChangeMode.RESYNC
    assert cut.disks[0].reason == "resilient change tracking was lost"


def test_group_cut_spans_machines(lab: HyperVLab, hyperv_connection: FabricConnection) -> None:
    host = lab.host("hv01")
    host.create_vm("a", disks=[MIB])
    host.create_vm("b", disks=[MIB, MIB])
    inventory = plugin.srp_discover(hyperv_connection)
    for machine in inventory.machines:
        plugin.srp_enable_tracking(hyperv_connection, machine)
    cut = plugin.srp_capture_cut(hyperv_connection, CutRequest("g1", inventory.machines, ()))
    assert [(d.machine_id, d.disk_id) for d in cut.disks] == [
        (m.machine_id, d.disk_id) for m in inventory.machines for d in m.disks
    ]


def test_prepare_failover_and_resume(lab: HyperVLab, hyperv_connection: FabricConnection) -> None:
    vm = lab.host("hv01").create_vm("app", running=True)
    machine = discover_one(hyperv_connection, "app")
    assert plugin.srp_prepare_failover(hyperv_connection, machine) == PreparedSource(
        vm.vm_id, "off"
    )
    assert vm.state.name == "Off"
    assert plugin.srp_prepare_failover(hyperv_connection, machine) == PreparedSource(
        vm.vm_id, "off"
    )
    plugin.srp_resume_source(hyperv_connection, machine)
    plugin.srp_resume_source(hyperv_connection, machine)
    assert vm.state.name == "Running"


def test_disable_tracking_tolerates_off_and_gone(
    lab: HyperVLab, hyperv_connection: FabricConnection
) -> None:
    host: HyperVHost = lab.host("hv01")
    host.create_vm("app")
    machine = discover_one(hyperv_connection, "app")
    plugin.srp_enable_tracking(hyperv_connection, machine)
    plugin.srp_disable_tracking(hyperv_connection, machine)
    assert not host.agent.is_tracking(host.vm("app"))
    plugin.srp_disable_tracking(hyperv_connection, machine)
    host.remove_vm("app")
    plugin.srp_disable_tracking(hyperv_connection, machine)


def test_clients_are_cached_until_disconnect(hyperv_connection: FabricConnection) -> None:
    client = plugin.CLIENTS.get(hyperv_connection)
    plugin.srp_connect(hyperv_connection)
    assert plugin.CLIENTS.get(hyperv_connection) is client
    plugin.srp_disconnect(hyperv_connection)
    assert plugin.CLIENTS.get(hyperv_connection) is not client


def test_ntlm_runs_sealed(
    transport_name: str, served: ServedLab | None, hyperv_connection: FabricConnection
) -> None:
    plugin.srp_connect(hyperv_connection)
    if served is None:
        return
    stats = served.winrm["hv01"].stats.snapshot()
    assert stats.commands_run == 1
    assert (stats.sealed_messages > 0) == (transport_name == "winrm-ntlm")
