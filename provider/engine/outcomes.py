"""The recent cycle outcomes of each item, for the missed-cycle health rule."""

from __future__ import annotations

import json
from pathlib import Path

from provider.engine.context import EngineContext
from provider.engine.health import HOUR, CycleOutcome


def _path(ctx: EngineContext, item_id: str) -> Path:
    return ctx.state_dir / "cycles" / f"{item_id}.json"


def recent_outcomes(ctx: EngineContext, item_id: str) -> list[CycleOutcome]:
    """Outcomes of the last hour (older ones are dropped when the next is added)."""
    path = _path(ctx, item_id)
    if not path.exists():
        return []
    return [CycleOutcome(**raw) for raw in json.loads(path.read_text())]


def add_outcome(ctx: EngineContext, item_id: str, outcome: CycleOutcome) -> list[CycleOutcome]:
    """Append an outcome, keep only the last hour, and return the window."""
    window = [o for o in recent_outcomes(ctx, item_id) if outcome.at - o.at <= HOUR]
    window.append(outcome)
    path = _path(ctx, item_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps([o.__dict__ for o in window]))
    temporary.replace(path)
    return window
