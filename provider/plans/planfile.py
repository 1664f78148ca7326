"""Recovery plan files: TOML, read with ``tomllib``, every problem reported at once.

The schema (``docs/recovery-plans.md`` shows a full example)::

    name = "erp"                      # required; no "/" nor "\\"
    description = "ERP stack"         # optional
    concurrency = 10                  # optional, machines failing over at once per group

    [[groups]]                        # one table per group, run in file order
    name = "databases"                # required, unique in the plan
    machines = ["db01", "db02"]       # machine names, machine ids or item ids

    [[groups.pre]]                    # actions before the group's machines, in order
    name = "stop-batch"
    kind = "script"                   # script | hook | manual
    command = ["/opt/dr/stop-batch", "--now"]   # argv, absolute path, no shell
    timeout_sec = 60                  # optional, default 300

    [[groups.post]]                   # actions after the group's machines
    name = "check-dns"
    kind = "manual"
    message = "Check that DNS points to the replicas, then resume the plan"

A ``hook`` action names what a plugin answers to (``srp_run_plan_action``).
Unknown fields, wrong types, empty groups, a machine named twice, more than
100 machines: each is a problem naming the group (with the line of its
``[[groups]]`` header) and the field; :class:`PlanError` lists them all,
one per line.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from provider.errors import PlanError, ValidationError
from provider.model.plan import MAX_PLAN_MACHINES, ActionKind, PlanAction, PlanGroup, RecoveryPlan

_PLAN_FIELDS = ("name", "description", "concurrency", "groups")
_GROUP_FIELDS = ("name", "machines", "pre", "post")
_ACTION_FIELDS = ("name", "kind", "command", "timeout_sec", "message")
_GROUP_HEADER = re.compile(r"^\s*\[\[\s*groups\s*\]\]\s*(#.*)?$")
_FORBIDDEN_NAME = re.compile(r"[\x00-\x1f/\\]")


def load_plan_file(path: Path) -> RecoveryPlan:
    """The plan in a TOML file; PlanError listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: cannot be read: {exc}") from exc
    return parse_plan_text(text, str(path))


def parse_plan_text(text: str, source: str = "<plan>") -> RecoveryPlan:
    """The plan in TOML text; ``source`` names it in messages."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{source}: not valid TOML: {exc}") from exc
    return plan_from_document(document, source, _group_lines(text))


def plan_from_document(
    document: Mapping[str, Any], source: str = "<plan>", group_lines: tuple[int, ...] = ()
) -> RecoveryPlan:
    """The plan in a parsed document (TOML or JSON); PlanError listing every problem."""
    reader = _Reader(source, group_lines)
    plan = reader.plan(document)
    if reader.problems or plan is None:
        raise PlanError("\n".join(reader.problems))
    return plan


def plan_to_document(plan: RecoveryPlan) -> dict[str, Any]:
    """The plan as a document :func:`plan_from_document` reads back (JSON-ready)."""
    document = asdict(plan)
    # asdict keeps tuples; a document has lists, as TOML and JSON give them.
    document["groups"] = [_group_document(group) for group in document["groups"]]
    return document


def _group_document(group: dict[str, Any]) -> dict[str, Any]:
    actions = {side: [_action_document(a) for a in group[side]] for side in ("pre", "post")}
    return {**group, "machines": list(group["machines"]), **actions}


def _action_document(action: dict[str, Any]) -> dict[str, Any]:
    return {**action, "kind": str(action["kind"]), "command": list(action["command"])}


def _group_lines(text: str) -> tuple[int, ...]:
    return tuple(n for n, line in enumerate(text.splitlines(), 1) if _GROUP_HEADER.match(line))


class _Reader:
    """Walks a plan document, collecting every problem instead of stopping at the first."""

    def __init__(self, source: str, group_lines: tuple[int, ...]) -> None:
        self.source = source
        self.group_lines = group_lines
        self.problems: list[str] = []

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{self.source}: {where}: {text}")

    def plan(self, document: Mapping[str, Any]) -> RecoveryPlan | None:
        self.unknown("plan", document, _PLAN_FIELDS)
        name = self.name("plan", document.get("name"))
        description = self.text("plan", "description", document.get("description", ""))
        concurrency = self.positive("plan", "concurrency", document.get("concurrency", 10))
        groups = self.groups(document.get("groups"))
        self.plan_wide(groups)
        if self.problems or name is None or concurrency is None or not groups:
            return None
        return self.built(name, description, concurrency, groups)

    def built(
        self, name: str, description: str, concurrency: int, groups: list[PlanGroup]
    ) -> RecoveryPlan | None:
        try:
            return RecoveryPlan(name, tuple(groups), concurrency, description)
        except ValidationError as exc:  # the checks above mirror the model's; kept as a guard
            self.problem("plan", str(exc))
            return None

    def groups(self, value: object) -> list[PlanGroup]:
        if value is None:
            self.problem("plan", "groups: the plan has no groups; add at least one [[groups]]")
            return []
        if not isinstance(value, list) or not all(isinstance(g, dict) for g in value):
            self.problem("plan", "groups: must be a list of [[groups]] tables")
            return []
        if not value:
            self.problem("plan", "groups: the plan has no groups; add at least one [[groups]]")
        found = [self.group(index, table) for index, table in enumerate(value)]
        return [group for group in found if group is not None]

    def group(self, index: int, table: Mapping[str, Any]) -> PlanGroup | None:
        where = self.group_where(index, table)
        self.unknown(where, table, _GROUP_FIELDS)
        name = self.text(where, "name", table.get("name"), required=True)
        machines = self.machines(where, table.get("machines"))
        pre = self.actions(where, "pre", table.get("pre", []))
        post = self.actions(where, "post", table.get("post", []))
        if not name or not machines or pre is None or post is None:
            return None
        return PlanGroup(name, machines, pre, post)

    def group_where(self, index: int, table: Mapping[str, Any]) -> str:
        name = table.get("name")
        label = f"group {index + 1}" + (f" ({name})" if isinstance(name, str) and name else "")
        if index < len(self.group_lines):
            return f"line {self.group_lines[index]}: {label}"
        return label

    def machines(self, where: str, value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(m, str) and m for m in value):
            self.problem(where, "machines: must be a list of machine names (texts)")
            return ()
        if not value:
            self.problem(where, "machines: the group is empty; name at least one machine")
            return ()
        for twice in _repeated(value):
            self.problem(where, f"machines: {twice!r} is named twice")
        return tuple(dict.fromkeys(value))

    def actions(self, where: str, side: str, value: object) -> tuple[PlanAction, ...] | None:
        if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
            self.problem(where, f"{side}: must be a list of [[groups.{side}]] tables")
            return None
        found = [
            self.action(f"{where}, {side} action {n + 1}", table) for n, table in enumerate(value)
        ]
        actions = [action for action in found if action is not None]
        return tuple(actions) if len(actions) == len(found) else None

    def action(self, where: str, table: Mapping[str, Any]) -> PlanAction | None:
        self.unknown(where, table, _ACTION_FIELDS)
        name = self.text(where, "name", table.get("name"), required=True)
        kind = self.kind(where, table.get("kind"))
        timeout = self.positive(where, "timeout_sec", table.get("timeout_sec", 300))
        message = self.text(where, "message", table.get("message", ""))
        command = self.command(where, kind, table.get("command", []))
        if kind is ActionKind.MANUAL and not message:
            self.problem(where, "message: a manual action needs a message for the operator")
        if not name or kind is None or command is None or timeout is None:
            return None
        if kind is ActionKind.MANUAL and not message:
            return None
        return PlanAction(name, kind, command, timeout, message)

    def kind(self, where: str, value: object) -> ActionKind | None:
        kinds = [kind.value for kind in ActionKind]
        if value not in kinds:
            self.problem(where, f"kind: must be one of {', '.join(kinds)}; got {value!r}")
            return None
        return ActionKind(value)

    def command(self, where: str, kind: ActionKind | None, value: object) -> tuple[str, ...] | None:
        if not isinstance(value, list) or not all(isinstance(part, str) for part in value):
            self.problem(where, "command: must be a list of texts (the program and its arguments)")
            return None
        if kind is ActionKind.SCRIPT and not value:
            self.problem(where, "command: a script action needs a command")
            return None
        if kind is ActionKind.SCRIPT and not Path(value[0]).is_absolute():
            self.problem(
                where,
                f"command: {value[0]!r} must be an absolute path (scripts run on the "
                "service's host, without a shell)",
            )
            return None
        return tuple(value)

    def plan_wide(self, groups: list[PlanGroup]) -> None:
        for twice in _repeated([group.name for group in groups]):
            self.problem("plan", f"groups: two groups are named {twice!r}")
        machines = [machine for group in groups for machine in group.machines]
        for twice in _repeated(machines):
            owners = [g.name for g in groups if twice in g.machines]
            self.problem("plan", f"machine {twice!r} is named twice (groups: {', '.join(owners)})")
        if len(set(machines)) > MAX_PLAN_MACHINES:
            self.problem(
                "plan",
                f"the plan holds {len(set(machines))} machines; the limit is "
                f"{MAX_PLAN_MACHINES}: split it into several plans",
            )

    def unknown(self, where: str, table: Mapping[str, Any], known: tuple[str, ...]) -> None:
        for field in table:
            if field not in known:
                self.problem(where, f"unknown field {field!r} (known: {', '.join(known)})")

    def name(self, where: str, value: object) -> str | None:
        text = self.text(where, "name", value, required=True)
        if text and (_FORBIDDEN_NAME.search(text) or text in {".", ".."}):
            self.problem(where, f"name: {text!r} contains a path separator or a control character")
            return None
        return text or None

    def text(self, where: str, field: str, value: object, *, required: bool = False) -> str:
        if not isinstance(value, str) or (required and not value.strip()):
            wanted = "a non-empty text" if required else "a text"
            self.problem(where, f"{field}: must be {wanted}, got {value!r}")
            return ""
        return value

    def positive(self, where: str, field: str, value: object) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.problem(where, f"{field}: must be a positive integer, got {value!r}")
            return None
        return value


def _repeated(values: list[str]) -> list[str]:
    seen: set[str] = set()
    repeated: dict[str, None] = {}
    for value in values:
        if value in seen:
            repeated[value] = None
        seen.add(value)
    return list(repeated)
