"""``srp failover test|cleanup|planned|unplanned|commit|cancel|reverse|failback|drill``.

Each operation asks the service for a job (machines by item id or machine
name, or a whole replication ``--group``) and says which job to watch; with
``--wait`` it shows the job's live progress bar until it ends and exits
non-zero (the code of JobError) when it failed or was cancelled. A drill
(``test --wait``, or ``drill JOB`` later) prints a table per machine and
disk: the point used, the replica started, and whether the disk's digest
equals the source's at the point (``--json`` has the digests themselves); an
unverified drill exits non-zero too.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from provider.cli import output
from provider.cli.client import ServiceClient, path
from provider.cli.formats import JsonOption, when
from provider.cli.job_cmd import conclude, follow
from provider.errors import FailoverError

failover_app = typer.Typer(
    help="Test, planned and unplanned failover, commit, cancel, re-protect, failback.",
    no_args_is_help=True,
)

Items = Annotated[
    list[str] | None,
    typer.Argument(help="Protected item ids or machine names.", show_default=False),
]
Group = Annotated[str, typer.Option(help="Every item of this replication group instead.")]
Point = Annotated[
    str, typer.Option(help="latest, latest-processed, latest-app, or a recovery point id.")
]
AllowUnmapped = Annotated[
    bool, typer.Option(help="Fail over even where a NIC's network has no mapping (NIC left out).")
]
Wait = Annotated[bool, typer.Option(help="Show the job's progress until it ends.")]


@failover_app.command("test")
def test_failover(
    items: Items = None,
    group: Group = "",
    point: Point = "latest",
    test_network: Annotated[
        str, typer.Option(help="Isolated target network (default: the target's first).")
    ] = "",
    allow_unmapped: AllowUnmapped = False,
    wait: Wait = False,
    as_json: JsonOption = False,
) -> None:
    """Drill: start replicas at a point in an isolated network; replication goes on."""
    options = {"point": point, "test_network": test_network, "allow_unmapped": allow_unmapped}
    submit("test", items, group, options, wait=wait, as_json=as_json)


@failover_app.command("cleanup")
def cleanup(
    items: Items = None, group: Group = "", wait: Wait = False, as_json: JsonOption = False
) -> None:
    """Remove every artefact of the drills (a second cleanup is a no-op)."""
    submit("test/cleanup", items, group, {}, wait=wait, as_json=as_json)


@failover_app.command("planned")
def planned(
    items: Items = None,
    group: Group = "",
    allow_unmapped: AllowUnmapped = False,
    wait: Wait = False,
    as_json: JsonOption = False,
) -> None:
    """Shut the sources down, replicate their last changes, fail over with no data loss."""
    submit("planned", items, group, {"allow_unmapped": allow_unmapped}, wait=wait, as_json=as_json)


@failover_app.command("unplanned")
def unplanned(
    items: Items = None,
    group: Group = "",
    point: Point = "latest",
    allow_unmapped: AllowUnmapped = False,
    wait: Wait = False,
    as_json: JsonOption = False,
) -> None:
    """Fail over to a recovery point without the sources (a site is down)."""
    options = {"point": point, "allow_unmapped": allow_unmapped}
    submit("unplanned", items, group, options, wait=wait, as_json=as_json)


@failover_app.command("commit")
def commit(
    items: Items = None, group: Group = "", wait: Wait = False, as_json: JsonOption = False
) -> None:
    """Make failovers final; the other recovery points are discarded."""
    submit("commit", items, group, {}, wait=wait, as_json=as_json)


@failover_app.command("cancel")
def cancel(
    items: Items = None, group: Group = "", wait: Wait = False, as_json: JsonOption = False
) -> None:
    """Undo failovers that were not committed; the items replicate again."""
    submit("cancel", items, group, {}, wait=wait, as_json=as_json)


@failover_app.command("reverse")
def reverse(
    items: Items = None, group: Group = "", wait: Wait = False, as_json: JsonOption = False
) -> None:
    """Re-protect committed failovers: send the replicas' differing blocks back."""
    submit("reverse", items, group, {}, wait=wait, as_json=as_json)


@failover_app.command("failback")
def failback(
    items: Items = None,
    group: Group = "",
    alternate_host: Annotated[
        str, typer.Option(help="Create a new machine on this host instead (alternate location).")
    ] = "",
    name: Annotated[
        str, typer.Option(help="The new machine's name (default: the protected machine's).")
    ] = "",
    alternate_fabric: Annotated[
        str,
        typer.Option(
            help="Create the new machine on this registered fabric (id or name) instead of the "
            "item's own; a physical server fails back to a vmware fabric."
        ),
    ] = "",
    wait: Wait = False,
    as_json: JsonOption = False,
) -> None:
    """Fail back to the original machines (differences only) or to new ones on a host."""
    chosen = {"alternate_host": alternate_host, "name": name, "alternate_fabric": alternate_fabric}
    alternate = {key: value for key, value in chosen.items() if value}
    submit("failback", items, group, alternate, wait=wait, as_json=as_json)


@failover_app.command("drill")
def drill(
    job_id: Annotated[str, typer.Argument(help="A test failover job.")], as_json: JsonOption = False
) -> None:
    """The drill reports of a test failover job; non-zero exit unless every checked one verified."""
    with ServiceClient.from_env() as client:
        reports = client.get(path("failover", "drills", job_id))
    if as_json:
        output.emit(reports, [], as_json=True, title="")
    else:
        show_drills(reports)
    require_verified(reports)


def submit(
    operation: str,
    items: list[str] | None,
    group: str,
    options: dict[str, Any],
    *,
    wait: bool,
    as_json: bool,
) -> None:
    """Ask the service for the operation's job; with ``wait``, follow it to its end."""
    body = {"items": list(items or []), "group": group, **options}
    with ServiceClient.from_env() as client:
        answer = client.post(path("failover", *operation.split("/")), body)
        job = answer["job"]
        if not wait:
            _announce(answer, as_json)
            return
        output.stderr.print(f"{job['kind']} {job['target']}: job {job['job_id']}", highlight=False)
        ended = follow(client, answer["job_id"], quiet=as_json)
        reports = _drills_of(client, ended)
    _report(ended, reports, as_json)


def _announce(answer: dict[str, Any], as_json: bool) -> None:
    if as_json:
        output.emit_object(answer, as_json=True)
        return
    job = answer["job"]
    output.stderr.print(f"{job['kind']} {job['target']}: job {job['job_id']}", highlight=False)
    output.stderr.print(f"watch it with `srp job watch {job['job_id']}`", highlight=False)


def _drills_of(client: ServiceClient, job: dict[str, Any]) -> list[dict[str, Any]] | None:
    # A drill's reports are worth showing only once its job succeeded.
    if job["kind"] != "failover.test" or job["state"] != "succeeded":
        return None
    return list(client.get(path("failover", "drills", job["job_id"])))


def _report(job: dict[str, Any], reports: list[dict[str, Any]] | None, as_json: bool) -> None:
    if as_json:
        shown = {**job, "drills": reports} if reports is not None else job
        output.emit_object(shown, as_json=True)
    elif reports is not None:
        show_drills(reports)
    conclude(job)
    if reports is not None:
        require_verified(reports)


def show_drills(reports: list[dict[str, Any]]) -> None:
    """One table row per machine and disk: the point, the replica, and whether digests match."""
    rows = [
        {
            "machine": report["machine_name"],
            "point": f"{report['point_id']} ({when(report['point_created_at'])})",
            "replica": f"{report['replica_name']} ({report['power_state']})",
            "disk": disk["disk_id"],
            "digest_match": _match(disk),
        }
        for report in reports
        for disk in report["disks"]
    ]
    columns = ["machine", "point", "replica", "disk", "digest_match"]
    output.emit(rows, columns, as_json=False, title="drill reports")


def _match(disk: dict[str, Any]) -> str:
    if disk.get("source_digest") == "":
        return "n/a"
    return "yes" if disk["equal"] else "NO"


def checkable(report: dict[str, Any]) -> bool:
    """False for a native drill: the target replicated by itself, srp holds no source digest.

    Such a report can neither verify nor fail; counting it as failed would
    make every native drill exit non-zero, blaming disks that were never compared.
    """
    disks = report["disks"]
    return not disks or any(disk.get("source_digest") != "" for disk in disks)


def require_verified(reports: list[dict[str, Any]]) -> None:
    """FailoverError (a non-zero exit) naming every drill srp could check that did not verify."""
    failed = [report for report in reports if checkable(report) and not report["verified"]]
    if not failed:
        return
    described = "; ".join(_why(report) for report in failed)
    raise FailoverError(f"drill not verified: {described}")


def _why(report: dict[str, Any]) -> str:
    differing = [disk["disk_id"] for disk in report["disks"] if not disk["equal"]]
    if differing:
        return f"{report['machine_name']}: disks {', '.join(differing)} differ from the source"
    return f"{report['machine_name']}: replica {report['replica_name']} is {report['power_state']}"
