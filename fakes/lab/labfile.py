"""The lab file: what runs where, written by the lab process, read by the CLI and the demo.

Each endpoint carries what registering it needs: its kind (a fabric kind
such as ``hyperv``, ``vmm``, ``vmware``, ``physical``, ``inmage``, or the
target kind ``inmage-site``), its address, the account (for InMage the
password is the CX passphrase) and the connection options its plugin needs
(``transport``, ``host_endpoints`` for VMM, ``ca_trust_path`` for a CX
served over HTTPS, ...).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provider.errors import ConfigurationError

Options = tuple[tuple[str, str], ...]

#: The scenarios a lab can serve (``fakes.lab.scenarios`` builds them). Kept here, away from
#: the fakes themselves, so the CLI can check a scenario id without importing every fake.
SCENARIO_IDS = ("S1", "S2", "S3", "S4", "S5", "all")


def scenario_id(name: str) -> str:
    """The scenario's canonical id (``s2`` -> ``S2``, ``ALL`` -> ``all``), or a clear error."""
    for known in SCENARIO_IDS:
        if known.lower() == name.strip().lower():
            return known
    raise ConfigurationError(
        f"unknown lab scenario {name!r}", hint=f"choose one of {', '.join(SCENARIO_IDS)}"
    )


@dataclass(frozen=True)
class LabHost:
    """One simulated endpoint, how to log in, and the options its plugin needs."""

    name: str
    kind: str
    address: str
    username: str
    password: str
    options: Options = ()

    def option(self, key: str, default: str = "") -> str:
        """One connection option, or ``default``."""
        return dict(self.options).get(key, default)

    @property
    def transport(self) -> str:
        """The ``transport`` option (every lab endpoint has one)."""
        return self.option("transport")

    def renamed(self, name: str) -> LabHost:
        """The same endpoint under another name (``all`` prefixes names by scenario)."""
        return LabHost(name, self.kind, self.address, self.username, self.password, self.options)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "address": self.address,
            "username": self.username,
            "password": self.password,
            "options": dict(self.options),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> LabHost:
        options = tuple((str(key), str(value)) for key, value in dict(raw["options"]).items())
        name, kind, address, username, password = (
            str(raw[key]) for key in ("name", "kind", "address", "username", "password")
        )
        return cls(name, kind, address, username, password, options)


@dataclass(frozen=True)
class LabFile:
    """The running lab: its process, scenario and endpoints."""

    pid: int
    scenario: str
    hosts: tuple[LabHost, ...]

    def host(self, name: str) -> LabHost:
        """The endpoint of this name (a ConfigurationError names the ones there are)."""
        for host in self.hosts:
            if host.name == name:
                return host
        known = ", ".join(host.name for host in self.hosts)
        raise ConfigurationError(f"lab {self.scenario} has no endpoint {name!r} (it has {known})")

    def write(self, path: Path) -> None:
        """Write atomically with owner-only permissions (it holds test credentials)."""
        raw = {
            "pid": self.pid,
            "scenario": self.scenario,
            "hosts": [host.to_json() for host in self.hosts],
        }
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(raw, handle, indent=2)
        temporary.replace(path)

    @classmethod
    def read(cls, path: Path) -> LabFile:
        """The lab file, or a clear error when there is no running lab."""
        try:
            raw = json.loads(path.read_text())
            hosts = tuple(LabHost.from_json(host) for host in raw["hosts"])
            return cls(int(raw["pid"]), str(raw["scenario"]), hosts)
        except FileNotFoundError as exc:
            raise ConfigurationError(
                f"no lab is running (no lab file at {path})", hint="start one with `srp lab up`"
            ) from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigurationError(f"the lab file {path} is damaged: {exc}") from exc
