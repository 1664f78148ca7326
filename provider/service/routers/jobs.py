"""/jobs: list and show (with tasks and progress), cancel, resume."""

from __future__ import annotations

from fastapi import APIRouter

from provider.errors import JobError
from provider.model.job import JobState
from provider.service.routers.deps import Srp
from provider.service.schemas import ResumeJob
from provider.service.views import Json, job_view

router = APIRouter(prefix="/jobs", tags=["jobs"])
RESUME_WAIT_SECONDS = 10.0


@router.get("")
def list_jobs(svc: Srp, state: JobState | None = None) -> list[Json]:
    """Jobs, newest first (of one state when given)."""
    return [job_view(job) for job in svc.jobs.list([state] if state else None)]


@router.get("/{job_id}")
def show(job_id: str, svc: Srp) -> Json:
    return job_view(svc.jobs.get(job_id))


@router.post("/{job_id}/cancel")
def cancel(job_id: str, svc: Srp) -> Json:
    """Cancel now (queued, waiting) or before the next task (running)."""
    return job_view(svc.jobs.cancel(job_id))


@router.post("/{job_id}/resume", status_code=202)
def resume(job_id: str, body: ResumeJob, svc: Srp) -> Json:
    """Resume a waiting job, or a failed one with retry or skip; it runs in the background."""
    job = svc.jobs.get(job_id)
    if job.state not in (JobState.FAILED, JobState.WAITING):
        raise JobError(f"job {job_id} is {job.state}; only a failed or waiting job can be resumed")
    if job.state is JobState.FAILED and body.retry == body.skip:
        raise JobError(
            f"job {job_id} failed: resume it with either retry or skip",
            hint=job.error or None,
        )
    if job.state is JobState.WAITING and (body.retry or body.skip):
        raise JobError(f"job {job_id} is waiting for an operator; resume it plainly")
    seen = svc.changes.count(job_id)
    svc.worker.resume_later(job_id, retry=body.retry, skip=body.skip)
    # Answer once the job left its old state (or after a while, if the workers are busy).
    svc.changes.wait_beyond(job_id, seen, RESUME_WAIT_SECONDS)
    return job_view(svc.jobs.get(job_id))
