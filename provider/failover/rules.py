"""The scenarios' rules, read from what the plugins declare, enforced before anything runs.

The seed's rules are product behaviour: VMware and physical machines fail
over to the cloud unplanned only; a physical server fails back to VMware,
never to physical; re-protect needs a kind that can replicate back.
"""

from __future__ import annotations

from provider.contracts.declarations import FailoverMode
from provider.errors import NotSupported
from provider.failover.subject import Subject


def require_mode(subject: Subject, mode: FailoverMode) -> None:
    """Refuse a failover mode the fabric kind or the target kind does not declare."""
    kind, target = subject.fabric_kind, subject.target_kind
    if not kind.capabilities.allows(mode):
        declared = ", ".join(m.value for m in kind.capabilities.failover_modes) or "none"
        raise NotSupported(
            f"{mode.value} failover of {subject.name} is not supported: {kind.kind} machines "
            f"to a {target.kind} target declare {declared}",
            hint=_instead(mode, kind.capabilities.failover_modes),
        )
    if mode not in target.failover_modes:
        declared = ", ".join(m.value for m in target.failover_modes) or "none"
        raise NotSupported(
            f"{mode.value} failover of {subject.name} is not supported: target kind "
            f"{target.kind} declares {declared}"
        )


def require_failback_to(subject: Subject, destination_kind: str) -> None:
    """Refuse a failback onto a fabric kind the source kind does not fail back to."""
    require_mode(subject, FailoverMode.FAILBACK)
    allowed = subject.fabric_kind.capabilities.failback_to
    if destination_kind not in allowed:
        where = ", ".join(allowed) if allowed else "nowhere"
        raise NotSupported(
            f"failback of {subject.name} to a {destination_kind} machine is not supported: "
            f"{subject.fabric_kind.kind} machines fail back to {where}",
            hint="fail back to an alternate location of an allowed kind" if allowed else None,
        )


def require_reverse(subject: Subject) -> None:
    """Refuse re-protect where the fabric kind cannot replicate back."""
    if not subject.fabric_kind.capabilities.reverse_replication:
        raise NotSupported(
            f"reverse replication of {subject.name} is not supported: "
            f"{subject.fabric_kind.kind} machines cannot be re-protected from the target"
        )


def _instead(mode: FailoverMode, declared: tuple[FailoverMode, ...]) -> str | None:
    if mode is FailoverMode.PLANNED and FailoverMode.UNPLANNED in declared:
        return "use an unplanned failover"
    return None
