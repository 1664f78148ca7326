"""Rendering for the CLI: rich tables for people, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

stdout = Console()
stderr = Console(stderr=True)


def emit(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, as_json: bool, title: str
) -> None:
    """Print rows as a table, or as a JSON array when ``as_json``."""
    if as_json:
        print(json.dumps(list(rows), indent=2, sort_keys=True, default=str))
        return
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column.replace("_", " "))
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    stdout.print(table)


def emit_object(value: Mapping[str, Any], *, as_json: bool) -> None:
    """Print one record as key: value lines, or JSON."""
    if as_json:
        print(json.dumps(value, indent=2, sort_keys=True, default=str))
        return
    width = max((len(key) for key in value), default=0)
    for key, item in value.items():
        stdout.print(f"{key.replace('_', ' '):<{width}}  {_cell(item)}", highlight=False)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def error(message: str) -> None:
    """One line on stderr, as every failure is reported."""
    stderr.print(f"srp: error: {message}", highlight=False, markup=False, soft_wrap=True)
