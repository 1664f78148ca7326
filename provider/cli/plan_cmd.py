"""``srp plan validate/create/list/show/run/resume``: recovery plans, through the service.

``validate`` checks the file locally (syntax, schema, duplicates, empty
groups, the 100-machine limit) and, when a service is running, against the
vault (unknown or unprotected machines, missing network mappings, scripts
missing on the service's host). Each problem is printed on its own line
and the command exits 4 (the code of PlanError).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from provider.cli import output
from provider.cli.client import ServiceClient, path
from provider.cli.formats import JsonOption
from provider.cli.job_cmd import conclude, follow
from provider.errors import ConfigurationError, PlanError
from provider.plans import load_plan_file

plan_app = typer.Typer(
    help="Recovery plans: ordered groups of machines with actions.", no_args_is_help=True
)

FileArgument = Annotated[Path, typer.Argument(help="The plan file (TOML).")]
WaitOption = Annotated[bool, typer.Option(help="Show the plan's progress until it ends.")]


@plan_app.command("validate")
def validate(file: FileArgument) -> None:
    """Check a plan file, against the vault too when a service is running."""
    body = _file_body(file)
    try:
        with ServiceClient.from_env() as client:
            answer = client.post("/plans/validate", body)
    except ConfigurationError as exc:
        # No service: what can be checked locally was (the parse above).
        _local_only(file, exc)
        return
    _report(file, answer["problems"])
    output.stdout.print(f"{file}: plan {answer['name']} is valid", highlight=False)


@plan_app.command("create")
def create(
    file: FileArgument,
    replace: Annotated[bool, typer.Option(help="Replace a plan of the same name.")] = False,
) -> None:
    """Store a plan in the vault (it is validated first)."""
    with ServiceClient.from_env() as client:
        plan = client.post("/plans", {**_file_body(file), "replace": replace})
    output.stdout.print(
        f"plan {plan['name']} stored: {len(plan['groups'])} groups, {plan['machines']} machines",
        highlight=False,
    )


@plan_app.command("list")
def list_plans(as_json: JsonOption = False) -> None:
    """Every stored plan."""
    with ServiceClient.from_env() as client:
        plans = client.get("/plans")
    rows = [{**p, "groups": len(p["groups"])} for p in plans]
    columns = ["name", "groups", "machines", "concurrency", "description"]
    output.emit(rows, columns, as_json=as_json, title="recovery plans")


@plan_app.command("show")
def show(name: str, as_json: JsonOption = False) -> None:
    """One plan: its groups, machines and actions."""
    with ServiceClient.from_env() as client:
        plan = client.get(path("plans", name))
    if as_json:
        output.emit_object(plan, as_json=True)
        return
    output.emit_object({k: plan[k] for k in ("name", "description", "concurrency")}, as_json=False)
    output.emit(_group_rows(plan), ["group", "step", "what"], as_json=False, title="steps")


@plan_app.command("run")
def run(
    name: str,
    mode: Annotated[str, typer.Option(help="test, planned, unplanned or failback.")],
    point: Annotated[str, typer.Option(help="latest, latest-processed or latest-app.")] = "latest",
    wait: WaitOption = False,
    as_json: JsonOption = False,
) -> None:
    """Run a plan as a durable job (watch it with --wait)."""
    with ServiceClient.from_env() as client:
        job = client.post(path("plans", name, "run"), {"mode": mode, "point": point})
        output.stderr.print(f"plan {name} ({mode}): job {job['job_id']}", highlight=False)
        if wait:
            job = follow(client, job["job_id"], quiet=as_json)
    if as_json:
        output.emit_object(job, as_json=True)
    if wait:
        conclude(job)


@plan_app.command("resume")
def resume(
    job_id: str,
    retry: Annotated[bool, typer.Option(help="Run the failed step again.")] = False,
    skip: Annotated[bool, typer.Option(help="Skip the failed step.")] = False,
    wait: WaitOption = False,
) -> None:
    """Resume a plan paused by a manual action, or a failed one with --retry or --skip."""
    with ServiceClient.from_env() as client:
        client.post(path("plans", "jobs", job_id, "resume"), {"retry": retry, "skip": skip})
        output.stderr.print(f"plan job {job_id} resumed", highlight=False)
        if wait:
            conclude(follow(client, job_id, quiet=False))


def _file_body(file: Path) -> dict[str, Any]:
    """The file's text, after the local checks (PlanError listing each problem)."""
    try:
        load_plan_file(file)
    except PlanError as exc:
        _report(file, str(exc).splitlines())
    return {"text": file.read_text(encoding="utf-8"), "source": str(file)}


def _report(file: Path, problems: list[str]) -> None:
    if not problems:
        return
    for problem in problems:
        output.stdout.print(problem, highlight=False, markup=False, soft_wrap=True)
    raise PlanError(f"{file}: {len(problems)} problem(s)")


def _local_only(file: Path, reason: ConfigurationError) -> None:
    output.stdout.print(f"{file}: the file is valid", highlight=False)
    output.stderr.print(
        f"note: not checked against the vault ({reason})", highlight=False, markup=False
    )


def _group_rows(plan: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for group in plan["groups"]:
        rows.extend(_action_rows(group["name"], "pre", group["pre"]))
        rows.append(
            {"group": group["name"], "step": "machines", "what": ", ".join(group["machines"])}
        )
        rows.extend(_action_rows(group["name"], "post", group["post"]))
    return rows


def _action_rows(group: str, side: str, actions: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {
            "group": group,
            "step": f"{side} {action['kind']} {action['name']}",
            "what": " ".join(action["command"]) or action["message"],
        }
        for action in actions
    ]
