"""Plan files: the schema, and every problem named with its line, group and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from provider.errors import PlanError
from provider.model.plan import ActionKind, PlanAction, PlanGroup, RecoveryPlan
from provider.plans import load_plan_file, parse_plan_text, plan_from_document, plan_to_document

FULL = """
name = "erp"
description = "ERP stack"
concurrency = 4

[[groups]]
name = "databases"
machines = ["db01", "db02"]

[[groups.pre]]
name = "stop-batch"
kind = "script"
command = ["/opt/dr/stop-batch", "--now"]
timeout_sec = 60

[[groups.post]]
name = "dns"
kind = "manual"
message = "point DNS at the replicas"

[[groups]]
name = "web"
machines = ["web01"]

[[groups.pre]]
name = "drain-lb"
kind = "hook"
"""


def problems(text: str) -> list[str]:
    with pytest.raises(PlanError) as raised:
        parse_plan_text(text, "erp.toml")
    return str(raised.value).splitlines()


def test_a_full_plan_file_reads_into_the_model_and_back() -> None:
    plan = parse_plan_text(FULL)
    assert plan == RecoveryPlan(
        "erp",
        (
            PlanGroup(
                "databases",
                ("db01", "db02"),
                pre=(
                    PlanAction(
                        "stop-batch", ActionKind.SCRIPT, ("/opt/dr/stop-batch", "--now"), 60
                    ),
                ),
                post=(PlanAction("dns", ActionKind.MANUAL, message="point DNS at the replicas"),),
            ),
            PlanGroup("web", ("web01",), pre=(PlanAction("drain-lb", ActionKind.HOOK),)),
        ),
        concurrency=4,
        description="ERP stack",
    )
    assert plan_from_document(plan_to_document(plan)) == plan


def test_toml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "erp"\n[[groups]\n', encoding="utf-8")
    with pytest.raises(PlanError) as raised:
        load_plan_file(path)
    assert str(raised.value) == (
        f"{path}: not valid TOML: Expected ']]' at the end of an array declaration "
        "(at line 2, column 9)"
    )


def test_every_field_problem_is_named_with_its_group_line_and_field() -> None:
    text = """name = "erp"
colour = "red"

[[groups]]
name = "databases"
machines = ["db01", "db01"]

[[groups.pre]]
name = "stop"
kind = "script"
command = ["stop-batch"]

[[groups]]
name = "web"
machines = []

[[groups.post]]
name = "dns"
kind = "manual"
timeout_sec = 0

[[groups]]
name = "web"
machines = ["db01"]
pre = [{ name = "x", kind = "shell" }]
"""
    assert problems(text) == [
        "erp.toml: plan: unknown field 'colour' (known: name, description, concurrency, groups)",
        "erp.toml: line 4: group 1 (databases): machines: 'db01' is named twice",
        "erp.toml: line 4: group 1 (databases), pre action 1: command: 'stop-batch' must be an "
        "absolute path (scripts run on the service's host, without a shell)",
        "erp.toml: line 13: group 2 (web): machines: the group is empty; name at least one machine",
        "erp.toml: line 13: group 2 (web), post action 1: timeout_sec: must be a positive "
        "integer, got 0",
        "erp.toml: line 13: group 2 (web), post action 1: message: a manual action needs a "
        "message for the operator",
        "erp.toml: line 22: group 3 (web), pre action 1: kind: must be one of script, hook, "
        "manual; got 'shell'",
    ]


def test_plan_wide_problems_duplicates_and_the_machine_limit() -> None:
    machines = ", ".join(f'"vm{n:03}"' for n in range(101))
    text = f"""name = "big"
[[groups]]
name = "a"
machines = [{machines}]
[[groups]]
name = "a"
machines = ["vm000"]
"""
    assert problems(text) == [
        "erp.toml: plan: groups: two groups are named 'a'",
        "erp.toml: plan: machine 'vm000' is named twice (groups: a, a)",
        "erp.toml: plan: the plan holds 101 machines; the limit is 100: split it into several "
        "plans",
    ]


def test_a_plan_without_groups_or_name_is_refused() -> None:
    assert problems("concurrency = 'many'\n") == [
        "erp.toml: plan: name: must be a non-empty text, got None",
        "erp.toml: plan: concurrency: must be a positive integer, got 'many'",
        "erp.toml: plan: groups: the plan has no groups; add at least one [[groups]]",
    ]
