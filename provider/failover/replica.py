"""Creating the replica machine at a point: the one call every failover mode shares."""

from __future__ import annotations

from dataclasses import replace

from provider.contracts.declarations import FailoverMode
from provider.contracts.events import FailoverEvent
from provider.contracts.failover import FailoverRequest, FailoverResult
from provider.engine.context import EngineContext
from provider.failover.mapping import Placement
from provider.failover.subject import Subject
from provider.model.recovery import RecoveryPoint


def create_replica(
    ctx: EngineContext,
    subject: Subject,
    point: RecoveryPoint,
    mode: FailoverMode,
    placement: Placement,
) -> FailoverResult:
    """Ask the target for the replica machine, telling every plugin before and after."""
    event = FailoverEvent(subject.item.item_id, subject.item.machine_name, mode, point.point_id)
    ctx.plugins.before_failover(event)
    request = FailoverRequest(
        subject.item.item_id,
        subject.machine,
        point,
        mode,
        placement.nics,
        disks=placement.disks,
    )
    try:
        result = ctx.plugins.failover(subject.target, request)
    except Exception as exc:
        ctx.plugins.after_failover(replace(event, error=str(exc)))
        raise
    ctx.plugins.after_failover(event)
    return result
