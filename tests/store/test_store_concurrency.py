"""Two real processes writing one vault at once: nothing lost, nothing refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from provider.model.job import Job, Task
from provider.store import VaultStore
from provider.store.migrate import head_revision

WRITER = Path(__file__).with_name("store_writer.py")
ROOT = Path(__file__).resolve().parents[2]
COUNT = 200


def _start(url: str, prefix: str, count: int, go: Path, *task: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(WRITER), url, prefix, str(count), str(go), *task],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> None:
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr


def test_two_processes_writing_at_once_lose_nothing(store_url: str, tmp_path: Path) -> None:
    with VaultStore.open(store_url) as store, store.unit() as tx:
        tx.jobs.add(Job("j1", "probe", "vault", tasks=(Task("t1", "shared"),)))
    go = tmp_path / "go"
    writers = [_start(store_url, name, COUNT, go, "j1", "t1") for name in ("a", "b")]
    go.touch()
    for writer in writers:
        _finish(writer)
    with VaultStore.open(store_url) as store, store.read() as tx:
        names = [policy.name for policy in tx.policies.list()]
        lines = tx.jobs.get("j1").tasks[0].output.splitlines()
    expected = [f"{p}-{i:04d}" for p in ("a", "b") for i in range(COUNT)]
    assert names == expected
    assert sorted(lines) == sorted(f"{p} {i}" for p in ("a", "b") for i in range(COUNT))
    # Each writer's own lines stay in its order: no append overwrote another.
    assert [line for line in lines if line.startswith("a ")] == [f"a {i}" for i in range(COUNT)]


def test_two_processes_opening_a_new_vault_at_once_migrate_it_once(
    store_url: str, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    go.touch()
    openers = [_start(store_url, name, 1, go) for name in ("a", "b")]
    for opener in openers:
        _finish(opener)
    with VaultStore.open(store_url) as store, store.read() as tx:
        assert [policy.name for policy in tx.policies.list()] == ["a-0000", "b-0000"]
        versions = tx.connection.exec_driver_sql("SELECT version_num FROM alembic_version")
        assert [row[0] for row in versions] == [head_revision()]
