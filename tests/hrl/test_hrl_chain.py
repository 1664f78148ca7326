"""Chain checks: gap, reorder, replay and foreign HRLs are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from hrl_testkit import make_header, write_hrl

from provider.errors import HrlForeign, HrlGap, HrlReorder, HrlReplay
from provider.hrl import ZERO_DIGEST, ChainState, chain_after, check_chain

DIGEST_A = bytes([0xAA]) * 32
DIGEST_B = bytes([0xBB]) * 32
RESYNC = "resynchronize the disk if the missing HRLs cannot be shipped"
STATE = ChainState("item-7", "vm-web-01", "disk-0", last_sequence=4, last_digest=DIGEST_A)


def test_next_hrl_is_accepted() -> None:
    check_chain(make_header(sequence=5, prev_digest=DIGEST_A), STATE)


def test_first_hrl_is_accepted_on_an_empty_chain() -> None:
    check_chain(make_header(), None)


def test_gap() -> None:
    with pytest.raises(HrlGap) as caught:
        check_chain(make_header(sequence=7, prev_digest=DIGEST_B), STATE)
    assert str(caught.value) == (
        "HRL 7 of disk 'disk-0' follows 4: HRLs 5..6 are missing "
        f"(apply the missing HRLs first; {RESYNC})"
    )


def test_gap_on_an_empty_chain() -> None:
    with pytest.raises(HrlGap) as caught:
        check_chain(make_header(sequence=3, prev_digest=DIGEST_B), None)
    assert str(caught.value) == (
        "HRL 3 of disk 'disk-0' arrived but nothing was applied yet: HRLs 1..2 are missing "
        f"(start from HRL 1 (the initial copy); {RESYNC})"
    )


def test_reorder() -> None:
    with pytest.raises(HrlReorder) as caught:
        check_chain(make_header(sequence=5, prev_digest=DIGEST_B), STATE)
    assert str(caught.value) == (
        "HRL 5 of disk 'disk-0' names predecessor bbbbbbbbbbbbbbbb, but the last applied HRL "
        f"is aaaaaaaaaaaaaaaa (the source chain forked or was replaced; {RESYNC})"
    )


def test_first_hrl_with_a_predecessor_is_a_reorder() -> None:
    with pytest.raises(HrlReorder, match="is first but names predecessor aaaa"):
        check_chain(make_header(prev_digest=DIGEST_A), None)


@pytest.mark.parametrize("sequence", [1, 3, 4])
def test_replay(sequence: int) -> None:
    with pytest.raises(HrlReplay) as caught:
        check_chain(make_header(sequence=sequence, prev_digest=DIGEST_A), STATE)
    assert str(caught.value) == (
        f"HRL {sequence} of disk 'disk-0' was already applied (last applied is 4) (skip this HRL)"
    )


@pytest.mark.parametrize(
    ("changes", "theirs"),
    [
        ({"disk_id": "disk-1"}, "item-7/disk-1"),
        ({"item_id": "item-8"}, "item-8/disk-0"),
    ],
)
def test_foreign(changes: dict[str, str], theirs: str) -> None:
    header = make_header(sequence=5, prev_digest=DIGEST_A, **changes)  # type: ignore[arg-type]
    with pytest.raises(HrlForeign) as caught:
        check_chain(header, STATE)
    disk = changes.get("disk_id", "disk-0")
    assert str(caught.value) == (
        f"HRL 5 of disk {disk!r} is for item/disk {theirs}, not item-7/disk-0 "
        "(apply it to the disk it was written for)"
    )


def test_the_next_hrl_from_another_machine_of_the_item_continues_the_chain() -> None:
    # An alternate-location failback moved the item to a new machine: its disk keeps the id.
    check_chain(make_header(sequence=5, prev_digest=DIGEST_A, machine_id="vm-web-02"), STATE)


def test_a_stale_hrl_of_the_old_machine_is_still_refused() -> None:
    with pytest.raises(HrlReplay):
        check_chain(make_header(sequence=4, prev_digest=DIGEST_A, machine_id="vm-web-02"), STATE)


def test_real_files_chain_through_their_digests(tmp_path: Path) -> None:
    first = make_header()
    summary = write_hrl(tmp_path / "1.hrl", [(0, b"base")], header=first)
    state = chain_after(first, summary.digest)
    second = make_header(sequence=2, from_cut="cut-0001", prev_digest=summary.digest)
    check_chain(second, state)
    assert state == ChainState("item-7", "vm-web-01", "disk-0", 1, summary.digest)
    assert bytes(32) == ZERO_DIGEST
    with pytest.raises(HrlReplay):
        check_chain(first, state)
