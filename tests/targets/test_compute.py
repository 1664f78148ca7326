"""The simulated compute service: networks, replica machines on point views, durability."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakes.compute import ISOLATED_NETWORK, SimulatedCompute
from provider.blockdigest import digest_of_bytes
from provider.contracts.failover import CleanupResult, NicPlacement
from provider.errors import AlreadyExists, NotFound, RecoveryPointUnavailable, ValidationError
from provider.model.inventory import Network
from provider.replica import ReplicaStore
from provider.targets.compute import DiskSource, MachineSpec, Purpose
from tests.replica.replica_testkit import (
    CAPACITY,
    DISK,
    ITEM,
    HrlChain,
    SourceDisk,
    build_history,
    disk_ref,
)


@pytest.fixture
def history(tmp_path: Path) -> tuple[ReplicaStore, SourceDisk]:
    """A replica store holding 4 applied HRLs, and the source content at each."""
    (tmp_path / "hrls").mkdir()
    chain, source = HrlChain(tmp_path / "hrls"), SourceDisk(seed=23)
    paths = build_history(source, chain, cycles=4)
    store = ReplicaStore(tmp_path / "store", disk_ref())
    for sequence, path in enumerate(paths, start=1):
        store.store_hrl(sequence, path)
        store.apply(sequence)
    return store, source


@pytest.fixture
def compute(tmp_path: Path) -> SimulatedCompute:
    service = SimulatedCompute(tmp_path / "compute")
    service.add_network("vnet-prod", subnet="10.1.0.0/24")
    return service


def spec(store: ReplicaStore, sequence: int, *nics: NicPlacement) -> MachineSpec:
    disk = DiskSource(DISK, ITEM, str(store.layout.root), CAPACITY, sequence)
    return MachineSpec(ITEM, "web01", Purpose.FAILOVER, (disk,), tuple(nics))


def test_networks_include_the_isolated_one(compute: SimulatedCompute) -> None:
    assert compute.networks() == (
        Network(ISOLATED_NETWORK, ISOLATED_NETWORK, "vnet", isolated=True),
        Network("vnet-prod", "vnet-prod", "vnet"),
    )
    with pytest.raises(AlreadyExists):
        compute.add_network("vnet-prod")
    with pytest.raises(ValidationError, match=r"subnet 'ten' is not a network like 10\.1\.0\.0/24"):
        compute.add_network("vnet-bad", subnet="ten")


def test_a_machine_runs_on_a_view_of_the_point_never_touching_the_image(
    history: tuple[ReplicaStore, SourceDisk], compute: SimulatedCompute
) -> None:
    store, source = history
    image_before = store.image_path.read_bytes()
    machine = compute.create_machine(spec(store, 2))
    assert machine.power_state == "stopped"
    assert compute.start(machine.replica_id).power_state == "running"
    assert compute.read_disk(machine.replica_id, DISK, 0, CAPACITY) == source.cuts[2]
    compute.write_disk(machine.replica_id, DISK, 10, b"guest")
    expected = source.cuts[2][:10] + b"guest" + source.cuts[2][15:]
    assert compute.read_disk(machine.replica_id, DISK, 0, CAPACITY) == expected
    assert compute.disk_digest(machine.replica_id, DISK) == digest_of_bytes(expected)
    assert store.image_path.read_bytes() == image_before


def test_another_process_sees_the_machine_and_its_guest_writes(
    tmp_path: Path, history: tuple[ReplicaStore, SourceDisk], compute: SimulatedCompute
) -> None:
    store, source = history
    machine = compute.create_machine(spec(store, 3))
    compute.write_disk(machine.replica_id, DISK, 0, b"kept across processes")
    other = SimulatedCompute(tmp_path / "compute")  # a fresh instance holds no open view
    assert other.find(machine.replica_id) == machine
    seen = other.read_disk(machine.replica_id, DISK, 0, CAPACITY)
    assert seen == b"kept across processes" + source.cuts[3][21:]
    leases = sorted(p.name for p in store.layout.leases_dir.glob("*.json"))
    assert leases == [f"{machine.replica_id}-0-g2.json"]
    result = other.delete(machine.replica_id)
    assert result == CleanupResult(
        (
            f"machine web01 ({machine.replica_id})",
            f"disk view {machine.replica_id}-0-g2 of {DISK} at sequence 3",
        )
    )
    assert list(store.layout.leases_dir.glob("*.json")) == []
    assert other.delete(machine.replica_id) == CleanupResult(())


def test_a_broken_view_fails_the_boot_loudly(
    tmp_path: Path, history: tuple[ReplicaStore, SourceDisk], compute: SimulatedCompute
) -> None:
    store, _ = history
    machine = compute.create_machine(spec(store, 1))
    for undo in store.layout.undo_dir.glob("*.undo"):
        undo.unlink()
    other = SimulatedCompute(tmp_path / "compute")
    with pytest.raises(RecoveryPointUnavailable) as caught:
        other.start(machine.replica_id)
    assert caught.value.message == (
        f"disk {DISK!r} of item {ITEM!r} has no point at sequence 1: the target holds "
        "sequences 4..4"
    )
    assert other.find(machine.replica_id) == machine


def test_ip_addresses_are_kept_or_assigned(
    history: tuple[ReplicaStore, SourceDisk], compute: SimulatedCompute
) -> None:
    store, _ = history
    first = compute.create_machine(spec(store, 4, NicPlacement("nic0", "vnet-prod", "10.1.0.4")))
    second = compute.create_machine(
        spec(
            store,
            4,
            NicPlacement("nic0", "vnet-prod", "10.1.0.4"),
            NicPlacement("nic1", "vnet-prod"),
        )
    )
    assert first.nics == (NicPlacement("nic0", "vnet-prod", "10.1.0.4"),)
    assert second.nics == (
        NicPlacement("nic0", "vnet-prod", "10.1.0.5"),
        NicPlacement("nic1", "vnet-prod", "10.1.0.6"),
    )
    with pytest.raises(NotFound, match="there is no network 'vnet-gone'"):
        compute.create_machine(spec(store, 4, NicPlacement("nic0", "vnet-gone")))


def test_an_unknown_machine_is_not_found(compute: SimulatedCompute) -> None:
    assert compute.find("vm-nope") is None
    with pytest.raises(NotFound, match="there is no machine 'vm-nope'"):
        compute.start("vm-nope")


def test_cloud_target_creates_the_networks_its_option_declares(tmp_path: Path) -> None:
    import provider.targets.cloud as cloud
    from provider.contracts.connection import TargetConnection

    options = (("path", str(tmp_path)), ("networks", "vnet-prod=10.1.0.0/24, vnet-dmz"))
    target = TargetConnection("tgt-1", "cloud", str(tmp_path), options=options)
    names = {network.network_id for network in cloud.srp_target_networks(target)}
    assert {"vnet-prod", "vnet-dmz", "test-isolated"} <= names
    again = {network.network_id for network in cloud.srp_target_networks(target)}
    assert again == names  # declaring twice creates nothing more
