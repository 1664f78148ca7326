"""``srp policy create/list/show/delete``, through the service."""

from __future__ import annotations

from typing import Annotated

import typer

from provider.cli import output
from provider.cli.client import ServiceClient, path
from provider.cli.formats import JsonOption

policy_app = typer.Typer(help="Replication policies.", no_args_is_help=True)

_COLUMNS = [
    "name",
    "family",
    "cycle_seconds",
    "retention_hours",
    "app_consistent_frequency_hours",
    "encryption",
    "compression",
    "rpo_warning_minutes",
    "rpo_critical_minutes",
]


@policy_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Policy name.")],
    family: Annotated[str, typer.Option(help="hyperv or continuous.")] = "hyperv",
    copy_frequency: Annotated[int, typer.Option(help="Seconds between cycles (hyperv).")] = 300,
    crash_frequency: Annotated[
        int, typer.Option(help="Minutes between crash-consistent points (continuous).")
    ] = 5,
    retention_hours: Annotated[int, typer.Option(help="Hours of recovery points kept.")] = 24,
    app_frequency: Annotated[
        int, typer.Option(help="Hours between app-consistent points (0: none).")
    ] = 0,
    encryption: Annotated[bool, typer.Option(help="Encrypt HRL files.")] = True,
    compression: Annotated[bool, typer.Option(help="Compress HRL files.")] = True,
    rpo_warning: Annotated[int, typer.Option(help="RPO warning threshold, minutes.")] = 30,
    rpo_critical: Annotated[int, typer.Option(help="RPO critical threshold, minutes.")] = 60,
    as_json: JsonOption = False,
) -> None:
    """Create a replication policy (checked against a fabric when it protects a machine)."""
    body = {
        "name": name,
        "family": family,
        "copy_frequency_sec": copy_frequency,
        "crash_consistent_frequency_min": crash_frequency,
        "retention_hours": retention_hours,
        "app_consistent_frequency_hours": app_frequency,
        "encryption": encryption,
        "compression": compression,
        "rpo_warning_minutes": rpo_warning,
        "rpo_critical_minutes": rpo_critical,
    }
    with ServiceClient.from_env() as client:
        output.emit_object(client.post("/policies", body), as_json=as_json)


@policy_app.command("list")
def list_policies(as_json: JsonOption = False) -> None:
    """Every replication policy."""
    with ServiceClient.from_env() as client:
        output.emit(client.get("/policies"), _COLUMNS, as_json=as_json, title="policies")


@policy_app.command("show")
def show(name: str, as_json: JsonOption = False) -> None:
    """One replication policy."""
    with ServiceClient.from_env() as client:
        output.emit_object(client.get(path("policies", name)), as_json=as_json)


@policy_app.command("delete")
def delete(name: str) -> None:
    """Delete a policy that no protected item uses."""
    with ServiceClient.from_env() as client:
        client.delete(path("policies", name))
    output.stdout.print(f"policy {name} deleted", highlight=False)
