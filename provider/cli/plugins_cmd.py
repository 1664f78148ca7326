"""``srp plugins``: what plugins are installed, what they serve, and their state."""

from __future__ import annotations

from typing import Annotated

import typer

from provider.cli import output
from provider.pluginmanager import load_default

plugins_app = typer.Typer(help="Inspect fabric and target plugins.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@plugins_app.command("list")
def list_plugins(as_json: JsonOption = False) -> None:
    """List every plugin: distribution, version, kinds, hooks and status."""
    manager = load_default()
    rows = [
        {
            "name": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "fabric_kinds": list(info.kinds),
            "target_kinds": list(info.target_kinds),
            "hooks": list(info.hooks),
            "status": info.status.value,
            "reason": info.reason,
        }
        for info in manager.plugins()
    ]
    columns = ["name", "distribution", "version", "fabric_kinds", "target_kinds", "status"]
    if any(row["reason"] for row in rows):
        columns.append("reason")
    output.emit(rows, columns, as_json=as_json, title="srp plugins")
