"""VMware failback through the master target, guest IPs and bounded discovery."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from fakes.clock import VirtualClock
from fakes.vcenter import MasterTarget, VCenter, VCenterApi
from plugins.vmware import plugin
from provider.contracts.connection import FabricConnection
from provider.contracts.replica import ExtentData
from provider.errors import ConfigurationError, MachineNotFound, NotSupported
from provider.model.item import Direction
from provider.model.job import JobState
from provider.model.states import ReplicationState
from tests.failover.conftest import VCenterSource, vmware_scenario
from tests.failover.failover_testkit import KIB, Protected
from tests.failover.test_commit_reverse_failback import failed_over_and_committed
from tests.plugins.vmware.conftest import Connect

BLOCK = 64 * KIB


# -- discovery ------------------------------------------------------------------------


def test_discovery_reports_the_guest_addresses_vmware_tools_sees(
    connect: Connect, vcenter: VCenter
) -> None:
    web = vcenter.vm_named("web01")
    web.nics[0].ip_addresses = ("10.1.0.10", "fe80::1")
    vcenter.vm_named("db01").nics[0].ip_addresses = ("10.1.0.30",)  # off: Tools reports nothing
    machines = plugin.srp_discover(connect())
    found = {m.name: m for m in machines.machines}
    assert [n.ip_addresses for n in found["web01"].nics] == [("10.1.0.10", "fe80::1"), ()]
    assert [n.ip_addresses for n in found["db01"].nics] == [()]
    assert (found["web01"].cpu_count, found["web01"].memory_mib, found["web01"].os_type) == (
        2,
        4096,
        "windows",
    )


def _discovery_calls(api: VCenterApi, connection: FabricConnection) -> int:
    before = sum(api.calls.values())
    plugin.srp_discover(connection)
    return sum(api.calls.values()) - before


def test_discovery_costs_the_same_requests_for_3_or_53_vms(
    connect: Connect, vcenter: VCenter, vc_api: tuple[VCenterApi, str]
) -> None:
    api, _ = vc_api
    connection = connect()
    plugin.srp_discover(connection)  # the login is not discovery's
    few = _discovery_calls(api, connection)
    host = vcenter.datacenters[0].hosts[0]
    for index in range(50):
        vcenter.create_vm(f"bulk{index:02}", host, disks=(64 * KIB,), networks=("VM Network",))
    many = _discovery_calls(api, connection)
    # ServiceContent, datacenters, hosts, networks; view, one page, view destroyed.
    assert (few, many) == (7, 7)
    assert len(plugin.srp_discover(connection).machines) == 53


def test_discovery_pages_through_the_property_collector(
    connect: Connect, vcenter: VCenter, vc_api: tuple[VCenterApi, str]
) -> None:
    api, _ = vc_api
    connection = connect(discovery_page_size="2")
    names = sorted(m.name for m in plugin.srp_discover(connection).machines)
    assert names == ["app01", "db01", "web01"]
    continued = [k for k in api.calls if "ContinueRetrievePropertiesEx" in k]
    assert [api.calls[k] for k in continued] == [1]
    views = [k for k in api.calls if "CreateContainerView" in k or "DestroyView" in k]
    assert sorted(api.calls[k] for k in views) == [1, 1]  # every view made is destroyed


# -- writing back -----------------------------------------------------------------------


def test_failback_without_a_master_target_is_refused_before_the_vm_is_touched(
    connect: Connect, vcenter: VCenter
) -> None:
    connection = connect(failback_process_server="ps-cloud")
    web = next(m for m in plugin.srp_discover(connection).machines if m.name == "web01")
    with pytest.raises(ConfigurationError) as caught:
        plugin.srp_prepare_failover(connection, web)
    assert str(caught.value) == (
        f"failback of web01 ({web.machine_id}) to vCenter {connection.address} needs a process "
        "server on the cloud side and a master target on premises: no master target is "
        "configured on premises (fabric option master_target) (deploy both, then set the "
        "fabric's master_target and failback_process_server options)"
    )
    assert vcenter.vm_named("web01").power_state == "POWERED_ON"


def test_failback_without_a_cloud_process_server_is_refused(connect: Connect) -> None:
    connection = connect(master_target="127.0.0.1:9")
    web = next(m for m in plugin.srp_discover(connection).machines if m.name == "web01")
    with pytest.raises(ConfigurationError, match="no process server is configured on the cloud"):
        plugin.srp_write_extents(connection, web, "2000", [ExtentData(0, b"x")])


def test_writing_to_a_vanished_vm_is_machine_not_found_before_the_setup_check(
    connect: Connect, vcenter: VCenter
) -> None:
    connection = connect()
    web = next(m for m in plugin.srp_discover(connection).machines if m.name == "web01")
    vcenter.delete_vm(vcenter.vm_named("web01"))
    with pytest.raises(MachineNotFound):
        plugin.srp_write_extents(connection, web, "2000", [ExtentData(0, b"x")])


def test_a_physical_server_never_receives_writes(
    mobility: tuple[object, FabricConnection],
) -> None:
    _, connection = mobility
    (server,) = plugin.srp_discover(connection).machines
    with pytest.raises(NotSupported) as caught:
        plugin.srp_write_extents(connection, server, server.disks[0].disk_id, [])
    assert str(caught.value) == (
        "physical server db-phys01: srp never writes back to a physical server; failback goes "
        "to VMware only (fail back to a VMware VM)"
    )


# -- failback end to end, with the master target failing midway -------------------------


@pytest.fixture
def protected(tmp_path: Path) -> Iterator[Protected]:
    with vmware_scenario(tmp_path, VirtualClock()) as machine:
        yield machine


def _master_target(protected: Protected) -> MasterTarget:
    source = protected.source
    assert isinstance(source, VCenterSource) and source.master_target is not None
    return source.master_target


def test_master_target_unreachable_mid_failback_fails_clearly_and_a_retry_completes(
    protected: Protected,
) -> None:
    disk = protected.first_disk()
    replica_id = failed_over_and_committed(protected)
    reverse = protected.lab.failover.reverse_replication([protected.item_id])
    assert (reverse.state, reverse.error) == (JobState.SUCCEEDED, "")
    protected.lab.compute.write_disk(replica_id, disk, 2 * BLOCK, b"\x16" * 300)
    protected.lab.compute.write_disk(replica_id, disk, 3 * BLOCK, b"\x17" * 300)
    final = protected.lab.replica_content(replica_id)
    target = _master_target(protected)
    written = len(target.writes)
    target.faults.unavailable_calls = 1 << 20  # down for longer than every retry
    failed = protected.lab.failover.failback([protected.item_id])
    assert failed.state is JobState.FAILED
    address = protected.lab.ctx.fabric_connection(protected.fabric_id).option("master_target")
    assert failed.error.startswith(f"task failback of web01 failed: master target {address}: ")
    assert "HTTP 503: The master target is restarting." in failed.error
    assert len(target.writes) == written  # nothing was written while it was down
    item = protected.item
    assert (item.state, item.direction, item.replica_id) == (
        ReplicationState.PROTECTED,
        Direction.REVERSE,
        replica_id,
    )
    replica = protected.lab.compute.find(replica_id)
    assert replica is not None and replica.power_state == "running"  # the live copy serves on
    assert protected.lab.replica_content(replica_id) == final  # nothing lost
    target.faults.unavailable_calls = 0
    retried = protected.lab.failover.failback([protected.item_id])
    assert (retried.state, retried.error) == (JobState.SUCCEEDED, "")
    assert protected.source.content() == final
    assert protected.source.power_state == "running"
    assert [w[2] for w in target.writes[written:]] == [2 * BLOCK, 3 * BLOCK]
    item = protected.item
    assert (item.state, item.direction) == (ReplicationState.PROTECTED, Direction.FORWARD)


def test_reverse_without_setup_is_refused_before_anything_changes(protected: Protected) -> None:
    failed_over_and_committed(protected)
    with protected.lab.store.unit() as tx:
        fabric = tx.fabrics.get(protected.fabric_id)
        options = tuple((k, v) for k, v in fabric.options if k != "master_target")
        tx.fabrics.update(replace(fabric, options=options))
    power_before = protected.source.power_state
    content_before = protected.source.content()
    with pytest.raises(ConfigurationError) as refused:  # when asked: no job exists
        protected.lab.failover.reverse_replication([protected.item_id])
    assert "no master target is configured on premises" in refused.value.message
    assert protected.item.state is ReplicationState.COMMITTED
    assert (protected.source.power_state, protected.source.content()) == (
        power_before,
        content_before,
    )
