"""/failover: the failover family as jobs the service runs (202 + job), and drill reports.

Each call checks every machine first (its state, the scenario's rules, the
recovery point, the network mappings) exactly as
:class:`provider.failover.FailoverService` does, and refuses with the error's
status before any job exists. A job with one task per machine is then queued
and run on the service's worker; the answer names it, to be watched at
``/jobs/{job_id}``. While a task runs it holds its item in the service's
:class:`~provider.service.gate.ItemGate`, so a scheduled cycle never runs
under a failover (a planned failover runs the item's final cycle itself).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from provider.engine.context import EngineContext
from provider.errors import NotFound, ValidationError
from provider.failover import DrillReport, FailoverOptions, JobKind
from provider.failover.cancel import check_cancel
from provider.failover.commit import check_commit
from provider.failover.drill import reports_in
from provider.failover.failback import check_failback
from provider.failover.handlers import OPERATIONS, operation_for
from provider.failover.planned import check_planned
from provider.failover.reverse import check_reverse
from provider.failover.service import check_native_item
from provider.failover.subject import load_subject
from provider.failover.testfailover import check_test_failover
from provider.failover.unplanned import check_unplanned
from provider.jobs.context import TaskContext
from provider.jobs.handlers import Handler
from provider.jobs.service import JobService
from provider.jobs.signals import WaitForOperator
from provider.model.item import ProtectedItem
from provider.model.job import Job, Task
from provider.native.kinds import is_native_item
from provider.service.context import ServiceContext
from provider.service.failover_schemas import (
    DrillBody,
    FailbackBody,
    ItemsBody,
    PlannedBody,
    UnplannedBody,
)
from provider.service.gate import ItemGate
from provider.service.routers.deps import Srp
from provider.service.views import Json, job_view
from provider.store.unit import Unit

router = APIRouter(prefix="/failover", tags=["failover"])

#: One machine's check, refusing before anything is touched.
Check = Callable[[EngineContext, str, FailoverOptions], object]

CHECKS: dict[JobKind, Check] = {
    JobKind.TEST: check_test_failover,
    JobKind.CLEANUP: lambda ctx, item, _options: load_subject(ctx, item),
    JobKind.PLANNED: check_planned,
    JobKind.UNPLANNED: check_unplanned,
    JobKind.COMMIT: lambda ctx, item, _options: check_commit(ctx, item),
    JobKind.CANCEL: lambda ctx, item, _options: check_cancel(ctx, item),
    JobKind.REVERSE: lambda ctx, item, _options: check_reverse(ctx, item),
    JobKind.FAILBACK: check_failback,
}

TITLES = {
    JobKind.TEST: "test failover of",
    JobKind.CLEANUP: "test failover cleanup of",
    JobKind.PLANNED: "planned failover of",
    JobKind.UNPLANNED: "unplanned failover of",
    JobKind.COMMIT: "commit of",
    JobKind.CANCEL: "cancel of",
    JobKind.REVERSE: "reverse replication of",
    JobKind.FAILBACK: "failback of",
}


@router.post("/test", status_code=202)
def test_failover(body: DrillBody, svc: Srp) -> Json:
    """Start each replica at the point in an isolated network; the job holds drill reports."""
    return _accepted(submit_failover(svc, JobKind.TEST, body))


@router.post("/test/cleanup", status_code=202)
def cleanup(body: ItemsBody, svc: Srp) -> Json:
    """Remove every artefact of the items' drills; a second cleanup is a no-op."""
    return _accepted(submit_failover(svc, JobKind.CLEANUP, body))


@router.post("/planned", status_code=202)
def planned(body: PlannedBody, svc: Srp) -> Json:
    """Shut each source down, replicate its last changes, fail over with no loss."""
    return _accepted(submit_failover(svc, JobKind.PLANNED, body))


@router.post("/unplanned", status_code=202)
def unplanned(body: UnplannedBody, svc: Srp) -> Json:
    """Fail over to the chosen point without the source."""
    return _accepted(submit_failover(svc, JobKind.UNPLANNED, body))


@router.post("/commit", status_code=202)
def commit(body: ItemsBody, svc: Srp) -> Json:
    """Make the failovers final; the other recovery points are discarded."""
    return _accepted(submit_failover(svc, JobKind.COMMIT, body))


@router.post("/cancel", status_code=202)
def cancel(body: ItemsBody, svc: Srp) -> Json:
    """Undo uncommitted failovers; the items replicate again."""
    return _accepted(submit_failover(svc, JobKind.CANCEL, body))


@router.post("/reverse", status_code=202)
def reverse(body: ItemsBody, svc: Srp) -> Json:
    """Re-protect committed failovers: send the replicas' differences back."""
    return _accepted(submit_failover(svc, JobKind.REVERSE, body))


@router.post("/failback", status_code=202)
def failback(body: FailbackBody, svc: Srp) -> Json:
    """Planned failover back to the original machines, differences only, or to new ones."""
    return _accepted(submit_failover(svc, JobKind.FAILBACK, body))


@router.get("/drills/{job_id}")
def drills(job_id: str, svc: Srp) -> list[Json]:
    """The drill reports of a test failover job, one per machine that got one."""
    job = svc.jobs.get(job_id)
    if job.kind != JobKind.TEST.value:
        raise ValidationError(
            f"job {job_id} is a {job.kind} job; only test failover jobs have drill reports"
        )
    return [drill_view(report) for task in job.tasks for report in reports_in(task.output)]


def submit_failover(svc: ServiceContext, kind: JobKind, body: ItemsBody) -> Job:
    """Check every machine, then queue the job on the service's worker."""
    install_handlers(svc)
    options = body.options()
    with svc.store.read() as tx:
        items = select_items(tx, body)
    for item in items:
        check_item(svc.engine, kind, item.item_id, options)
    tasks = [(item.item_id, f"{TITLES[kind]} {item.machine_name}") for item in items]
    job = svc.jobs.submit(kind.value, _described(items), tasks, options.to_params())
    svc.worker.run_later(job.job_id)
    return job


def check_item(ctx: EngineContext, kind: JobKind, item_id: str, options: FailoverOptions) -> None:
    """One machine's check; a native item's against its target's terms (as FailoverService)."""
    if not is_native_item(ctx, item_id):
        CHECKS[kind](ctx, item_id, options)
    else:
        check_native_item(ctx, kind, item_id, options)


def select_items(tx: Unit, body: ItemsBody) -> list[ProtectedItem]:
    """The items a body names: its group's members, or each reference in turn."""
    if body.group:
        members = [i for i in tx.items.list() if i.replication_group == body.group]
        if not members:
            raise NotFound(
                f"no protected item is in replication group {body.group!r}",
                hint="see the items and their groups with `srp status`",
            )
        return members
    if len(set(body.items)) != len(body.items):
        raise ValidationError(f"a machine is named twice in {body.items}")
    return [find_item(tx, reference) for reference in body.items]


def find_item(tx: Unit, reference: str) -> ProtectedItem:
    """A protected item by its id, else by its machine's name (refusing an ambiguous name)."""
    item = tx.items.find(reference)
    if item is not None:
        return item
    named = [i for i in tx.items.list() if i.machine_name == reference]
    if len(named) > 1:
        ids = ", ".join(sorted(i.item_id for i in named))
        raise ValidationError(
            f"several protected items protect a machine named {reference!r} ({ids})",
            hint="name the item by its id",
        )
    if not named:
        raise NotFound(
            f"no protected item {reference!r} (neither an item id nor a protected machine's name)",
            hint="see the protected items with `srp status`",
        )
    return named[0]


def drill_view(report: DrillReport) -> Json:
    """A drill report as the API answers it, with what it proves spelled out."""
    view: dict[str, Any] = asdict(report)
    view["network_ids"] = list(report.network_ids)
    view["disks"] = [{**asdict(disk), "equal": disk.equal} for disk in report.disks]
    view["verified"] = report.verified
    return view


def _accepted(job: Job) -> Json:
    return {"job_id": job.job_id, "job": job_view(job)}


def _described(items: Sequence[ProtectedItem]) -> str:
    return items[0].machine_name if len(items) == 1 else f"{len(items)} machines"


# --------------------------------------------------------------------------
# The failover job kinds' handlers, on the service's job service.

_INSTALLED: weakref.WeakSet[JobService] = weakref.WeakSet()
_INSTALLING = threading.Lock()


def install_handlers(svc: ServiceContext) -> None:
    """Give the service's job service a gated handler per failover kind (once)."""
    with _INSTALLING:
        if svc.jobs in _INSTALLED:
            return
        for kind in OPERATIONS:
            svc.jobs.register(kind.value, gated_handler(svc.engine, svc.gate, kind))
        _INSTALLED.add(svc.jobs)


def gated_handler(ctx: EngineContext, gate: ItemGate, kind: JobKind) -> Handler:
    """Run one machine's operation while holding its item, so no scheduled cycle overlaps.

    The operation is the item's own: a native item's runs on its target (provider.native).
    """

    def handle(job: Job, task: Task, context: TaskContext) -> WaitForOperator | None:
        options = FailoverOptions.from_params(dict(job.params))
        with gate.holding([task.task_id]):
            operation_for(ctx, kind, task.task_id)(ctx, task.task_id, options, context)
        context.progress(1.0)
        return None

    return handle
