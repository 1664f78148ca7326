"""Small validators shared by the model's ``__post_init__`` methods."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from provider.errors import ValidationError

#: Identifiers we mint or accept from fabrics: printable, no path separators.
_ID_FORBIDDEN = re.compile(r"[\x00-\x1f/\\]")


def require_text(owner: str, field: str, value: str) -> None:
    """Refuse an empty or whitespace-only text field."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{owner}: {field} must be a non-empty text, got {value!r}")


def require_id(owner: str, field: str, value: str) -> None:
    """Refuse ids that are empty or could escape a path or a log line."""
    require_text(owner, field, value)
    if _ID_FORBIDDEN.search(value) or value in {".", ".."}:
        raise ValidationError(
            f"{owner}: {field} {value!r} contains a path separator or a control character"
        )


def require_positive(owner: str, field: str, value: int | float) -> None:
    """Refuse zero, negative and non-numeric values."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValidationError(f"{owner}: {field} must be a positive number, got {value!r}")


def require_non_negative(owner: str, field: str, value: int | float) -> None:
    """Refuse negative and non-numeric values."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValidationError(f"{owner}: {field} must be zero or more, got {value!r}")


def require_choice(owner: str, field: str, value: object, choices: Collection[object]) -> None:
    """Refuse a value outside an enumerated set, listing the set."""
    if value not in choices:
        listed = ", ".join(sorted(str(c) for c in choices))
        raise ValidationError(f"{owner}: {field} must be one of {listed}; got {value!r}")


def require_unique(owner: str, field: str, values: Iterable[str]) -> None:
    """Refuse duplicates, naming the first one found."""
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValidationError(f"{owner}: {field} names {value!r} twice")
        seen.add(value)
