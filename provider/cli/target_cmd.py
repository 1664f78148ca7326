"""``srp target add/list``: replication targets, through the service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provider.cli import output
from provider.cli.client import ServiceClient
from provider.cli.formats import JsonOption, when
from provider.cli.register_cmd import parse_options, read_password

target_app = typer.Typer(help="Replication targets.", no_args_is_help=True)


@target_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Target name.")],
    path: Annotated[str, typer.Option(help="Where the target lives (cloud: a directory).")],
    kind: Annotated[str, typer.Option(help="Target kind.")] = "cloud",
    option: Annotated[
        list[str] | None, typer.Option(help="Target option KEY=VALUE (repeatable).")
    ] = None,
    password_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the target's secret.")
    ] = None,
    password_file: Annotated[
        Path | None, typer.Option(help="File holding the target's secret (first line).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a target; its plugin opens it first, so a wrong path is refused at once.

    A target that needs a secret (an InMage CX passphrase) takes it from
    --password-env or --password-file, never from the command line.
    """
    body = {"name": name, "kind": kind, "location": path, "options": parse_options(option or [])}
    if password_env or password_file:
        body["password"] = read_password(password_env, password_file)
    with ServiceClient.from_env() as client:
        output.emit_object(client.post("/targets", body), as_json=as_json)


@target_app.command("list")
def list_targets(as_json: JsonOption = False) -> None:
    """Every target."""
    with ServiceClient.from_env() as client:
        rows = client.get("/targets")
    for row in rows:
        row["registered"] = when(row["registered_at"])
    output.emit(rows, ["name", "kind", "location", "registered"], as_json=as_json, title="targets")
