"""Shared options and human formats of the service commands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def when(timestamp: object) -> str:
    """A UTC time like ``2027-01-15 08:00:00Z``; ``-`` when there is none."""
    if not isinstance(timestamp, int | float):
        return "-"
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def duration(seconds: object) -> str:
    """``45s``, ``3m 05s``, ``2h 07m``; ``-`` when unknown."""
    if not isinstance(seconds, int | float):
        return "-"
    total = int(seconds)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m {total % 60:02d}s"
    return f"{total // 3600}h {total % 3600 // 60:02d}m"


def percent(fraction: object) -> str:
    return f"{float(fraction) * 100:.0f}%" if isinstance(fraction, int | float) else "-"
