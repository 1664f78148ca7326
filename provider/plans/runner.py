"""Running a recovery plan as a durable job: groups in order, machines in parallel, actions between.

:class:`PlanRunner` checks the plan against the vault and every machine
against the mode (refusing before anything is touched, with every problem
on its own line), then submits one job with a task per action and per
machine (see :mod:`provider.plans.steps`). The job service runs the tasks
one after the other; a group's machines fail over together through a
:class:`~provider.plans.batch.GroupBatch`.

``srp_before_plan_group`` is told when a group's first step starts;
``srp_after_plan_group`` when its last step finishes (when that step is a
manual action, as its pause begins: the machines are done by then), or
with the error when a step of the group fails.

A failed step stops the plan (FAILED, naming the step); the operator
resumes with retry or skip. A cancel stops before the next step. The
kinds are resumable: after a restart ``JobService.recover`` requeues the
job and it goes on from its last completed step.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import ClassVar

from provider.contracts.declarations import FailoverMode
from provider.contracts.events import PlanActionContext, PlanGroupEvent
from provider.engine.context import EngineContext
from provider.errors import JobError, PlanError, SrpError
from provider.failover.options import FailoverOptions
from provider.failover.points import PointSpec
from provider.jobs import JobService, TaskContext, WaitForOperator
from provider.jobs.ledger import JobLedger
from provider.model.job import Job, JobState, Task, TaskState
from provider.model.plan import ActionKind, RecoveryPlan
from provider.plans.actions import run_action, script_env
from provider.plans.batch import Batches, GroupBatch
from provider.plans.machines import fail_over_machine, machine_problem
from provider.plans.params import PlanRun, run_of, run_params
from provider.plans.steps import Step, StepKind, lay_out
from provider.plans.validate import resolve_plan

log = logging.getLogger(__name__)

#: The job kind of each mode a plan runs in.
JOB_KINDS = {mode: f"plan.{mode.value}" for mode in FailoverMode}
_ACTIVE = (TaskState.PENDING, TaskState.RUNNING)


class PlanRunner:
    """Validates, submits and runs recovery plans on a job service."""

    _attached: ClassVar[weakref.WeakKeyDictionary[JobService, PlanRunner]] = (
        weakref.WeakKeyDictionary()
    )
    _attach_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, ctx: EngineContext, jobs: JobService) -> None:
        self.ctx = ctx
        self.jobs = jobs
        self._ledger = JobLedger(ctx.store)
        self._batches = Batches()
        self._runs: dict[str, PlanRun] = {}
        self._runs_lock = threading.Lock()
        for kind in JOB_KINDS.values():
            jobs.register(kind, self._handle, resumable=True)

    @classmethod
    def attached(cls, ctx: EngineContext, jobs: JobService) -> PlanRunner:
        """The runner of this job service, made (and its kinds registered) on first use."""
        with cls._attach_lock:
            runner = cls._attached.get(jobs)
            if runner is None:
                runner = cls._attached[jobs] = cls(ctx, jobs)
            return runner

    def problems(self, plan: RecoveryPlan) -> list[str]:
        """Everything the vault says is wrong with the plan (empty when it can run)."""
        return list(resolve_plan(self.ctx.store, plan).problems)

    def submit(self, name: str, mode: FailoverMode, point: PointSpec | None = None) -> Job:
        """Check the stored plan and its machines for ``mode``, then queue its job."""
        with self.ctx.store.read() as tx:
            plan = tx.plans.get(name)
        options = FailoverOptions(point or PointSpec())
        items = self._checked_items(plan, mode, options)
        layout = lay_out(plan, items, mode)
        tasks = [(step.task_id, step.name) for step in layout.steps]
        params = run_params(plan, items, mode, options)
        return self.jobs.submit(JOB_KINDS[mode], plan.name, tasks, params)

    def run(self, name: str, mode: FailoverMode, point: PointSpec | None = None) -> Job:
        """Submit and run the plan in this thread until it ends, waits or fails."""
        return self.jobs.run(self.submit(name, mode, point).job_id)

    def resume(self, job_id: str, *, retry: bool = False, skip: bool = False) -> Job:
        """Go on with a waiting plan, or a failed one by retrying or skipping its failed step."""
        job = self.jobs.get(job_id)
        if job.kind not in JOB_KINDS.values():
            raise JobError(f"job {job_id} is a {job.kind} job, not a recovery plan")
        return self.jobs.resume(job_id, retry=retry, skip=skip)

    def _checked_items(
        self, plan: RecoveryPlan, mode: FailoverMode, options: FailoverOptions
    ) -> dict[str, str]:
        resolution = resolve_plan(self.ctx.store, plan)
        problems = list(resolution.problems)
        if not problems:
            for machine in plan.machines:
                problem = machine_problem(self.ctx, resolution.item_id(machine), mode, options)
                problems.extend([f"machine {machine!r}: {problem}"] if problem else [])
        if problems:
            raise PlanError(
                f"recovery plan {plan.name!r} cannot run as {mode.value} failover:\n"
                + "\n".join(problems)
            )
        return dict(resolution.items)

    # ------------------------------------------------------------------
    # The job handler

    def _handle(self, job: Job, task: Task, context: TaskContext) -> WaitForOperator | None:
        run = self._run_of(job)
        step = run.layout.step(task.task_id)
        if run.layout.is_first(step):
            self.ctx.plugins.before_plan_group(self._event(run, step))
        try:
            self._step(job, run, step, context)
        except WaitForOperator:
            if run.layout.is_last(step):
                self.ctx.plugins.after_plan_group(self._event(run, step))
            raise
        except Exception as exc:
            self._group_failed(run, step, exc)
            raise
        if run.layout.is_last(step):
            self.ctx.plugins.after_plan_group(self._event(run, step))
        return None

    def _step(self, job: Job, run: PlanRun, step: Step, context: TaskContext) -> None:
        if step.action is None:
            self._machine(job, run, step, context)
            return
        group = run.layout.group(step)
        action_context = PlanActionContext(run.plan, group, run.mode, step.action)
        env = script_env(run.plan, group, run.mode, job.job_id)
        if step.action.kind is not ActionKind.MANUAL:
            context.progress(0.0)
        run_action(self.ctx.plugins, action_context, env, context)
        context.progress(1.0)

    def _machine(self, job: Job, run: PlanRun, step: Step, context: TaskContext) -> None:
        key = (job.job_id, step.group_index)
        batch = self._batches.get_or_start(key, lambda: self._batch(job, run, step.group_index))
        try:
            batch.wait_for(step.task_id)
        except BaseException:
            self._batches.finish(key)
            raise
        last = run.layout.in_group(step.group_index, StepKind.MACHINE)[-1] == step
        if last or context.cancel_requested:
            self._batches.finish(key)

    def _batch(self, job: Job, run: PlanRun, group_index: int) -> GroupBatch:
        states = {task.task_id: task.state for task in job.tasks}
        steps = {
            s.task_id: s
            for s in run.layout.in_group(group_index, StepKind.MACHINE)
            if states[s.task_id] in _ACTIVE
        }

        def work(task_id: str) -> None:
            reporter = TaskContext(self._ledger, job.job_id, task_id)
            fail_over_machine(self.ctx, steps[task_id].item_id, run.mode, run.options, reporter)

        return GroupBatch(
            list(steps), run.plan.concurrency, work, lambda: self._stopping(job.job_id)
        )

    def _stopping(self, job_id: str) -> bool:
        with self.ctx.store.read() as tx:
            job = tx.jobs.get(job_id)
            return job.state is not JobState.RUNNING or tx.jobs.cancel_requested(job_id)

    def _group_failed(self, run: PlanRun, step: Step, exc: Exception) -> None:
        message = str(exc) if isinstance(exc, SrpError) else f"{type(exc).__name__}: {exc}"
        try:
            self.ctx.plugins.after_plan_group(self._event(run, step, message))
        except SrpError as event_error:
            # The step's own failure is what the operator must see.
            log.warning("after_plan_group failed while reporting a failure: %s", event_error)

    @staticmethod
    def _event(run: PlanRun, step: Step, error: str = "") -> PlanGroupEvent:
        return PlanGroupEvent(run.plan, run.layout.group(step), run.mode, error)

    def _run_of(self, job: Job) -> PlanRun:
        with self._runs_lock:
            run = self._runs.get(job.job_id)
            if run is None:
                run = self._runs[job.job_id] = run_of(job)
            return run
