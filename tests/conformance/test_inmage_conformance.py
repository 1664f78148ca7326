"""The native conformance suite on the inmage plugin: the S5 lab's CX over loopback HTTP.

The inmage plugin signs real requests (ComponentAuth_V2015_01) to a simulated
configuration server; its ``inmage-site`` target replicates natively, so the
native suite runs the core's native path on it. The kinds declare test and
unplanned failover and failback (no planned failover: the seed's rule for
VMware and physical sources), so every other test of the suite runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

from fakes.inmage import CxServer, serve_cx
from fakes.inmage.lab import S5Lab, build_s5_lab
from plugins.inmage import plugin as inmage_plugin
from provider.conformance import NativeConformanceFabric, NativeConformanceSuite

#: Quick retries: a site that is down answers within a test, not after seconds of backoff.
OPTIONS = (("transport", "http"), ("retry_wait", "0"), ("retry_attempts", "2"))
SITE_OPTIONS = (
    *OPTIONS,
    ("process_server", "ps01"),
    ("master_target", "mt01"),
    # Failback goes back through a master target on the primary site.
    ("failback_master_target", "mt-primary"),
    ("failback_process_server", "ps-dr"),
)


@dataclass
class ScoutSite:
    """:class:`provider.conformance.NativeSite` over the S5 lab's simulated Scout deployment."""

    lab: S5Lab
    server: CxServer
    online: bool = True

    def replicate(self) -> None:
        self.lab.cx.replicate()

    def issue_point(self, group_id: str, name: str) -> None:
        # Scout tags of one plan land at one instant: a second apart keeps them ordered.
        self.lab.clock.advance(1)
        self.lab.cx.issue_tag(group_id, name, "Application")

    def write_source(self, name: str, offset: int, data: bytes) -> None:
        self.lab.cx.host_named(name).disks[0].write(offset, data)

    def source_disks(self, name: str) -> Sequence[bytes]:
        return [disk.read(0, disk.capacity) for disk in self.lab.cx.host_named(name).disks]

    def replica_disks(self, replica_id: str) -> Sequence[bytes]:
        # A test copy (Scout's virtual snapshot) is no host of the CX: it lives beside them.
        cx = self.lab.cx
        host = cx.hosts.get(replica_id) or cx.test_copies[replica_id]
        return [disk.read(0, disk.capacity) for disk in host.disks]

    def take_offline(self) -> None:
        # The port closes: every call is refused, as when the site is lost.
        self.stop()

    def release(self, connection_ids: Sequence[str]) -> None:
        for ident in connection_ids:
            inmage_plugin.CLIENTS.drop(ident)

    def stop(self) -> None:
        if self.online:
            self.online = False
            self.server.stop()


@pytest.fixture
def srp_native_conformance_fabric() -> Iterator[NativeConformanceFabric]:
    lab = build_s5_lab()
    site = ScoutSite(lab, serve_cx(lab.cx, tls=False))
    address = site.server.address
    try:
        yield NativeConformanceFabric(
            kind="inmage",
            target_kind="inmage-site",
            plugin=inmage_plugin,
            site=site,
            machines=("web01", "app01", "db01"),
            address=address,
            username="srp",
            password=lab.cx.passphrase,
            target_address=address,
            target_password=lab.cx.passphrase,
            options=OPTIONS,
            target_options=SITE_OPTIONS,
            retention_hours=72,
            clock=lab.clock.now,
            test_network="DR-Isolated",
        )
    finally:
        site.stop()


class TestInmageNativeConformance(NativeConformanceSuite):
    """Every test of the native suite, on the inmage plugin and the S5 lab."""
