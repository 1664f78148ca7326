"""The chain of a disk's HRLs: each names the digest of the one before it."""

from __future__ import annotations

from dataclasses import dataclass

from provider.errors import HrlForeign, HrlGap, HrlReorder, HrlReplay
from provider.hrl.header import ZERO_DIGEST, HrlHeader

_RESYNC = "resynchronize the disk if the missing HRLs cannot be shipped"


@dataclass(frozen=True)
class ChainState:
    """What the target last applied to one disk."""

    item_id: str
    machine_id: str
    disk_id: str
    last_sequence: int
    last_digest: bytes


def chain_after(header: HrlHeader, digest: bytes) -> ChainState:
    """The chain state once the HRL with ``header`` and file ``digest`` is applied."""
    return ChainState(header.item_id, header.machine_id, header.disk_id, header.sequence, digest)


def check_chain(header: HrlHeader, state: ChainState | None) -> None:
    """Refuse an HRL that does not continue the disk's chain exactly.

    ``state`` None means nothing was applied yet: the HRL must be the first.
    """
    if state is None:
        _check_first(header)
        return
    _check_same_disk(header, state)
    if header.sequence <= state.last_sequence:
        raise HrlReplay(
            f"{_name(header)} was already applied (last applied is {state.last_sequence})",
            hint="skip this HRL",
        )
    if header.sequence > state.last_sequence + 1:
        raise HrlGap(
            f"{_name(header)} follows {state.last_sequence}: "
            f"HRLs {state.last_sequence + 1}..{header.sequence - 1} are missing",
            hint=f"apply the missing HRLs first; {_RESYNC}",
        )
    if header.prev_digest != state.last_digest:
        raise HrlReorder(
            f"{_name(header)} names predecessor {header.prev_digest.hex()[:16]}, "
            f"but the last applied HRL is {state.last_digest.hex()[:16]}",
            hint=f"the source chain forked or was replaced; {_RESYNC}",
        )


def _check_first(header: HrlHeader) -> None:
    if header.sequence != 1:
        raise HrlGap(
            f"{_name(header)} arrived but nothing was applied yet: HRLs "
            f"1..{header.sequence - 1} are missing",
            hint=f"start from HRL 1 (the initial copy); {_RESYNC}",
        )
    if header.prev_digest != ZERO_DIGEST:
        raise HrlReorder(
            f"{_name(header)} is first but names predecessor {header.prev_digest.hex()[:16]}",
            hint="a first HRL has a zero previous digest; the file was built wrongly",
        )


def _check_same_disk(header: HrlHeader, state: ChainState) -> None:
    # The chain belongs to the protected item's disk, not to one machine: a failback to
    # an alternate location moves the item to a new machine whose disk may keep the id
    # (vCenter numbers every VM's disks 2000, 2001...), and its HRLs continue the chain.
    # A stale HRL of the old machine is still refused, by sequence and predecessor.
    ours = (state.item_id, state.disk_id)
    theirs = (header.item_id, header.disk_id)
    if ours != theirs:
        raise HrlForeign(
            f"{_name(header)} is for item/disk {'/'.join(theirs)}, not {'/'.join(ours)}",
            hint="apply it to the disk it was written for",
        )


def _name(header: HrlHeader) -> str:
    return f"HRL {header.sequence} of disk {header.disk_id!r}"
