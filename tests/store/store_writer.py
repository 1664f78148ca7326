"""A separate process writing to a vault, for the concurrency tests.

usage: store_writer.py URL PREFIX COUNT GO_FILE [JOB_ID TASK_ID]

Opens the vault, waits until GO_FILE exists (so that both writers start
together), then runs COUNT write units; each adds a policy and, when a job
is named, appends a line to that task's output (a read-modify-write).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from provider.model.policy import ReplicationPolicy
from provider.store import VaultStore


def main(url: str, prefix: str, count: int, go: Path, task: list[str]) -> None:
    store = VaultStore.open(url)
    while not go.exists():
        time.sleep(0.005)
    for index in range(count):
        with store.unit() as tx:
            tx.policies.add(ReplicationPolicy(f"{prefix}-{index:04d}"))
            if task:
                tx.jobs.append_output(task[0], task[1], f"{prefix} {index}")
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]), sys.argv[5:])
