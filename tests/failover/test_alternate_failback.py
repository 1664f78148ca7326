"""Failback to an alternate location: a new machine on the source fabric, then re-protect."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import plugins.vmware.plugin as vmware_plugin
from fakes.clock import VirtualClock
from fakes.fabric import SimulatedFabric
from fakes.hyperv import HyperVHost
from fakes.mobility import PhysicalServer, serve_mobility
from fakes.vcenter import VCenter, serve_master_target, serve_vcenter
from fakes.workload import write_pattern
from plugins.vmware.discovery import srp_power_state
from provider.contracts.declarations import FailoverMode
from provider.contracts.failover import AlternateMachine
from provider.errors import AlreadyExists, NotSupported, ValidationError
from provider.failover import FailoverOptions
from provider.model.item import Direction
from provider.model.job import JobState
from provider.model.states import ReplicationState
from tests.failover.conftest import VCenterAsFabric, vcenter_vm
from tests.failover.failover_testkit import KIB, FailoverLab, Protected, simulated_scenario
from tests.failover.test_commit_reverse_failback import PHYSICAL, failed_over_and_committed

BLOCK = 64 * KIB
PLUGINS: dict[str, object] = {"vmware": vmware_plugin}


@dataclass(frozen=True)
class AlternatePlace:
    """Where a scenario's fabric can create a machine, and how to read that machine back."""

    host: str
    fabric: SimulatedFabric | HyperVHost | VCenterAsFabric

    def machine_content(self, machine_id: str) -> dict[str, bytes]:
        if isinstance(self.fabric, SimulatedFabric):
            disks = self.fabric.machines[machine_id].disks
            return {d: disk.read(0, disk.capacity) for d, disk in disks.items()}
        if isinstance(self.fabric, VCenterAsFabric):
            vmdks = self.fabric.vcenter.vm(machine_id).disks
            return {str(d.key): d.disk.read(0, d.capacity) for d in vmdks}
        vm = self.fabric.vm_by_id(machine_id)
        assert vm is not None
        return {d.disk_id.lower(): d.read(0, d.capacity) for d in vm.disks}

    def power_state(self, machine_id: str) -> str:
        if isinstance(self.fabric, SimulatedFabric):
            return self.fabric.machines[machine_id].power_state
        if isinstance(self.fabric, VCenterAsFabric):
            return srp_power_state(self.fabric.vcenter.vm(machine_id).power_state)
        vm = self.fabric.vm_by_id(machine_id)
        assert vm is not None
        return vm.state.name.lower()


def creates_machines(protected: Protected) -> bool:
    """True when the plugin serving the scenario's fabric kind can create a machine."""
    plugins = protected.lab.ctx.plugins.plugins()
    serving = next(info for info in plugins if protected.kind in info.kinds)
    return "srp_create_machine" in serving.hooks


def alternate_place(protected: Protected) -> AlternatePlace:
    """A simulated fabric or a vCenter gets a second host; a Hyper-V fabric is one host."""
    capabilities = protected.lab.ctx.plugins.fabric_kind(protected.kind).capabilities
    if not capabilities.allows(FailoverMode.FAILBACK):
        pytest.skip(f"kind {protected.kind!r} does not declare failback")
    if not creates_machines(protected):
        pytest.skip(
            f"the plugin of kind {protected.kind!r} implements no srp_create_machine: "
            "it fails back to the original machine only"
        )
    fabric = protected.source.fabric  # type: ignore[attr-defined]
    if isinstance(fabric, SimulatedFabric):
        fabric.add_host("hv02")
        return AlternatePlace("hv02", fabric)
    if isinstance(fabric, VCenterAsFabric):
        datacenter = fabric.vcenter.datacenters[0]
        datacenter.add_host("esx02.lab", fabric.host.cluster)
        return AlternatePlace("esx02.lab", fabric)
    host = getattr(fabric, "host", None)
    if not isinstance(host, HyperVHost):
        pytest.skip(f"kind {protected.kind!r} cannot create a machine at an alternate place")
    return AlternatePlace(host.name, host)


def reverse_protected(protected: Protected) -> str:
    """Fail over, commit and re-protect; returns the replica's id."""
    replica_id = failed_over_and_committed(protected)
    job = protected.lab.failover.reverse_replication([protected.item_id])
    assert job.state is JobState.SUCCEEDED
    return replica_id


def nonzero_blocks(data: bytes) -> int:
    return sum(1 for at in range(0, len(data), BLOCK) if data[at : at + BLOCK].strip(b"\0"))


def by_size(content: dict[str, bytes]) -> list[bytes]:
    """The disks' bytes in capacity order (the suite's two disks differ in size)."""
    return sorted(content.values(), key=len)


@pytest.fixture
def physical(tmp_path: Path, clock: VirtualClock) -> Iterator[Protected]:
    with simulated_scenario(tmp_path, clock, "simphysical", PHYSICAL) as machine:
        yield machine


def test_failback_to_an_alternate_host_builds_fills_starts_and_reprotects(
    protected: Protected,
) -> None:
    protected.require_hrl("a native target fails back to the original machine only")
    place = alternate_place(protected)
    replica_id = reverse_protected(protected)
    protected.lab.compute.write_disk(replica_id, protected.first_disk(), 2 * BLOCK, b"\x16" * 300)
    final = protected.lab.replica_content(replica_id)
    original = protected.source.content()
    options = FailoverOptions(alternate_host=place.host, alternate_name="web01-b")
    job = protected.lab.failover.failback([protected.item_id], options)
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    item = protected.item
    new_id = item.machine_id
    assert new_id != protected.source.machine_id
    assert (item.machine_name, item.state, item.direction, item.replica_id) == (
        "web01-b",
        ReplicationState.PROTECTED,
        Direction.FORWARD,
        "",
    )
    created = place.machine_content(new_id)
    with protected.lab.store.read() as tx:
        machine = tx.fabrics.inventory(protected.fabric_id).machine(new_id)
    assert [nic.network_id for nic in machine.nics] == ["net-prod"]
    assert by_size(created) == by_size(final)
    lines = job.tasks[0].output.splitlines()
    assert lines[:2] == ["replica web01 is stopped", f"created web01-b ({new_id}) on {place.host}"]
    sent = sorted(
        f"disk {disk}: {nonzero_blocks(data)} of {len(data) // BLOCK} blocks differed and were "
        f"sent ({nonzero_blocks(data) * BLOCK} bytes)"
        for disk, data in created.items()
    )
    assert sorted(lines[2:4]) == sent
    assert lines[4] == f"web01-b started on {place.host}"
    assert place.power_state(new_id) == "running"
    assert protected.lab.compute.find(replica_id) is None
    assert protected.source.content() == original  # the original machine is left as it was
    point = protected.cycle()  # re-protected: the new disks are copied to the target
    assert sorted(d.disk_id for d in point.disks) == sorted(created)
    for disk in point.disks:
        replica = protected.lab.replica_bytes(protected.item_id, disk.disk_id, disk.sequence)
        assert replica == created[disk.disk_id]


def test_a_failed_alternate_failback_restarts_the_replica(protected: Protected) -> None:
    protected.require_hrl("a native target fails back to the original machine only")
    place = alternate_place(protected)
    replica_id = reverse_protected(protected)
    options = FailoverOptions(alternate_host="nowhere", alternate_name="web01-b")
    job = protected.lab.failover.failback([protected.item_id], options)
    address = protected.lab.ctx.fabric_connection(protected.fabric_id).address
    refusal = {
        SimulatedFabric: f"{address}: no host 'nowhere' (hosts: hv02)",
        HyperVHost: f"{address}: cannot create web01-b on host 'nowhere': this fabric is the "
        "Hyper-V host 'hv01'",
        VCenterAsFabric: f"{address}: cannot create web01-b on host 'nowhere': no such ESXi "
        "host in vCenter (hosts: esx01.lab, esx02.lab)",
    }[type(place.fabric)]
    assert (job.state, job.error) == (
        JobState.FAILED,
        f"task failback of web01 failed: {refusal}",
    )
    item = protected.item
    assert (item.state, item.direction, item.replica_id) == (
        ReplicationState.PROTECTED,
        Direction.REVERSE,
        replica_id,
    )
    assert item.machine_id == protected.source.machine_id
    replica = protected.lab.compute.find(replica_id)
    assert replica is not None and replica.power_state == "running"


def test_alternate_failback_is_refused_where_the_kind_forbids_it(physical: Protected) -> None:
    alternate_place(physical)
    reverse_protected(physical)
    options = FailoverOptions(alternate_host="hv02")
    with pytest.raises(NotSupported) as caught:
        physical.lab.failover.failback([physical.item_id], options)
    assert str(caught.value) == (
        f"failback of web01 ({physical.item_id}) to a simphysical machine is not supported: "
        "simphysical machines fail back to simvmware (fail back to an alternate location of an "
        "allowed kind)"
    )
    item = physical.item
    assert (item.state, item.direction) == (ReplicationState.PROTECTED, Direction.REVERSE)
    assert sorted(physical.source.fabric.machines) == [physical.source.machine_id]  # type: ignore[attr-defined]


def test_one_new_name_is_for_one_machine(tmp_path: Path, clock: VirtualClock) -> None:
    with simulated_scenario(tmp_path, clock) as protected:
        options = FailoverOptions(alternate_host="hv02", alternate_name="web01-b")
        with pytest.raises(ValidationError) as caught:
            protected.lab.failover.failback([protected.item_id, "item-other"], options)
    assert str(caught.value) == (
        "a failback naming the new machine 'web01-b' takes one protected item, got 2"
    )


def test_the_fabric_creates_the_machine_asked_for_and_only_once(protected: Protected) -> None:
    place = alternate_place(protected)
    connection = protected.lab.ctx.fabric_connection(protected.fabric_id)
    spec = AlternateMachine("web01-b", place.host, (128 * KIB, 64 * KIB), ("net-prod",), 2, 512)
    machine = protected.lab.ctx.plugins.create_machine(connection, spec)
    assert (machine.name, machine.host, machine.power_state, machine.memory_mib) == (
        "web01-b",
        place.host,
        "off",
        512,
    )
    assert [disk.capacity for disk in machine.disks] == [128 * KIB, 64 * KIB]
    assert [nic.network_id for nic in machine.nics] == ["net-prod"]
    assert by_size(place.machine_content(machine.machine_id)) == [
        b"\0" * 64 * KIB,
        b"\0" * 128 * KIB,
    ]
    with pytest.raises(AlreadyExists) as caught:
        protected.lab.ctx.plugins.create_machine(connection, spec)
    exists = {
        SimulatedFabric: f"a machine named web01-b exists on {place.host}",
        HyperVHost: "a VM named 'web01-b' is already on the host",
        VCenterAsFabric: "a VM named 'web01-b' is already in datacenter DC1",
    }[type(place.fabric)]
    assert str(caught.value) == f"{connection.address}: {exists}"


@dataclass(frozen=True)
class PhysicalToVmware:
    """A physical server failed over to the cloud and committed, and a vCenter beside it."""

    lab: FailoverLab
    item_id: str
    vcenter: VCenter
    vmware_fabric: str
    other_physical: str


@pytest.fixture
def physical_to_vmware(tmp_path: Path, clock: VirtualClock) -> Iterator[PhysicalToVmware]:
    server = PhysicalServer.build("db-phys01", disks=(128 * KIB, 256 * KIB), seed=4, clock=clock)
    other = PhysicalServer.build("db-phys02", seed=5, clock=clock)
    for index, disk in enumerate(server.disks):
        write_pattern(disk, 0, 64 * KIB, seed=index)
        write_pattern(disk, disk.capacity - 8 * KIB, 8 * KIB, seed=100 + index)
    vcenter, _ = vcenter_vm(clock)
    corp = vcenter.datacenters[0].add_network("Corp-LAN")
    (agent, _), (agent2, _) = serve_mobility(server), serve_mobility(other)
    vc, _ = serve_vcenter(vcenter)
    master_target, _ = serve_master_target(vcenter)
    with agent, agent2, vc, master_target, FailoverLab(tmp_path, PLUGINS, clock) as fl:
        quick = {"transport": "http", "retry_wait": "0"}
        fabric_id = fl.register_fabric("physical", agent.address, *server.credentials, quick)
        other_id = fl.register_fabric("physical", agent2.address, *other.credentials, quick)
        vc_options = {**quick, "task_poll_interval": "0", "master_target": master_target.address}
        vc_options["failback_process_server"] = "ps-cloud"
        vmware_id = fl.register_fabric("vmware", vc.address, *vcenter.credentials, vc_options)
        fl.map_network(fabric_id, "Corp-LAN")
        item = fl.protect(fabric_id, server.server_id)
        fl.cycle(item.item_id)
        assert fl.failover.unplanned_failover([item.item_id]).state is JobState.SUCCEEDED
        assert fl.failover.commit([item.item_id]).state is JobState.SUCCEEDED
        assert corp.moid.startswith("network-")
        yield PhysicalToVmware(fl, item.item_id, vcenter, vmware_id, other_id)


def test_a_physical_server_fails_back_to_a_new_vmware_vm(
    physical_to_vmware: PhysicalToVmware,
) -> None:
    lab, item_id = physical_to_vmware.lab, physical_to_vmware.item_id
    replica_id = lab.item(item_id).replica_id
    lab.compute.write_disk(replica_id, "physicaldrive1", 2 * BLOCK, b"\x21" * 512)
    final = lab.replica_content(replica_id)
    options = FailoverOptions(
        alternate_host="esx01.lab",
        alternate_name="db-phys01-v",
        alternate_fabric=physical_to_vmware.vmware_fabric,
    )
    job = lab.failover.failback([item_id], options)
    assert (job.state, job.error) == (JobState.SUCCEEDED, "")
    vm = physical_to_vmware.vcenter.vm_named("db-phys01-v")
    assert vm.power_state == "POWERED_ON"
    assert [nic.network.name for nic in vm.nics] == ["Corp-LAN"]
    created = {str(d.key): d.disk.read(0, d.capacity) for d in vm.disks}
    assert by_size(created) == by_size(final)
    item = lab.item(item_id)
    assert (item.fabric_id, item.machine_id, item.machine_name) == (
        physical_to_vmware.vmware_fabric,
        vm.moid,
        "db-phys01-v",
    )
    assert (item.state, item.direction, item.replica_id) == (
        ReplicationState.PROTECTED,
        Direction.FORWARD,
        "",
    )
    assert lab.compute.find(replica_id) is None
    point = lab.cycle(item_id).recorded[0]  # the new VM's disks are new to the target
    for disk in point.disks:
        assert lab.replica_bytes(item_id, disk.disk_id, disk.sequence) == created[disk.disk_id]


def test_a_physical_server_never_fails_back_to_a_physical_fabric(
    physical_to_vmware: PhysicalToVmware,
) -> None:
    lab, item_id = physical_to_vmware.lab, physical_to_vmware.item_id
    options = FailoverOptions(
        alternate_host="db-phys02", alternate_fabric=physical_to_vmware.other_physical
    )
    with pytest.raises(NotSupported) as caught:
        lab.failover.failback([item_id], options)
    assert str(caught.value) == (
        f"failback of db-phys01 ({item_id}) to a physical machine is not supported: physical "
        "machines fail back to vmware (fail back to an alternate location of an allowed kind)"
    )
    item = lab.item(item_id)
    assert (item.state, item.direction) == (ReplicationState.COMMITTED, Direction.FORWARD)
    replica = lab.compute.find(item.replica_id)
    assert replica is not None and replica.power_state == "running"
