"""A plan group's pre and post actions: scripts, plugin hooks, manual steps.

A script is an executable run without a shell, with a timeout; its stdout
and stderr go into the task's output; a non-zero exit or a timeout fails
the step. The script and anything it started run in their own session, so
a timeout kills them all. A hook action is answered by the first plugin
that knows its name; none answering fails the step. A manual action pauses
the job (WAITING) with the operator's message until ``resume``.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
from collections.abc import Mapping

from provider.contracts.declarations import FailoverMode
from provider.contracts.events import PlanActionContext
from provider.errors import PlanError
from provider.failover.subject import Reporter
from provider.jobs.signals import WaitForOperator
from provider.model.plan import ActionKind, PlanAction, PlanGroup, RecoveryPlan
from provider.pluginmanager import PluginManager

#: After a kill, how long to wait for the pipes to close.
_REAP_SEC = 5.0


def run_action(
    plugins: PluginManager,
    context: PlanActionContext,
    env: Mapping[str, str],
    reporter: Reporter,
) -> None:
    """Run one action; PlanError when it fails, WaitForOperator for a manual one."""
    action = context.action
    if action.kind is ActionKind.SCRIPT:
        run_script(action, env, reporter)
    elif action.kind is ActionKind.HOOK:
        run_hook(plugins, context, reporter)
    else:
        raise WaitForOperator(action.message)


def script_env(
    plan: RecoveryPlan, group: PlanGroup, mode: FailoverMode, job_id: str
) -> dict[str, str]:
    """The service's environment plus what the script needs to know about its run."""
    return {
        **os.environ,
        "SRP_PLAN": plan.name,
        "SRP_GROUP": group.name,
        "SRP_MODE": mode.value,
        "SRP_JOB_ID": job_id,
    }


def run_script(action: PlanAction, env: Mapping[str, str], reporter: Reporter) -> None:
    """Run the script; keep its output; fail on a non-zero exit or at the timeout."""
    reporter.log(f"running {shlex.join(action.command)} (timeout {action.timeout_sec} s)")
    process = _start(action, env)
    try:
        out, err = process.communicate(timeout=action.timeout_sec)
    except subprocess.TimeoutExpired:
        out, err = _kill(process)
        _keep_output(reporter, out, err)
        raise PlanError(
            f"script action {action.name!r} did not finish within {action.timeout_sec} s "
            "and was killed"
        ) from None
    _keep_output(reporter, out, err)
    if process.returncode != 0:
        raise PlanError(f"script action {action.name!r} exited with code {process.returncode}")
    reporter.log("exit code 0")


def run_hook(plugins: PluginManager, context: PlanActionContext, reporter: Reporter) -> None:
    """Ask the plugins for the action; fail when none answers or it did not succeed."""
    name = context.action.name
    outcome = plugins.run_plan_action(context)
    if outcome is None:
        raise PlanError(
            f"hook action {name!r}: no plugin answers it",
            hint="install or enable the plugin that provides it",
        )
    if outcome.output:
        reporter.log(outcome.output)
    if not outcome.succeeded:
        raise PlanError(f"hook action {name!r} failed")
    reporter.log(f"hook action {name} succeeded")


def _start(action: PlanAction, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            list(action.command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            start_new_session=True,
        )
    except OSError as exc:
        raise PlanError(
            f"script action {action.name!r}: {action.command[0]} cannot be started: "
            f"{exc.strerror or exc}"
        ) from exc


def _kill(process: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    # The whole session: a script that started children leaves none behind.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        return process.communicate(timeout=_REAP_SEC)
    except subprocess.TimeoutExpired:
        # A grandchild left the session and holds the pipes: keep what we have.
        process.kill()
        return b"", b""


def _keep_output(reporter: Reporter, out: bytes, err: bytes) -> None:
    for label, data in (("stdout", out), ("stderr", err)):
        if data:
            reporter.log(f"{label}:\n{data.decode('utf-8', errors='replace')}")
