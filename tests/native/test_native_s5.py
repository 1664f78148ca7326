"""Scenario S5 through the core: protect, refresh, points in the vault, unplanned failover.

The real inmage plugin over loopback HTTP drives the simulated CX; the core
(provider.native and the failover service) keeps the items, their states,
health and recovery points in the vault.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from provider.contracts.declarations import FailoverMode
from provider.errors import AlreadyExists, NotSupported, RecoveryPointUnavailable
from provider.failover import FailoverOptions, PointChoice, PointSpec
from provider.model.job import JobState
from provider.model.recovery import Consistency
from provider.model.states import Health, ReplicationState
from provider.native import (
    NativeProtectRequest,
    protect_native,
    refresh_all,
    refresh_group,
    stop_native,
)
from tests.native.native_testkit import NativeLab, native_lab

_R = ReplicationState


@pytest.fixture
def nl(tmp_path: Path) -> Iterator[NativeLab]:
    with native_lab(tmp_path) as made:
        yield made


def _protect_group(nl: NativeLab) -> list[str]:
    web, db = nl.machine("web01"), nl.machine("db01")
    request = NativeProtectRequest(
        nl.fabric_id, (web.machine_id, db.machine_id), "scout", nl.target_id, "s5-group"
    )
    return [item.item_id for item in protect_native(nl.harness.ctx, request)]


def _digests(disks: list[object]) -> list[str]:
    return [disk.digest().hex() for disk in disks]  # type: ignore[attr-defined]


def test_protect_stores_items_in_initial_replication_until_the_target_says_protected(
    nl: NativeLab,
) -> None:
    web_id, db_id = _protect_group(nl)
    assert [nl.harness.item(i).state for i in (web_id, db_id)] == [_R.INITIAL_REPLICATION] * 2
    assert sorted(nl.lab.cx.plans[p].name for p in nl.lab.cx.plans) == ["s5-group"]
    nl.lab.cx.replicate()
    (refreshed,) = refresh_all(nl.harness.ctx)
    assert (refreshed.group_id, refreshed.points_added) == ("s5-group", 0)
    assert [(i.state, i.health.level) for i in refreshed.items] == [
        (_R.PROTECTED, Health.NORMAL)
    ] * 2


def test_protecting_a_machine_twice_is_refused_before_the_target_is_asked(nl: NativeLab) -> None:
    web_id, _ = _protect_group(nl)
    web = nl.machine("web01")
    request = NativeProtectRequest(nl.fabric_id, (web.machine_id,), "scout", nl.target_id)
    with pytest.raises(AlreadyExists) as caught:
        protect_native(nl.harness.ctx, request)
    assert caught.value.message == f"web01 is already protected (item {web_id})"
    assert len(nl.lab.cx.plans) == 1


def test_target_points_are_recorded_in_the_vault_with_their_names(nl: NativeLab) -> None:
    web_id, db_id = _protect_group(nl)
    nl.lab.cx.replicate()
    nl.lab.clock.advance(300)
    nl.lab.cx.issue_tag("s5-group", "app-1", "Application")
    nl.lab.cx.replicate()
    refreshed = refresh_group(nl.harness.ctx, nl.target_id, "s5-group")
    assert (refreshed.points_added, refreshed.points_removed) == (2, 0)
    for item_id in (web_id, db_id):
        (point,) = nl.harness.points(item_id)
        assert (point.cut_id, point.group_cut, point.consistency) == (
            "app-1",
            "app-1",
            Consistency.APP,
        )
        assert nl.harness.item(item_id).last_point_at == point.created_at
    again = refresh_group(nl.harness.ctx, nl.target_id, "s5-group")
    assert (again.points_added, again.points_removed) == (0, 0)


def test_unplanned_group_failover_lands_both_machines_on_one_named_common_point(
    nl: NativeLab,
) -> None:
    web_id, db_id = _protect_group(nl)
    vm_disks = nl.lab.vcenter.vm_named("web01").virtual_disks
    nl.lab.cx.replicate()
    vm_disks[0].write(0, b"web-os" * 100)
    nl.lab.physical.disks[0].write(4096, b"db-data" * 50)
    nl.lab.clock.advance(300)
    nl.lab.cx.issue_tag("s5-group", "app-1", "Application")
    at_tag = (_digests(vm_disks), _digests(nl.lab.physical.disks))
    vm_disks[0].write(0, b"after-the-tag")
    nl.lab.physical.disks[0].write(0, b"after-the-tag")
    nl.lab.cx.replicate()
    refresh_group(nl.harness.ctx, nl.target_id, "s5-group")
    (web_point,) = nl.harness.points(web_id)
    # These tests are about points: NIC placement is the S5 scenario's (tests/scenarios).
    options = FailoverOptions(PointSpec.named(web_point.point_id), allow_unmapped=True)

    job = nl.failover.unplanned_failover([web_id, db_id], options)

    assert job.state is JobState.SUCCEEDED
    web, db = nl.harness.item(web_id), nl.harness.item(db_id)
    assert (web.state, db.state) == (_R.FAILED_OVER, _R.FAILED_OVER)
    assert web.failover_point_id == web_point.point_id
    assert db.failover_point_id == nl.harness.points(db_id)[0].point_id
    assert _digests(nl.lab.cx.hosts[web.replica_id].disks) == at_tag[0]
    assert _digests(nl.lab.cx.hosts[db.replica_id].disks) == at_tag[1]


def test_seed_rule_unplanned_failover_leaves_the_machines_unprotected(nl: NativeLab) -> None:
    web_id, db_id = _protect_group(nl)
    nl.lab.cx.replicate()
    nl.lab.cx.issue_tag("s5-group", "sys-1", "System")
    nl.lab.cx.replicate()
    refresh_group(nl.harness.ctx, nl.target_id, "s5-group")
    options = FailoverOptions(PointSpec(), allow_unmapped=True)
    nl.failover.unplanned_failover([web_id, db_id], options)
    # The target replicates them no more, and a refresh does not bring them back.
    assert nl.lab.cx.plans == {}
    assert refresh_all(nl.harness.ctx) == []
    assert {nl.harness.item(i).state for i in (web_id, db_id)} == {_R.FAILED_OVER}
    nl.failover.commit([web_id])
    web = nl.harness.item(web_id)
    assert web.state is _R.COMMITTED
    assert web.replica_id in nl.lab.cx.hosts


def test_latest_app_without_an_app_point_is_refused_before_anything_changes(
    nl: NativeLab,
) -> None:
    web_id, _ = _protect_group(nl)
    nl.lab.cx.replicate()
    nl.lab.cx.issue_tag("s5-group", "sys-1", "System")
    nl.lab.cx.replicate()
    refresh_group(nl.harness.ctx, nl.target_id, "s5-group")
    options = FailoverOptions(PointSpec(PointChoice.LATEST_APP))
    with pytest.raises(RecoveryPointUnavailable) as caught:
        nl.failover.unplanned_failover([web_id], options)
    assert caught.value.message == f"web01 ({web_id}) has no app-consistent recovery point"
    assert nl.harness.item(web_id).state is _R.PROTECTED
    assert len(nl.lab.cx.plans) == 1


def test_seed_rule_planned_failover_of_inmage_machines_is_refused(nl: NativeLab) -> None:
    web_id, _ = _protect_group(nl)
    nl.lab.cx.replicate()
    refresh_group(nl.harness.ctx, nl.target_id, "s5-group")
    with pytest.raises(NotSupported) as caught:
        nl.failover.planned_failover([web_id])
    declared = nl.harness.plugins.fabric_kind("inmage").capabilities.failover_modes
    assert FailoverMode.PLANNED not in declared
    assert caught.value.message == (
        f"planned failover of web01 ({web_id}) is not supported: inmage machines to a "
        f"inmage-site target declare {', '.join(m.value for m in declared)}"
    )
    assert nl.harness.item(web_id).state is _R.PROTECTED


def test_a_point_out_of_the_targets_retention_leaves_the_vault(nl: NativeLab) -> None:
    web_id, _ = _protect_group(nl)
    nl.lab.cx.replicate()
    nl.lab.cx.issue_tag("s5-group", "old", "System")
    nl.lab.cx.replicate()
    refresh_group(nl.harness.ctx, nl.target_id, "s5-group")
    (old,) = nl.harness.points(web_id)
    nl.lab.clock.advance(73 * 3600)
    nl.lab.cx.issue_tag("s5-group", "new", "System")
    nl.lab.cx.replicate()
    # The master target prunes its journal when it applies the next batch.
    nl.lab.vcenter.vm_named("web01").virtual_disks[0].write(0, b"later")
    nl.lab.physical.disks[0].write(0, b"later")
    nl.lab.cx.replicate()
    refreshed = refresh_group(nl.harness.ctx, nl.target_id, "s5-group")
    assert [p.cut_id for p in nl.harness.points(web_id)] == ["new"]
    assert refreshed.points_removed == 2
    assert old.cut_id == "old"


def test_stop_forgets_the_group_on_the_target_and_disables_the_items(nl: NativeLab) -> None:
    web_id, db_id = _protect_group(nl)
    stopped = stop_native(nl.harness.ctx, nl.target_id, "s5-group")
    assert [i.state for i in stopped] == [_R.DISABLED] * 2
    assert nl.lab.cx.plans == {}
    assert {nl.harness.item(i).state for i in (web_id, db_id)} == {_R.DISABLED}
