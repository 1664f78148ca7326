"""Every repository round-trips its model values exactly, on every backend."""

from __future__ import annotations

import pytest

from provider.errors import AlreadyExists, NotFound, StoreError
from provider.model import (
    Consistency,
    Disk,
    DiskPoint,
    Fabric,
    Health,
    HealthReport,
    Host,
    Inventory,
    Machine,
    Network,
    NetworkMapping,
    Nic,
    PlanAction,
    PlanGroup,
    ProtectedItem,
    ProtectionContainer,
    RecoveryPlan,
    RecoveryPoint,
    ReplicationPolicy,
    ReplicationState,
    StorageMapping,
)
from provider.model.item import Direction
from provider.model.mapping import IpPolicy
from provider.model.plan import ActionKind
from provider.model.policy import InitialReplicationMethod, PolicyFamily
from provider.store import DiskMarker, Target, TokenRecord, VaultStore

FABRIC = Fabric(
    fabric_id="f1",
    name="site-a",
    kind="hyperv",
    address="hv1.example.test",
    username="CORP\\admin",
    options=(("transport", "ntlm"), ("port", "5986")),
    registered_at=1700000000.5,
)
INVENTORY = Inventory(
    containers=(ProtectionContainer("c1", "Site A", "site"),),
    machines=(
        Machine(
            machine_id="m1",
            name="web01",
            container_id="c1",
            disks=(Disk("d1", "os.vhdx", 4096, "C:\\vm\\os.vhdx"), Disk("d2", "data", 8192)),
            nics=(Nic("n1", "net1", "00:15:5d:00:00:01", ("10.0.0.5", "fe80::1")),),
            host="hv1",
            power_state="off",
            os_type="linux",
            cpu_count=2,
            memory_mib=2048,
        ),
    ),
    networks=(Network("net1", "LAN", "switch", isolated=True),),
    hosts=(Host("h1", "hv1", "hypervisor", "10.0"),),
)


def _item(item_id: str = "i1", machine_id: str = "m1") -> ProtectedItem:
    health = HealthReport().raised("rpo", Health.WARNING, "RPO is 40 min")
    return ProtectedItem(
        item_id=item_id,
        fabric_id="f1",
        machine_id=machine_id,
        machine_name="web01",
        policy="gold",
        target="cloud",
        state=ReplicationState.PROTECTED,
        health=health.raised("disk", Health.CRITICAL, "disk d2 failed"),
        replication_group="g1",
        direction=Direction.REVERSE,
        last_point_at=1700000100.25,
        created_at=1700000000.0,
    )


def _point(point_id: str, created_at: float, consistency: Consistency) -> RecoveryPoint:
    return RecoveryPoint(
        point_id=point_id,
        item_id="i1",
        cut_id=f"cut-{point_id}",
        created_at=created_at,
        consistency=consistency,
        disks=(DiskPoint("d1", 3, "a" * 64), DiskPoint("d2", 7, "b" * 64)),
        group_cut="gc1",
    )


def test_fabric_and_inventory_round_trip(store: VaultStore) -> None:
    with store.unit() as tx:
        tx.fabrics.add(FABRIC, b"sealed")
        tx.fabrics.save_inventory("f1", INVENTORY, 1700000050.0)
    with store.read() as tx:
        assert tx.fabrics.get("f1") == FABRIC
        assert tx.fabrics.find_by_name("site-a") == FABRIC
        assert tx.fabrics.find_by_name("site-b") is None
        assert tx.fabrics.list() == [FABRIC]
        assert tx.fabrics.sealed_secret("f1") == b"sealed"
        assert tx.fabrics.inventory("f1") == INVENTORY
        assert tx.fabrics.discovered_at("f1") == 1700000050.0


def test_a_fabric_never_discovered_has_an_empty_inventory(store: VaultStore) -> None:
    with store.unit() as tx:
        tx.fabrics.add(FABRIC)
        assert tx.fabrics.inventory("f1") == Inventory()
        assert tx.fabrics.discovered_at("f1") is None


def test_rediscovery_replaces_the_inventory(store: VaultStore) -> None:
    with store.unit() as tx:
        tx.fabrics.add(FABRIC)
        tx.fabrics.save_inventory("f1", INVENTORY, 1.0)
        tx.fabrics.save_inventory("f1", Inventory(), 2.0)
        assert tx.fabrics.inventory("f1") == Inventory()
        assert tx.fabrics.discovered_at("f1") == 2.0


def test_fabric_identity_and_name_are_unique(store: VaultStore) -> None:
    with store.unit() as tx:
        tx.fabrics.add(FABRIC)
    with pytest.raises(AlreadyExists) as caught, store.unit() as tx:
        tx.fabrics.add(FABRIC)
    assert str(caught.value) == "fabric 'f1' is already registered"
    with pytest.raises(AlreadyExists) as caught, store.unit() as tx:
        tx.fabrics.add(Fabric("f2", "site-a", "hyperv", "hv2"))
    assert str(caught.value) == "a fabric named 'site-a' is already registered"


def test_fabric_update_secret_and_removal(store: VaultStore) -> None:
    renamed = Fabric("f1", "site-z", "hyperv", "hv9")
    with store.unit() as tx:
        tx.fabrics.add(FABRIC, b"one")
        tx.fabrics.save_inventory("f1", INVENTORY, 1.0)
        tx.fabrics.update(renamed)
        tx.fabrics.replace_secret("f1", b"two")
        assert tx.fabrics.get("f1") == renamed
        assert tx.fabrics.sealed_secret("f1") == b"two"
        tx.fabrics.remove("f1")
        assert tx.fabrics.list() == []
        assert tx.fabrics.discovered_at("f1") is None
    with pytest.raises(NotFound) as caught, store.read() as tx:
        tx.fabrics.get("f1")
    assert str(caught.value) == "no fabric 'f1' is registered"


def test_a_unit_that_raises_leaves_the_previous_state(store: VaultStore) -> None:
    with store.unit() as tx:
        tx.policies.add(ReplicationPolicy("gold"))
    with pytest.raises(RuntimeError), store.unit() as tx:
        tx.fabrics.add(FABRIC)
        tx.policies.remove("gold")
        raise RuntimeError("crash mid-operation")
    with store.read() as tx:
        assert tx.fabrics.list() == []
        assert tx.policies.list() == [ReplicationPolicy("gold")]


def test_policy_round_trip_update_and_removal(store: VaultStore) -> None:
    continuous = ReplicationPolicy(
        name="vmware-15d",
        family=PolicyFamily.CONTINUOUS,
        crash_consistent_frequency_min=10,
        retention_hours=360,
        app_consistent_frequency_hours=4,
        compression=False,
        encryption=False,
        initial_replication_method=InitialReplicationMethod.OFFLINE,
        initial_replication_start=1700000000.0,
        rpo_warning_minutes=15,
        rpo_critical_minutes=45,
    )
    with store.unit() as tx:
        tx.policies.add(continuous)
        tx.policies.add(ReplicationPolicy("gold"))
        assert tx.policies.list() == [ReplicationPolicy("gold"), continuous]
        tx.policies.update(ReplicationPolicy("gold", copy_frequency_sec=30))
        assert tx.policies.get("gold") == ReplicationPolicy("gold", copy_frequency_sec=30)
        tx.policies.remove("gold")
        assert tx.policies.find("gold") is None
    with pytest.raises(AlreadyExists) as caught, store.unit() as tx:
        tx.policies.add(continuous)
    assert str(caught.value) == "a policy named 'vmware-15d' already exists"
    with pytest.raises(NotFound) as missing, store.read() as tx:
        tx.policies.get("gold")
    assert str(missing.value) == "no replication policy named 'gold'"


def test_target_round_trip(store: VaultStore) -> None:
    target = Target("cloud", "cloud", "/srv/cloud", (("region", "west"),), 5.0)
    with store.unit() as tx:
        tx.targets.add(target, b"sealed-key")
        assert tx.targets.get("cloud") == target
        assert tx.targets.list() == [target]
        assert tx.targets.sealed_secret("cloud") == b"sealed-key"
        tx.targets.remove("cloud")
        assert tx.targets.list() == []
    with pytest.raises(NotFound) as caught, store.read() as tx:
        tx.targets.get("cloud")
    assert str(caught.value) == "no target 'cloud' is registered"


def test_item_round_trip_with_health_and_direction(store: VaultStore) -> None:
    item = _item()
    with store.unit() as tx:
        tx.items.add(item)
    with store.read() as tx:
        assert tx.items.get("i1") == item
        assert tx.items.for_machine("f1", "m1") == item
        assert tx.items.for_machine("f1", "m2") is None
        assert tx.items.list() == [item]
        assert tx.items.list("f2") == []
        assert tx.items.get("i1").health.level is Health.CRITICAL


def test_item_update_and_one_item_per_machine(store: VaultStore) -> None:
    with store.unit() as tx:
        tx.items.add(_item())
        moved = tx.items.get("i1").moved_to(ReplicationState.TEST_FAILOVER)
        tx.items.update(moved)
        assert tx.items.get("i1").state is ReplicationState.TEST_FAILOVER
    with pytest.raises(AlreadyExists) as caught, store.unit() as tx:
        tx.items.add(_item("i2", "m1"))
    assert str(caught.value) == "machine 'web01' of fabric 'f1' is already protected"


def test_disk_markers_are_replaced_and_removed_with_their_item(store: VaultStore) -> None:
    first = DiskMarker("i1", "d1", "cut-1", 1, "a" * 64)
    with store.unit() as tx:
        tx.items.add(_item())
        tx.items.set_marker(first)
        tx.items.set_marker(DiskMarker("i1", "d2", "cut-1", 1, "b" * 64))
        tx.items.set_marker(DiskMarker("i1", "d1", "cut-2", 2, "c" * 64))
        assert tx.items.marker("i1", "d1") == DiskMarker("i1", "d1", "cut-2", 2, "c" * 64)
        assert [m.disk_id for m in tx.items.markers("i1")] == ["d1", "d2"]
        tx.items.clear_markers("i1")
        assert tx.items.markers("i1") == []
        tx.items.set_marker(first)
        tx.items.remove("i1")
        assert tx.items.marker("i1", "d1") is None


def test_recovery_points_latest_prune_and_remove(store: VaultStore) -> None:
    crash1 = _point("p1", 100.0, Consistency.CRASH)
    app = _point("p2", 200.0, Consistency.APP)
    crash2 = _point("p3", 300.0, Consistency.CRASH)
    with store.unit() as tx:
        tx.items.add(_item())
        for point in (crash2, crash1, app):
            tx.points.add(point)
        assert tx.points.for_item("i1") == [crash1, app, crash2]
        assert tx.points.latest("i1") == crash2
        assert tx.points.latest("i1", Consistency.APP) == app
        assert tx.points.get("p2") == app
        assert tx.points.prune("i1", older_than=200.0) == 1
        assert tx.points.remove(["p2", "nope"]) == 1
        assert tx.points.for_item("i1") == [crash2]
        tx.items.remove("i1")
        assert tx.points.find("p3") is None
        assert tx.points.latest("i1") is None


def test_mappings_are_replaced_per_source_and_target(store: VaultStore) -> None:
    first = NetworkMapping("f1", "net1", "cloud", "vnet-a")
    second = NetworkMapping("f1", "net1", "cloud", "vnet-b", IpPolicy.STATIC, "10.1.0.0/24")
    other = NetworkMapping("f1", "net1", "dr-site", "lan-b", IpPolicy.ASSIGN)
    storage = StorageMapping("f1", "ds1", "cloud", "account-1")
    with store.unit() as tx:
        tx.mappings.put_network(first)
        tx.mappings.put_network(second)
        tx.mappings.put_network(other)
        tx.mappings.put_storage(storage)
        assert tx.mappings.network("f1", "net1", "cloud") == second
        assert tx.mappings.networks() == [second, other]
        assert tx.mappings.networks("dr-site") == [other]
        assert tx.mappings.storage("f1", "ds1", "cloud") == storage
        assert tx.mappings.storages("cloud") == [storage]
        tx.mappings.remove_network("f1", "net1", "cloud")
        tx.mappings.remove_storage("f1", "ds1", "cloud")
        assert tx.mappings.network("f1", "net1", "cloud") is None
        assert tx.mappings.storages() == []
    with pytest.raises(NotFound) as caught, store.unit() as tx:
        tx.mappings.remove_network("f1", "net1", "cloud")
    assert str(caught.value) == "network 'net1' has no mapping to target 'cloud'"


def test_plan_round_trip(store: VaultStore) -> None:
    plan = RecoveryPlan(
        name="tier-1",
        description="web then db",
        concurrency=4,
        groups=(
            PlanGroup(
                "db",
                ("db01", "db02"),
                pre=(PlanAction("stop app", ActionKind.SCRIPT, ("stop.sh", "--all"), 60),),
                post=(PlanAction("check", ActionKind.MANUAL, message="check the logs"),),
            ),
            PlanGroup("web", ("web01",), post=(PlanAction("notify", ActionKind.HOOK),)),
        ),
    )
    with store.unit() as tx:
        tx.plans.add(plan)
        assert tx.plans.get("tier-1") == plan
        assert tx.plans.list() == [plan]
        smaller = RecoveryPlan("tier-1", (PlanGroup("web", ("web01",)),))
        tx.plans.update(smaller)
        assert tx.plans.get("tier-1") == smaller
        tx.plans.remove("tier-1")
        assert tx.plans.find("tier-1") is None


def test_token_records_allow_reusing_a_revoked_name(store: VaultStore) -> None:
    first = TokenRecord("t1", "ci", b"\x01" * 32, 1.0)
    with store.unit() as tx:
        tx.tokens.add(first)
        assert tx.tokens.by_digest(b"\x01" * 32) == first
        assert tx.tokens.get("ci") == first
        tx.tokens.revoke("t1", 2.0)
        tx.tokens.add(TokenRecord("t2", "ci", b"\x02" * 32, 3.0))
        assert tx.tokens.get("ci").token_id == "t2"
        assert tx.tokens.get("t1") == TokenRecord("t1", "ci", b"\x01" * 32, 1.0, True, 2.0)
        assert [r.token_id for r in tx.tokens.list()] == ["t1", "t2"]
    with pytest.raises(AlreadyExists) as caught, store.unit() as tx:
        tx.tokens.add(TokenRecord("t3", "ci", b"\x03" * 32, 4.0))
    assert str(caught.value) == "an API token named 'ci' already exists"


def test_the_database_enforces_one_live_token_per_name(store: VaultStore) -> None:
    # Bypass the repository's check: the partial unique index is the last word.
    with pytest.raises(StoreError) as caught, store.unit() as tx:
        tx.tokens.add(TokenRecord("t1", "ci", b"\x01" * 32, 1.0))
        from provider.store.schema import api_tokens

        tx.connection.execute(
            api_tokens.insert().values(
                token_id="t2", name="ci", digest=b"\x02" * 32, created_at=2.0, revoked=False
            )
        )
    assert str(caught.value).startswith(f"the vault at {store.where} refused a write: ")
    with store.read() as tx:
        assert tx.tokens.list() == []
