"""ps_quote and friends: every value is one single-quoted literal, nothing expands."""

from __future__ import annotations

import pytest

from plugins.hyperv.quoting import ps_bool, ps_int, ps_list, ps_quote


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("web01", "'web01'"),
        ("", "''"),
        ("x'; Remove-VM *", "'x''; Remove-VM *'"),
        ("it\u2019s", "'it\u2019\u2019s'"),
        ("\u2018a\u201ab\u201bc", "'\u2018\u2018a\u201a\u201ab\u201b\u201bc'"),
        ("$(Stop-Computer)", "'$(Stop-Computer)'"),
        ("a`nb", "'a`nb'"),
        ("line1\nline2", "'line1\nline2'"),
        ('say "hi"', "'say \"hi\"'"),
        ("Überprüfung-東京", "'Überprüfung-東京'"),
    ],
)
def test_ps_quote_doubles_every_single_quote_variant_and_nothing_else(
    value: str, quoted: str
) -> None:
    assert ps_quote(value) == quoted


def test_ps_quote_refuses_non_text() -> None:
    with pytest.raises(TypeError, match="ps_quote takes text, got int"):
        ps_quote(3)  # type: ignore[arg-type]


def test_ps_int_formats_integers_and_refuses_the_rest() -> None:
    assert ps_int(4_194_304) == "4194304"
    assert ps_int(-1) == "-1"
    with pytest.raises(TypeError, match="got bool"):
        ps_int(True)
    with pytest.raises(TypeError, match="got str"):
        ps_int("1; Remove-VM")  # type: ignore[arg-type]


def test_ps_list_and_ps_bool() -> None:
    assert ps_list(["a", "b'c"]) == "'a','b''c'"
    assert ps_bool(True) == "$true"
    assert ps_bool(False) == "$false"
    with pytest.raises(ValueError, match="at least one value"):
        ps_list([])
