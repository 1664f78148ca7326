"""/plans: validate plan files, store them, list and show them, run them, resume their jobs.

A run answers 202 with the plan's job (queued); the service's job workers
run it. Validation answers 200 with every problem, one per entry (an empty
list when the plan can run); create refuses a plan with problems.
"""

from __future__ import annotations

from fastapi import APIRouter

from provider.contracts.declarations import FailoverMode
from provider.errors import JobError, PlanError
from provider.failover.points import PointChoice, PointSpec
from provider.model.plan import RecoveryPlan
from provider.plans import JOB_KINDS, PlanRunner, parse_plan_text, plan_to_document
from provider.service.context import ServiceContext
from provider.service.plan_schemas import CreatePlan, PlanFile, ResumePlan, RunPlan
from provider.service.routers.deps import Srp
from provider.service.routers.jobs import resume as resume_job
from provider.service.schemas import ResumeJob
from provider.service.views import Json, job_view

router = APIRouter(prefix="/plans", tags=["recovery plans"])


def runner_of(svc: ServiceContext) -> PlanRunner:
    """The service's plan runner (its job kinds registered on the service's job service)."""
    return PlanRunner.attached(svc.engine, svc.jobs)


@router.post("/validate")
def validate(body: PlanFile, svc: Srp) -> Json:
    """Every problem of the plan file: its own, then against the vault."""
    try:
        plan = parse_plan_text(body.text, body.source)
    except PlanError as exc:
        return {"name": "", "problems": str(exc).splitlines()}
    return {"name": plan.name, "problems": runner_of(svc).problems(plan)}


@router.post("", status_code=201)
def create(body: CreatePlan, svc: Srp) -> Json:
    """Store a plan that has no problem (``replace`` updates one of the same name)."""
    plan = parse_plan_text(body.text, body.source)
    problems = runner_of(svc).problems(plan)
    if problems:
        raise PlanError(f"recovery plan {plan.name!r} has problems:\n" + "\n".join(problems))
    with svc.store.unit() as tx:
        if body.replace and tx.plans.find(plan.name) is not None:
            tx.plans.update(plan)
        else:
            tx.plans.add(plan)
    return plan_view(plan)


@router.get("")
def list_plans(svc: Srp) -> list[Json]:
    with svc.store.read() as tx:
        return [plan_view(plan) for plan in tx.plans.list()]


@router.get("/{name}")
def show(name: str, svc: Srp) -> Json:
    with svc.store.read() as tx:
        return plan_view(tx.plans.get(name))


@router.delete("/{name}")
def delete(name: str, svc: Srp) -> Json:
    with svc.store.unit() as tx:
        tx.plans.remove(name)
    return {"name": name, "deleted": True}


@router.post("/{name}/run", status_code=202)
def run(name: str, body: RunPlan, svc: Srp) -> Json:
    """Check the plan for the mode and queue its job; a worker runs it."""
    point = PointSpec(PointChoice(body.point))
    job = runner_of(svc).submit(name, FailoverMode(body.mode), point)
    svc.worker.run_later(job.job_id)
    return job_view(job)


@router.post("/jobs/{job_id}/resume", status_code=202)
def resume(job_id: str, body: ResumePlan, svc: Srp) -> Json:
    """Resume a waiting plan, or a failed one with retry or skip; it runs in the background."""
    runner_of(svc)
    job = svc.jobs.get(job_id)
    if job.kind not in JOB_KINDS.values():
        raise JobError(f"job {job_id} is a {job.kind} job, not a recovery plan")
    # The jobs router checks the state and waits for the job to move, as for any job.
    return resume_job(job_id, ResumeJob(retry=body.retry, skip=body.skip), svc)


def plan_view(plan: RecoveryPlan) -> Json:
    return {**plan_to_document(plan), "machines": len(plan.machines)}
