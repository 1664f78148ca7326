"""``srp status`` and ``srp points``: protected items and their recovery points."""

from __future__ import annotations

from typing import Annotated

import typer

from provider.cli import output
from provider.cli.client import ServiceClient, path
from provider.cli.formats import JsonOption, duration, when


def status(as_json: JsonOption = False) -> None:
    """Protected items: state, health (with reasons), RPO and last recovery point."""
    with ServiceClient.from_env() as client:
        rows = client.get("/items")
    if as_json:
        output.emit(rows, [], as_json=True, title="")
        return
    for row in rows:
        row["rpo"] = duration(row["rpo_seconds"])
        row["last_point"] = when(row["last_point_at"])
        row["reasons"] = "; ".join(row["health_reasons"]) or "-"
    columns = ["machine", "item_id", "state", "health", "rpo", "last_point", "reasons"]
    output.emit(rows, columns, as_json=False, title="protected items")


def points(
    item: Annotated[str, typer.Argument(help="Protected item id.")], as_json: JsonOption = False
) -> None:
    """An item's recovery points, oldest first."""
    with ServiceClient.from_env() as client:
        rows = client.get(path("items", item, "points"))
    for row in rows:
        row["created"] = when(row["created_at"])
        row["disks"] = row["disks"] if as_json else len(row["disks"])
    columns = ["point_id", "created", "consistency", "disks", "group_cut"]
    output.emit(rows, columns, as_json=as_json, title=f"recovery points of {item}")
