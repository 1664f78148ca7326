"""The conformance suite's fixture for dirfabric: a fake KVM host folder per test."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import srp_dirfabric.plugin
from srp_dirfabric.fake import FakeKvmHost

from provider.conformance import ConformanceFabric


@dataclass
class DirSource:
    """The suite's handle on the fake host (``provider.conformance.SourceFabric``)."""

    host: FakeKvmHost

    def create_machine(self, name: str, disk_sizes: Sequence[int]) -> None:
        self.host.add_machine(name, disk_sizes)

    def remove_machine(self, name: str) -> None:
        self.host.remove_machine(name)

    def read_disk(self, name: str, disk_id: str) -> bytes:
        return self.host.read_disk(name, disk_id)

    def write_disk(self, name: str, disk_id: str, offset: int, data: bytes) -> None:
        self.host.write_disk(name, disk_id, offset, data)

    def lose_tracking(self, name: str) -> None:
        self.host.lose_tracking(name)

    def set_reachable(self, reachable: bool) -> None:
        self.host.set_reachable(reachable)

    def drop_connection(self) -> None:
        self.host.restart_agent()


@pytest.fixture
def srp_conformance_fabric(tmp_path: Path) -> ConformanceFabric:
    host = FakeKvmHost(tmp_path / "kvm01", users={"admin": "s3cret"})
    return ConformanceFabric(
        kind="dirfabric",
        plugin=srp_dirfabric.plugin,
        source=DirSource(host),
        address=str(host.root),
        username="admin",
        password="s3cret",
    )
