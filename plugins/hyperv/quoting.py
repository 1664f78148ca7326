"""Quote values for PowerShell so that a name is only ever a name.

Every value the plugin puts in a script goes through :func:`ps_quote` (text)
or :func:`ps_int` (numbers); nothing else is interpolated. Inside a
single-quoted PowerShell string nothing expands (``$(...)``, backticks, ``;``
and newlines are plain characters); the only special character is the quote
itself, and PowerShell accepts four Unicode single-quote marks as quotes too,
so every one of them is doubled.
"""

from __future__ import annotations

from collections.abc import Iterable

#: ASCII apostrophe and the Unicode single quotes PowerShell also treats as quotes.
SINGLE_QUOTES = frozenset("'\u2018\u2019\u201a\u201b")


def ps_quote(value: str) -> str:
    """A single-quoted PowerShell string literal holding exactly ``value``."""
    if not isinstance(value, str):
        raise TypeError(f"ps_quote takes text, got {type(value).__name__}")
    doubled = "".join(char * 2 if char in SINGLE_QUOTES else char for char in value)
    return f"'{doubled}'"


def ps_int(value: int) -> str:
    """An integer literal; refuses booleans and anything that is not an int."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"ps_int takes an integer, got {type(value).__name__}")
    return str(int(value))


def ps_list(values: Iterable[str]) -> str:
    """A comma-separated array of quoted strings (``'a','b'``); refuses an empty list."""
    quoted = [ps_quote(value) for value in values]
    if not quoted:
        raise ValueError("a PowerShell array argument needs at least one value")
    return ",".join(quoted)


def ps_bool(value: bool) -> str:
    """``$true`` or ``$false``."""
    return "$true" if value else "$false"
