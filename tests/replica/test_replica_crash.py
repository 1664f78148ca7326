"""Real kills: a child process storing or applying HRLs is SIGKILLed at every write step.

For k = 1, 2, ... the child dies at its k-th file-changing system call
(half-writing it when it is a write), until a run finishes without dying.
After each death the test reopens the store (running recovery) and checks
that the replica is exactly the source at a committed sequence, never in
between, that every retained point is intact, and that the remaining HRLs
then apply to the final state.

The exhaustive loops fork the child (so it starts in milliseconds with
everything imported); one test also runs the child as a fresh interpreter
(``crash_child.py``) at a few kill points.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from provider.replica import ReplicaStore
from tests.replica.crash_child import arm
from tests.replica.replica_testkit import HrlChain, SourceDisk, build_history, disk_ref, sha

CHILD = Path(__file__).with_name("crash_child.py")
REPO = Path(__file__).resolve().parents[2]
MAX_STEPS = 200


def run_forked(disk_dir: Path, kill_at: int, work: Callable[[ReplicaStore], object]) -> int:
    """Run ``work`` in a forked child that kills itself at its k-th write step."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            store = ReplicaStore(disk_dir, disk_ref())
            arm(kill_at)
            work(store)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def apply_3_and_4(store: ReplicaStore) -> None:
    store.apply(3)
    store.apply(4)


def run_interpreter(disk_dir: Path, kill_at: int, *args: str) -> int:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = [sys.executable, str(CHILD), str(disk_dir), str(kill_at), *args]
    return subprocess.run(command, env=env, timeout=120, check=False).returncode


@pytest.fixture
def prepared(tmp_path: Path) -> tuple[Path, HrlChain, SourceDisk]:
    """A disk with HRLs 1-2 applied and 3-4 stored (3 overlaps itself and 2)."""
    (tmp_path / "hrls").mkdir()
    chain, source = HrlChain(tmp_path / "hrls"), SourceDisk(seed=21)
    build_history(source, chain, cycles=4, extents_per_cycle=4)
    template = tmp_path / "template"
    store = ReplicaStore(template, disk_ref())
    for sequence in (1, 2, 3, 4):
        store.store_hrl(sequence, chain.paths[sequence])
    store.apply(1)
    store.apply(2)
    return template, chain, source


def check_committed(store: ReplicaStore, source: SourceDisk) -> int:
    holdings = store.holdings()  # runs recovery
    applied = holdings.applied_sequence
    assert store.image_path.read_bytes() == source.cuts[applied]
    assert holdings.stored == tuple(s for s in (3, 4) if s > applied)
    assert not store.layout.journal.exists()
    assert not [p for p in store.layout.root.rglob(".tmp-*")]
    assert store.points() == range(0, applied + 1)
    for sequence in store.points():
        assert store.point_digest(sequence) == sha(source.cuts[sequence])
    return applied


def test_a_killed_apply_always_recovers_to_a_committed_point(
    tmp_path: Path, prepared: tuple[Path, HrlChain, SourceDisk]
) -> None:
    template, _chain, source = prepared
    reached: list[int] = []
    for kill_at in range(1, MAX_STEPS):
        disk_dir = tmp_path / f"run-{kill_at}"
        shutil.copytree(template, disk_dir)
        status = run_forked(disk_dir, kill_at, apply_3_and_4)
        reached.append(check_recovered(disk_dir, source, status))
        if status == 0:
            break
    assert reached[-1] == 4, "the last run must finish both applies"
    assert {2, 3} <= set(reached[:-1]), "kills must land inside both applies"
    assert len(reached) > 30


@pytest.mark.parametrize("kill_at", [3, 9, 14])
def test_a_killed_interpreter_recovers_too(
    tmp_path: Path, prepared: tuple[Path, HrlChain, SourceDisk], kill_at: int
) -> None:
    template, _chain, source = prepared
    disk_dir = tmp_path / "run"
    shutil.copytree(template, disk_dir)
    status = run_interpreter(disk_dir, kill_at, "apply", "3", "4")
    assert status == -signal.SIGKILL
    check_recovered(disk_dir, source, status)


def check_recovered(disk_dir: Path, source: SourceDisk, status: int) -> int:
    """Check the committed state after a run, then finish the applies; returns the state."""
    assert status in (0, -signal.SIGKILL)
    store = ReplicaStore(disk_dir, disk_ref())
    applied = check_committed(store, source)
    for sequence in range(applied + 1, 5):
        store.apply(sequence)
    assert store.image_path.read_bytes() == source.cuts[4]
    return applied


def test_a_killed_store_leaves_the_whole_file_or_nothing(
    tmp_path: Path, prepared: tuple[Path, HrlChain, SourceDisk]
) -> None:
    template, chain, source = prepared
    extra = chain.next(source.random_extents(3))
    for kill_at in range(1, MAX_STEPS):
        disk_dir = tmp_path / f"store-{kill_at}"
        shutil.copytree(template, disk_dir)
        status = run_forked(disk_dir, kill_at, lambda store: store.store_hrl(5, extra))
        store = ReplicaStore(disk_dir, disk_ref())
        stored = store.holdings().stored
        assert not [p for p in disk_dir.rglob(".tmp-*")]
        if status == 0:
            assert stored == (3, 4, 5)
            break
        assert status == -signal.SIGKILL
        assert stored in {(3, 4), (3, 4, 5)}
        if stored == (3, 4, 5):
            assert store.layout.incoming(5).read_bytes() == extra.read_bytes()
    assert kill_at > 2
