"""Forward cached HRLs to the target: in order, resumable, never twice.

Before sending, the forwarder asks the target what it holds, so a transfer
interrupted anywhere resumes where it stopped. Remote calls are retried with
exponential backoff on ``TargetUnavailable``; other errors are not transient
and stop the forward at once (the HRL stays cached, nothing is lost).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from provider.contracts.connection import TargetConnection
from provider.contracts.transfer import AppliedHrl, DiskRef
from provider.engine.cache import HrlCache
from provider.errors import HrlError, TargetUnavailable
from provider.pluginmanager import PluginManager

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try a remote call before giving up with a clear error."""

    attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 30.0


@dataclass(frozen=True)
class RefusedHrl:
    """An HRL the target refused as corrupt or out of chain: the disk needs a resync."""

    disk: DiskRef
    sequence: int
    reason: str


@dataclass(frozen=True)
class ForwardResult:
    """What one forward pass applied, and what it had to refuse."""

    applied: tuple[AppliedHrl, ...]
    refused: RefusedHrl | None = None


def with_retries(call: Callable[[], T], policy: RetryPolicy, what: str) -> T:
    """Run ``call``, retrying TargetUnavailable with backoff, then giving up clearly."""
    retrying = Retrying(
        retry=retry_if_exception_type(TargetUnavailable),
        stop=stop_after_attempt(policy.attempts),
        wait=wait_exponential(multiplier=policy.initial_wait, max=policy.max_wait),
        reraise=False,
    )
    try:
        return retrying(call)
    except RetryError as exc:
        cause = exc.last_attempt.exception()
        raise TargetUnavailable(
            f"{what}: the target did not answer after {policy.attempts} attempts ({cause})",
            hint="the HRL stays in the process server cache and is sent when the target returns",
        ) from cause


@dataclass(frozen=True)
class _Link:
    """One disk's path from the cache to the target."""

    plugins: PluginManager
    target: TargetConnection
    disk: DiskRef
    cache: HrlCache
    key: bytes | None
    policy: RetryPolicy


def forward_pending(
    plugins: PluginManager,
    target: TargetConnection,
    disk: DiskRef,
    cache: HrlCache,
    key: bytes | None,
    policy: RetryPolicy = RetryPolicy(),
) -> ForwardResult:
    """Store and apply every cached HRL of the disk, oldest first."""
    link = _Link(plugins, target, disk, cache, key, policy)
    holdings = with_retries(
        lambda: plugins.target_holdings(target, disk), policy, f"holdings of {disk.disk_id}"
    )
    applied: list[AppliedHrl] = []
    for sequence in cache.pending(disk):
        if sequence <= holdings.applied_sequence:
            cache.discard(disk, sequence)  # applied before an interruption: never resend
            continue
        try:
            applied.append(_send(link, sequence, sequence in holdings.stored))
        except HrlError as exc:
            return ForwardResult(tuple(applied), RefusedHrl(disk, sequence, str(exc)))
    return ForwardResult(tuple(applied))


def _send(link: _Link, sequence: int, already_stored: bool) -> AppliedHrl:
    disk = link.disk
    what = f"HRL {sequence} of disk {disk.disk_id} (item {disk.item_id})"
    if not already_stored:
        path = link.cache.path_for(disk, sequence)
        with_retries(
            lambda: link.plugins.store_hrl(link.target, disk, sequence, path), link.policy, what
        )
    result = with_retries(
        lambda: link.plugins.apply_hrl(link.target, disk, sequence, link.key), link.policy, what
    )
    link.cache.discard(disk, sequence)
    return result
