"""``srp job list/show/watch/cancel/resume``, through the service.

``watch`` shows a live progress bar until the job ends, and exits non-zero
(the code of JobError) when it failed or was cancelled, so scripts can wait
on a job.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from provider.cli import output
from provider.cli.client import ServiceClient, path
from provider.cli.formats import JsonOption, percent, when
from provider.errors import JobError

job_app = typer.Typer(help="Durable jobs: progress, cancel, resume.", no_args_is_help=True)

_FINISHED = {"succeeded", "failed", "cancelled"}
POLL_SECONDS = 0.25


@job_app.command("list")
def list_jobs(
    state: Annotated[str | None, typer.Option(help="Only jobs in this state.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Jobs, newest first."""
    with ServiceClient.from_env() as client:
        rows = client.get("/jobs", params={"state": state} if state else None)
    for row in rows:
        row["done"] = percent(row["progress"])
        row["created"] = when(row["created_at"])
    columns = ["job_id", "kind", "target", "state", "done", "created", "error"]
    output.emit(rows, columns, as_json=as_json, title="jobs")


@job_app.command("show")
def show(job_id: str, as_json: JsonOption = False) -> None:
    """One job with its tasks."""
    with ServiceClient.from_env() as client:
        job = client.get(path("jobs", job_id))
    if as_json:
        output.emit_object(job, as_json=True)
        return
    tasks = job.pop("tasks")
    job["progress"] = percent(job["progress"])
    output.emit_object({k: v for k, v in job.items() if not k.endswith("_at")}, as_json=False)
    for task in tasks:
        task["done"] = percent(task["progress"])
    columns = ["task_id", "name", "state", "done", "error"]
    output.emit(tasks, columns, as_json=False, title="tasks")


@job_app.command("watch")
def watch(job_id: str, as_json: JsonOption = False) -> None:
    """Show the job's progress until it ends; non-zero exit if it failed or was cancelled."""
    with ServiceClient.from_env() as client:
        job = follow(client, job_id, quiet=as_json)
    if as_json:
        output.emit_object(job, as_json=True)
    conclude(job)


@job_app.command("cancel")
def cancel(job_id: str) -> None:
    """Cancel a job (a running one stops before its next task)."""
    with ServiceClient.from_env() as client:
        job = client.post(path("jobs", job_id, "cancel"))
    output.stdout.print(f"job {job_id} is {job['state']}", highlight=False)


@job_app.command("resume")
def resume(
    job_id: str,
    retry: Annotated[bool, typer.Option(help="Run the failed task again.")] = False,
    skip: Annotated[bool, typer.Option(help="Skip the failed task.")] = False,
    wait: Annotated[bool, typer.Option(help="Watch the job until it ends.")] = False,
) -> None:
    """Resume a waiting job, or a failed one with --retry or --skip."""
    with ServiceClient.from_env() as client:
        client.post(path("jobs", job_id, "resume"), {"retry": retry, "skip": skip})
        output.stdout.print(f"job {job_id} resumed", highlight=False)
        if wait:
            conclude(follow(client, job_id, quiet=False))


def follow(client: ServiceClient, job_id: str, *, quiet: bool) -> dict[str, Any]:
    """Poll the job until it ends, drawing a progress bar unless ``quiet``."""
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, console=output.stderr, disable=quiet) as bar:
        job = client.get(path("jobs", job_id))
        line = bar.add_task(_label(job), total=1.0)
        while job["state"] not in _FINISHED:
            bar.update(line, completed=job["progress"], description=_label(job))
            time.sleep(POLL_SECONDS)
            job = client.get(path("jobs", job_id))
        bar.update(line, completed=job["progress"], description=_label(job))
    return dict(job)


def conclude(job: dict[str, Any]) -> None:
    """Say how the job ended; JobError (a non-zero exit) unless it succeeded."""
    if job["state"] == "succeeded":
        output.stderr.print(f"job {job['job_id']} succeeded", highlight=False)
        return
    reason = f": {job['error']}" if job["error"] else ""
    raise JobError(f"job {job['job_id']} {job['state']}{reason}")


def _label(job: dict[str, Any]) -> str:
    running = [t["name"] for t in job["tasks"] if t["state"] == "running"]
    doing = f" ({', '.join(running)})" if running else ""
    return f"{job['kind']} {job['target']}: {job['state']}{doing}"
