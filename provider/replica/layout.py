"""Where one replicated disk keeps its files, and the ids allowed to name them.

Every id that becomes a path component is checked first: no separators, no
``.``/``..``, no leading dot (dot-names are reserved for temporary files), no
control characters, and short enough for any file system. An id that could
escape the storage account is refused before any path is built from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from provider.errors import ValidationError

_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f/\\]")
_MAX_NAME_BYTES = 200
#: Sequence numbers are zero-padded so that names sort in sequence order.
_SEQUENCE_DIGITS = 20


def safe_component(what: str, value: str) -> str:
    """Return ``value`` when it is safe as one path component, else refuse it."""
    problem = _component_problem(value)
    if problem:
        raise ValidationError(
            f"{what} {value!r} cannot name a directory on the target: {problem}",
            hint="ids must not contain path separators or control characters",
        )
    return value


def _component_problem(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        return "it is empty"
    if _FORBIDDEN.search(value):
        return "it contains a path separator or a control character"
    if value.startswith("."):
        return "it starts with a dot"
    if len(value.encode("utf-8")) > _MAX_NAME_BYTES:
        return f"it is longer than {_MAX_NAME_BYTES} bytes"
    return ""


def sequence_name(sequence: int, suffix: str) -> str:
    """The file name of a sequence-numbered file, e.g. ``00000000000000000007.hrl``."""
    return f"{sequence:0{_SEQUENCE_DIGITS}d}{suffix}"


def parse_sequence(name: str, suffix: str) -> int | None:
    """The sequence a file name carries, or None for any other file."""
    stem = name.removesuffix(suffix)
    if stem == name or len(stem) != _SEQUENCE_DIGITS or not stem.isdigit():
        return None
    return int(stem)


@dataclass(frozen=True)
class DiskLayout:
    """The files of one replicated disk under its directory ``root``."""

    root: Path

    @property
    def image(self) -> Path:
        return self.root / "replica.img"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def journal(self) -> Path:
        return self.root / "journal.json"

    @property
    def lock(self) -> Path:
        return self.root / "lock"

    @property
    def incoming_dir(self) -> Path:
        return self.root / "incoming"

    @property
    def undo_dir(self) -> Path:
        return self.root / "undo"

    @property
    def leases_dir(self) -> Path:
        return self.root / "leases"

    @property
    def views_dir(self) -> Path:
        return self.root / "views"

    def incoming(self, sequence: int) -> Path:
        return self.incoming_dir / sequence_name(sequence, ".hrl")

    def undo(self, sequence: int) -> Path:
        return self.undo_dir / sequence_name(sequence, ".undo")

    def lease(self, view_id: str) -> Path:
        return self.leases_dir / f"{safe_component('view id', view_id)}.json"

    def view_dir(self, view_id: str) -> Path:
        return self.views_dir / safe_component("view id", view_id)

    def directories(self) -> tuple[Path, ...]:
        return (self.root, self.incoming_dir, self.undo_dir, self.leases_dir, self.views_dir)
