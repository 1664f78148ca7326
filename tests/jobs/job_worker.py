"""A service process that dies in the middle of a job, for the recovery tests.

usage: job_worker.py URL JOB_ID MARKER

Runs the job; its task t2 creates MARKER and then hangs until the test
kills this process with SIGKILL.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from provider.jobs import JobService, TaskContext
from provider.model.job import Job, Task
from provider.store import VaultStore


def main(url: str, job_id: str, marker: Path) -> None:
    def copy(job: Job, task: Task, context: TaskContext) -> None:
        context.log(f"worker ran {task.task_id}")
        if task.task_id == "t2":
            context.progress(0.25)
            marker.touch()
            time.sleep(600)

    service = JobService(VaultStore.open(url))
    service.register("copy", copy)
    service.run(job_id)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
