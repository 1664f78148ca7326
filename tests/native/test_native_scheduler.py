"""The scheduler refreshes native groups from their target and never cycles them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from provider.engine.protect import ProtectRequest, protect
from provider.model.states import ReplicationState
from provider.service.gate import ItemGate
from provider.service.scheduler import Scheduler
from tests.native.native_testkit import NativeLab, native_lab


@pytest.fixture
def nl(tmp_path: Path) -> Iterator[NativeLab]:
    with native_lab(tmp_path) as made:
        yield made


def test_engine_protect_toward_a_native_target_asks_the_target(nl: NativeLab) -> None:
    web = nl.machine("web01")
    request = ProtectRequest(nl.fabric_id, web.machine_id, "scout", nl.target_id)
    item = protect(nl.harness.ctx, request)
    assert item.state is ReplicationState.INITIAL_REPLICATION
    (plan,) = nl.lab.cx.plans.values()
    assert (plan.name, sorted(plan.pairs)) == (item.item_id, [web.machine_id])


def test_a_tick_refreshes_the_native_group_and_runs_no_cycle(nl: NativeLab) -> None:
    web = nl.machine("web01")
    item = protect(
        nl.harness.ctx, ProtectRequest(nl.fabric_id, web.machine_id, "scout", nl.target_id)
    )
    nl.lab.cx.replicate()
    nl.lab.cx.issue_tag(item.item_id, "tag-1", "System")
    nl.lab.cx.replicate()
    gate = ItemGate()
    report = Scheduler(nl.harness.ctx, gate).tick()
    assert (report.runs, report.refreshed) == ((), (f"{nl.target_id}/{item.item_id}",))
    assert nl.harness.item(item.item_id).state is ReplicationState.PROTECTED
    assert [p.cut_id for p in nl.harness.points(item.item_id)] == ["tag-1"]


def test_a_busy_native_group_is_left_for_the_next_tick(nl: NativeLab) -> None:
    web = nl.machine("web01")
    item = protect(
        nl.harness.ctx, ProtectRequest(nl.fabric_id, web.machine_id, "scout", nl.target_id)
    )
    nl.lab.cx.replicate()
    gate = ItemGate()
    assert gate.try_claim([item.item_id])
    report = Scheduler(nl.harness.ctx, gate).tick()
    assert (report.refreshed, report.busy) == ((), (item.item_id,))
    assert nl.harness.item(item.item_id).state is ReplicationState.INITIAL_REPLICATION
