"""The lab file: what runs where, written by the lab process, read by the CLI and the demo."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from provider.errors import ConfigurationError


@dataclass(frozen=True)
class LabHost:
    """One simulated fabric endpoint and how to log in."""

    name: str
    kind: str
    address: str
    username: str
    password: str
    transport: str


@dataclass(frozen=True)
class LabFile:
    """The running lab: its process, scenario and hosts."""

    pid: int
    scenario: str
    hosts: tuple[LabHost, ...]

    def write(self, path: Path) -> None:
        """Write atomically with owner-only permissions (it holds test credentials)."""
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(asdict(self), handle, indent=2)
        temporary.replace(path)

    @classmethod
    def read(cls, path: Path) -> LabFile:
        """The lab file, or a clear error when there is no running lab."""
        try:
            raw = json.loads(path.read_text())
            hosts = tuple(LabHost(**host) for host in raw["hosts"])
            return cls(int(raw["pid"]), str(raw["scenario"]), hosts)
        except FileNotFoundError as exc:
            raise ConfigurationError(
                f"no lab is running (no lab file at {path})", hint="start one with `srp lab up`"
            ) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"the lab file {path} is damaged: {exc}") from exc
