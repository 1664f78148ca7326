"""The failover family's facade: every operation as a durable job, checked up front.

Each call first checks every machine (state, the scenario's rules, the
recovery point, the network mappings) and refuses before touching anything;
only then does it submit a job with one task per machine and run it. The
returned job says how it went; each task's output tells the story of its
machine (a drill report for a test failover).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from provider.contracts.declarations import FailoverMode
from provider.engine.context import EngineContext
from provider.errors import ValidationError
from provider.failover.cancel import check_cancel
from provider.failover.commit import check_commit
from provider.failover.drill import DrillReport, reports_in
from provider.failover.failback import check_failback
from provider.failover.handlers import JobKind, operation_for, register_handlers
from provider.failover.options import FailoverOptions
from provider.failover.planned import check_planned
from provider.failover.reverse import check_reverse
from provider.failover.subject import load_subject
from provider.failover.testfailover import check_test_failover
from provider.failover.unplanned import check_unplanned
from provider.jobs import JobService
from provider.model.job import Job
from provider.native import drill as native_drill
from provider.native import failback as native_failback
from provider.native import failover as native_failover
from provider.native import reverse as native_reverse
from provider.native.kinds import is_native_item

_TITLES = {
    JobKind.TEST: "test failover of",
    JobKind.CLEANUP: "test failover cleanup of",
    JobKind.PLANNED: "planned failover of",
    JobKind.UNPLANNED: "unplanned failover of",
    JobKind.COMMIT: "commit of",
    JobKind.CANCEL: "cancel of",
    JobKind.REVERSE: "reverse replication of",
    JobKind.FAILBACK: "failback of",
}


#: How each native operation is checked before its job: against the target's own terms.
NATIVE_CHECKS: dict[JobKind, Callable[[EngineContext, str, FailoverOptions], object]] = {
    JobKind.UNPLANNED: lambda ctx, item_id, options: native_failover.check_native_failover(
        ctx, item_id, options, FailoverMode.UNPLANNED
    ),
    JobKind.PLANNED: lambda ctx, item_id, options: native_failover.check_native_failover(
        ctx, item_id, options, FailoverMode.PLANNED
    ),
    JobKind.TEST: lambda ctx, item_id, options: native_drill.check_native_test_failover(
        ctx, item_id, options
    ),
    JobKind.REVERSE: lambda ctx, item_id, _options: native_reverse.check_native_reverse(
        ctx, item_id
    ),
    JobKind.FAILBACK: lambda ctx, item_id, options: native_failback.check_native_failback(
        ctx, item_id, options
    ),
}


def check_native_item(
    ctx: EngineContext, kind: JobKind, item_id: str, options: FailoverOptions
) -> None:
    """Refuse, before any job, what a native item's operation cannot do.

    The service and the REST router both check with this, so the two agree.
    """
    check = NATIVE_CHECKS.get(kind)
    if check is None:
        operation_for(ctx, kind, item_id)  # NotSupported for what the native path lacks
    else:
        check(ctx, item_id, options)


class FailoverService:
    """Test, planned and unplanned failover, cleanup, commit, cancel, re-protect, failback."""

    def __init__(
        self, ctx: EngineContext, jobs: JobService | None = None, *, concurrency: int = 1
    ) -> None:
        self.ctx = ctx
        self.jobs = jobs if jobs is not None else JobService(ctx.store, clock=ctx.clock)
        self.concurrency = concurrency
        register_handlers(self.jobs, ctx)

    def test_failover(self, item_ids: Sequence[str], options: FailoverOptions | None = None) -> Job:
        """Start each machine's replica at the point in an isolated network; report drills."""
        chosen = options or FailoverOptions()
        return self._run(
            JobKind.TEST, item_ids, chosen, lambda i: check_test_failover(self.ctx, i, chosen)
        )

    def cleanup_test_failover(self, item_ids: Sequence[str]) -> Job:
        """Remove every drill artefact; a second cleanup is a no-op."""
        return self._run(
            JobKind.CLEANUP, item_ids, FailoverOptions(), lambda i: load_subject(self.ctx, i)
        )

    def planned_failover(
        self, item_ids: Sequence[str], options: FailoverOptions | None = None
    ) -> Job:
        """Shut each source down, replicate its last changes, fail over with no loss."""
        chosen = options or FailoverOptions()
        return self._run(
            JobKind.PLANNED, item_ids, chosen, lambda i: check_planned(self.ctx, i, chosen)
        )

    def unplanned_failover(
        self, item_ids: Sequence[str], options: FailoverOptions | None = None
    ) -> Job:
        """Fail over to the chosen point without the source."""
        chosen = options or FailoverOptions()
        return self._run(
            JobKind.UNPLANNED, item_ids, chosen, lambda i: check_unplanned(self.ctx, i, chosen)
        )

    def commit(self, item_ids: Sequence[str]) -> Job:
        """Make failovers final; the other recovery points are discarded."""
        return self._run(
            JobKind.COMMIT, item_ids, FailoverOptions(), lambda i: check_commit(self.ctx, i)
        )

    def cancel(self, item_ids: Sequence[str]) -> Job:
        """Undo uncommitted failovers; the items replicate again."""
        return self._run(
            JobKind.CANCEL, item_ids, FailoverOptions(), lambda i: check_cancel(self.ctx, i)
        )

    def reverse_replication(self, item_ids: Sequence[str]) -> Job:
        """Re-protect committed failovers: send the replicas' differences back."""
        return self._run(
            JobKind.REVERSE, item_ids, FailoverOptions(), lambda i: check_reverse(self.ctx, i)
        )

    def failback(self, item_ids: Sequence[str], options: FailoverOptions | None = None) -> Job:
        """Planned failover back to the original machines, differences only.

        With ``options.alternate_host``, each machine fails back to a new
        machine on that host instead (see :mod:`provider.failover.alternate`).
        """
        chosen = options or FailoverOptions()
        if chosen.alternate_name and len(item_ids) > 1:
            raise ValidationError(
                f"a failback naming the new machine {chosen.alternate_name!r} takes one "
                f"protected item, got {len(item_ids)}"
            )
        return self._run(
            JobKind.FAILBACK, item_ids, chosen, lambda i: check_failback(self.ctx, i, chosen)
        )

    def drill_reports(self, job_id: str) -> list[DrillReport]:
        """The drill reports of a test failover job, one per machine that got one."""
        return [
            report for task in self.jobs.get(job_id).tasks for report in reports_in(task.output)
        ]

    def _run(
        self,
        kind: JobKind,
        item_ids: Sequence[str],
        options: FailoverOptions,
        check: Callable[[str], object],
    ) -> Job:
        if not item_ids or len(set(item_ids)) != len(item_ids):
            raise ValidationError(
                f"a {kind.value} job needs distinct protected items, got {list(item_ids)}"
            )
        for item_id in item_ids:
            self._check(kind, item_id, options, check)
        tasks = [(item_id, f"{_TITLES[kind]} {self._name(item_id)}") for item_id in item_ids]
        job = self.jobs.submit(
            kind.value, ",".join(item_ids), tasks, options.to_params(), concurrency=self.concurrency
        )
        return self.jobs.run(job.job_id)

    def _check(
        self, kind: JobKind, item_id: str, options: FailoverOptions, check: Callable[[str], object]
    ) -> None:
        # A native item is checked against its target's own terms (points by name,
        # the operations the native path runs); the others as before.
        if not is_native_item(self.ctx, item_id):
            check(item_id)
        else:
            check_native_item(self.ctx, kind, item_id, options)

    def _name(self, item_id: str) -> str:
        with self.ctx.store.read() as tx:
            return tx.items.get(item_id).machine_name
