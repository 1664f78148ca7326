"""The vmware plugin against the simulated vCenter, over loopback HTTP and in process."""

from __future__ import annotations

import hashlib

import pytest

from fakes.vcenter import VCenter, VCenterApi
from fakes.workload import write_pattern
from plugins.vmware import plugin
from plugins.vmware.kinds import PHYSICAL, VMWARE
from provider.contracts.connection import FabricConnection
from provider.contracts.declarations import FailoverMode
from provider.contracts.replica import ChangeMode, Cut, CutRequest, DiskMarker
from provider.errors import AuthenticationFailed, FabricUnreachable, MachineNotFound
from provider.model.inventory import Machine
from provider.model.recovery import Consistency
from tests.plugins.vmware.conftest import MIB, Connect

CBT = 64 * 1024


def machines(connection: FabricConnection) -> dict[str, Machine]:
    return {m.name: m for m in plugin.srp_discover(connection).machines}


def read_all(connection: FabricConnection, cut: Cut, machine: Machine, disk_id: str) -> bytes:
    capacity = machine.disk(disk_id).capacity
    pieces = plugin.srp_read_extents(connection, cut, machine.machine_id, disk_id, [(0, capacity)])
    return b"".join(piece.data for piece in pieces)


def cut_of(
    connection: FabricConnection,
    cut_id: str,
    *vms: Machine,
    previous: str = "",
    consistency: Consistency = Consistency.CRASH,
) -> Cut:
    markers = tuple(DiskMarker(m.machine_id, d.disk_id, previous) for m in vms for d in m.disks)
    return plugin.srp_capture_cut(connection, CutRequest(cut_id, vms, markers, consistency))


def test_kinds_declare_the_seed_rules_for_vmware_and_physical() -> None:
    assert plugin.srp_fabric_kinds() == (VMWARE, PHYSICAL)
    for kind in (VMWARE, PHYSICAL):
        caps = kind.capabilities
        assert caps.failover_modes == (
            FailoverMode.TEST,
            FailoverMode.UNPLANNED,
            FailoverMode.FAILBACK,
        )
        assert caps.failback_to == ("vmware",)
        assert caps.app_consistent is True
        assert caps.max_retention_hours == 15 * 24
    assert VMWARE.capabilities.multi_machine_groups is True
    assert PHYSICAL.capabilities.multi_machine_groups is False  # one fabric, one server
    # A VM is re-protected through the master target; nothing is written back to a
    # physical server, which fails back only to a new VMware VM.
    assert VMWARE.capabilities.reverse_replication is True
    assert PHYSICAL.capabilities.reverse_replication is False


def test_connect_names_the_vcenter(vc_connection: FabricConnection, vcenter: VCenter) -> None:
    identity = plugin.srp_connect(vc_connection)
    assert (identity.name, identity.kind, identity.server_id) == (
        "VMware vCenter Server",
        "vmware",
        vcenter.instance_uuid,
    )
    assert identity.version == "8.0.2 build 22617221"


def test_discovery_finds_datacenters_hosts_networks_vms_disks_and_nics(
    vc_connection: FabricConnection, vcenter: VCenter
) -> None:
    inventory = plugin.srp_discover(vc_connection)
    dc = vcenter.datacenters[0]
    assert [(c.container_id, c.name, c.kind) for c in inventory.containers] == [
        (dc.moid, "DC1", "datacenter")
    ]
    assert [h.name for h in inventory.hosts] == ["esx01.lab", "esx02.lab"]
    assert [(n.name, n.kind) for n in inventory.networks] == [
        ("VM Network", "portgroup"),
        ("DMZ", "dvportgroup"),
    ]
    found = {m.name: m for m in inventory.machines}
    web = vcenter.vm_named("web01")
    assert found["web01"].machine_id == web.moid
    assert found["web01"].host == "esx01.lab"
    assert found["db01"].host == "esx02.lab"
    assert found["db01"].power_state == "off"
    assert [(d.disk_id, d.name, d.capacity, d.path) for d in found["web01"].disks] == [
        ("2000", "Hard disk 1", 2 * MIB, "[datastore1] web01/web01.vmdk"),
        ("2001", "Hard disk 2", MIB, "[datastore1] web01/web01_1.vmdk"),
    ]
    assert [(n.nic_id, n.network_id, n.mac) for n in found["web01"].nics] == [
        ("4000", dc.network("VM Network").moid, web.nics[0].mac),
        ("4001", dc.network("DMZ").moid, web.nics[1].mac),
    ]


def test_first_cut_is_full_and_reads_the_snapshot_not_the_live_disk(
    vc_connection: FabricConnection, vcenter: VCenter
) -> None:
    web = machines(vc_connection)["web01"]
    disk = vcenter.vm_named("web01").disks[0].disk
    plugin.srp_enable_tracking(vc_connection, web)
    write_pattern(disk, 3 * CBT + 100, 5000, seed=1)
    expected = disk.read(0, disk.capacity)
    cut = cut_of(vc_connection, "cut-1", web)
    write_pattern(disk, 3 * CBT, 200, seed=2)  # after the cut: must not show
    changes = cut.disk(web.machine_id, "2000")
    assert (changes.mode, changes.extents) == (ChangeMode.FULL, ((3 * CBT, CBT),))
    assert cut.disk(web.machine_id, "2001").extents == ()
    assert read_all(vc_connection, cut, web, "2000") == expected
    plugin.srp_release_cut(vc_connection, cut, True)
    assert vcenter.snapshots.of_vm(vcenter.vm_named("web01")) == []


def test_incremental_cut_reports_changes_since_the_confirmed_cut(
    vc_connection: FabricConnection, vcenter: VCenter
) -> None:
    web = machines(vc_connection)["web01"]
    vm = vcenter.vm_named("web01")
    plugin.srp_enable_tracking(vc_connection, web)
    plugin.srp_release_cut(vc_connection, cut_of(vc_connection, "cut-1", web), True)
    write_pattern(vm.disks[1].disk, 5 * CBT + 10, 100, seed=3)
    cut = cut_of(vc_connection, "cut-2", web, previous="cut-1")
    assert cut.disk(web.machine_id, "2000").extents == ()
    changes = cut.disk(web.machine_id, "2001")
    assert (changes.mode, changes.extents) == (ChangeMode.INCREMENTAL, ((5 * CBT, CBT),))
    (piece,) = plugin.srp_read_extents(vc_connection, cut, web.machine_id, "2001", [(5 * CBT, CBT)])
    assert piece.data == vm.disks[1].disk.read(5 * CBT, CBT)
    plugin.srp_release_cut(vc_connection, cut, True)


def test_an_unconfirmed_cut_gives_its_changes_again(
    vc_connection: FabricConnection, vcenter: VCenter
) -> None:
    app = machines(vc_connection)["app01"]
    disk = vcenter.vm_named("app01").disks[0].disk
    plugin.srp_enable_tracking(vc_connection, app)
    plugin.srp_release_cut(vc_connection, cut_of(vc_connection, "c1", app), True)
    write_pattern(disk, CBT, 10, seed=4)
    abandoned = cut_of(vc_connection, "c2", app, previous="c1")
    plugin.srp_release_cut(vc_connection, abandoned, False)
    write_pattern(disk, 7 * CBT, 10, seed=5)
    cut = cut_of(vc_connection, "c3", app, previous="c1")
    assert cut.disk(app.machine_id, "2000").extents == ((CBT, CBT), (7 * CBT, CBT))


def test_cbt_query_loops_over_a_bounded_window(
    vc_connection: FabricConnection, vcenter: VCenter, vc_api: tuple[VCenterApi, str]
) -> None:
    vcenter.faults.cbt_query_window = 256 * 1024
    web = machines(vc_connection)["web01"]
    disk = vcenter.vm_named("web01").disks[0].disk
    plugin.srp_enable_tracking(vc_connection, web)
    for block in (0, 9, 31):
        write_pattern(disk, block * CBT, 1, seed=block)
    api, _ = vc_api
    before = _count(api, "QueryChangedDiskAreas")
    cut = cut_of(vc_connection, "cut-w", web)
    assert cut.disk(web.machine_id, "2000").extents == ((0, CBT), (9 * CBT, CBT), (31 * CBT, CBT))
    # 2 MiB / 256 KiB = 8 calls for disk 2000, 4 for the 1 MiB disk 2001.
    assert _count(api, "QueryChangedDiskAreas") - before == 12


def _count(api: VCenterApi, needle: str) -> int:
    return sum(n for label, n in api.calls.items() if needle in label)


def test_cbt_reset_makes_the_disk_resynchronize(
    vc_connection: FabricConnection, vcenter: VCenter
) -> None:
    app = machines(vc_connection)["app01"]
    vm = vcenter.vm_named("app01")
    plugin.srp_enable_tracking(vc_connection, app)
    plugin.srp_release_cut(vc_connection, cut_of(vc_connection, "c1", app), True)
    vcenter.reset_cbt(vm)
    cut = cut_of(vc_connection, "c2", app, previous="c1")
    changes = cut.disk(app.machine_id, "2000")
    assert changes.mode is ChangeMode.RESYNC
    assert changes.reason.startswith(
        f"VM app01 ({vm.moid}) disk 2000: CBT was reset; change id '52 "
    )
    assert changes.reason.endswith("is no longer valid; resynchronize")


def test_an_unknown_previous_cut_resynchronizes_rather_than_guess(
    vc_connection: FabricConnection,
) -> None:
    app = machines(vc_connection)["app01"]
    plugin.srp_enable_tracking(vc_connection, app)
    cut = cut_of(vc_connection, "c9", app, previous="cut-from-another-life")
    changes = cut.disk(app.machine_id, "2000")
    assert changes.mode is ChangeMode.RESYNC
    assert "no CBT change id is known for cut 'cut-from-another-life'" in changes.reason


def test_app_consistent_cut_uses_a_quiesced_snapshot(
    vc_connection: FabricConnection, vcenter: VCenter
) -> None:
    web = machines(vc_connection)["web01"]
    plugin.srp_enable_tracking(vc_connection, web)
    cut = cut_of(vc_connection, "app-1", web, consistency=Consistency.APP)
    assert (cut.consistency, cut.note) == (Consistency.APP, "")
    (snapshot,) = vcenter.snapshots.of_vm(vcenter.vm_named("web01"))
    assert (snapshot.name, snapshot.quiesced) == ("app-1", True)


def test_quiesce_failure_falls_back_to_a_crash_cut_with_a_note(
    vc_connection: FabricConnection, vcenter: VCenter
) -> None:
    found = machines(vc_connection)
    web, app = found["web01"], found["app01"]
    for machine in (web, app):
        plugin.srp_enable_tracking(vc_connection, machine)
    vcenter.faults.quiesce_failure = "VSS writer SqlServerWriter timed out"
    cut = cut_of(vc_connection, "grp-1", web, app, consistency=Consistency.APP)
    assert cut.consistency is Consistency.CRASH
    failure = (
        "failed: ApplicationQuiesceFault: An error occurred while quiescing the virtual "
        "machine: VSS writer SqlServerWriter timed out"
    )
    where = f"vCenter {vc_connection.address}: snapshot"
    assert cut.note == (
        f"quiesced snapshot failed (web01: {where} web01 ({web.machine_id}) {failure}; "
        f"app01: {where} app01 ({app.machine_id}) {failure}); the point is crash-consistent"
    )
    snapshots = [
        s for vm in ("web01", "app01") for s in vcenter.snapshots.of_vm(vcenter.vm_named(vm))
    ]
    assert [(s.name, s.quiesced) for s in snapshots] == [("grp-1", False), ("grp-1", False)]
    plugin.srp_release_cut(vc_connection, cut, True)
    assert not vcenter.snapshots.snapshots


def test_a_group_cut_takes_one_snapshot_per_vm(
    vc_connection: FabricConnection, vcenter: VCenter
) -> None:
    found = machines(vc_connection)
    group = (found["web01"], found["app01"], found["db01"])
    for machine in group:
        plugin.srp_enable_tracking(vc_connection, machine)
    cut = cut_of(vc_connection, "g-1", *group)
    assert [(c.machine_id, c.disk_id) for c in cut.disks] == [
        (m.machine_id, d.disk_id) for m in group for d in m.disks
    ]
    assert sorted(s.vm.name for s in vcenter.snapshots.snapshots.values()) == [
        "app01",
        "db01",
        "web01",
    ]
    plugin.srp_release_cut(vc_connection, cut, False)
    assert not vcenter.snapshots.snapshots


def test_expired_session_logs_in_again_and_retries_once(
    vc_connection: FabricConnection, vcenter: VCenter
) -> None:
    plugin.srp_discover(vc_connection)
    logins = vcenter.sessions.logins
    vcenter.sessions.expire_all()
    assert {m.name for m in plugin.srp_discover(vc_connection).machines} == {
        "web01",
        "app01",
        "db01",
    }
    assert vcenter.sessions.logins == logins + 1


def test_refused_credentials_raise_authentication_failed(connect: Connect) -> None:
    connection = connect(password="wrong")
    with pytest.raises(AuthenticationFailed) as raised:
        plugin.srp_discover(connection)
    assert raised.value.message == (
        f"vCenter {connection.address}: log in as 'administrator@vsphere.local': "
        "vCenter refused the credentials"
    )


def test_service_unavailable_is_retried(vc_connection: FabricConnection, vcenter: VCenter) -> None:
    vcenter.faults.unavailable_calls = 2
    assert len(plugin.srp_discover(vc_connection).machines) == 3


def test_service_unavailable_beyond_the_retries_is_unreachable(
    connect: Connect, vcenter: VCenter
) -> None:
    connection = connect(retry_attempts="2")
    vcenter.faults.unavailable_calls = 5
    with pytest.raises(FabricUnreachable) as raised:
        plugin.srp_discover(connection)
    assert raised.value.message == (
        f"vCenter {connection.address}: log in: HTTP 503: The service is temporarily unavailable."
    )


def test_tasks_that_read_running_are_polled(
    vc_connection: FabricConnection, vcenter: VCenter
) -> None:
    app = machines(vc_connection)["app01"]
    vcenter.faults.task_polls = 3
    plugin.srp_enable_tracking(vc_connection, app)
    assert vcenter.vm_named("app01").cbt_enabled is True


def test_deleted_vm_is_machine_not_found(vc_connection: FabricConnection, vcenter: VCenter) -> None:
    app = machines(vc_connection)["app01"]
    plugin.srp_enable_tracking(vc_connection, app)
    vcenter.delete_vm(vcenter.vm_named("app01"))
    with pytest.raises(MachineNotFound) as raised:
        cut_of(vc_connection, "c1", app)
    assert raised.value.message == (
        f"vCenter {vc_connection.address}: CreateSnapshot_Task on {app.machine_id}: the VM "
        f"{app.machine_id} no longer exists in vCenter (The object 'VirtualMachine:"
        f"{app.machine_id}' has already been deleted or has not been completely created)"
    )
    assert "refresh the fabric" in raised.value.hint


def test_deleted_vm_in_a_group_leaves_no_snapshot_behind(
    vc_connection: FabricConnection, vcenter: VCenter
) -> None:
    found = machines(vc_connection)
    web, app = found["web01"], found["app01"]
    for machine in (web, app):
        plugin.srp_enable_tracking(vc_connection, machine)
    vcenter.delete_vm(vcenter.vm_named("app01"))
    with pytest.raises(MachineNotFound):
        cut_of(vc_connection, "c1", web, app)
    assert not vcenter.snapshots.snapshots


def test_block_digests_hash_each_block_at_the_cut(
    vc_connection: FabricConnection, vcenter: VCenter
) -> None:
    app = machines(vc_connection)["app01"]
    disk = vcenter.vm_named("app01").disks[0].disk
    plugin.srp_enable_tracking(vc_connection, app)
    write_pattern(disk, 2 * CBT + 7, 3000, seed=9)
    expected = disk.read(0, disk.capacity)
    cut = cut_of(vc_connection, "d1", app)
    write_pattern(disk, 2 * CBT, 10, seed=10)
    digests = list(plugin.srp_block_digests(vc_connection, cut, app.machine_id, "2000", 128 * 1024))
    assert [(d.offset, d.digest) for d in digests] == [
        (offset, hashlib.sha256(expected[offset : offset + 128 * 1024]).digest())
        for offset in range(0, MIB, 128 * 1024)
    ]


def test_power_off_and_on(connect: Connect, vcenter: VCenter) -> None:
    # Only reverse replication and failback stop a VM: they need the failback setup.
    connection = connect(master_target="127.0.0.1:9", failback_process_server="ps-cloud")
    web = machines(connection)["web01"]
    prepared = plugin.srp_prepare_failover(connection, web)
    assert (prepared.machine_id, prepared.power_state) == (web.machine_id, "off")
    assert plugin.srp_prepare_failover(connection, web).power_state == "off"
    plugin.srp_resume_source(connection, web)
    assert vcenter.vm_named("web01").power_state == "POWERED_ON"


def test_disable_tracking_turns_cbt_off_and_tolerates_a_deleted_vm(
    vc_connection: FabricConnection, vcenter: VCenter
) -> None:
    found = machines(vc_connection)
    for machine in found.values():
        plugin.srp_enable_tracking(vc_connection, machine)
    plugin.srp_disable_tracking(vc_connection, found["web01"])
    assert vcenter.vm_named("web01").cbt_enabled is False
    vcenter.delete_vm(vcenter.vm_named("app01"))
    plugin.srp_disable_tracking(vc_connection, found["app01"])
