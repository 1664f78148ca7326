"""Scenario S5 in the failover suite: web01 replicated natively by InMage Scout.

Import as ``tests.failover.s5_scenario``.

``inmage``: the S5 lab (:func:`fakes.inmage.lab.build_s5_lab`): the CX is
served over loopback HTTP and is both the registered ``inmage`` fabric and
the ``inmage-site`` target (process server ``ps01``, master target ``mt01``;
failback through ``mt-primary`` and ``ps-dr``). The source is the lab's
VMware VM web01 (its two disks carry the suite's patterns). Scout names a
VMware NIC's network ``<vCenter>:<port group id>``: the suite maps that id
(``FailoverLab.source_network``) to ``vnet-prod``. The site lists no
networks, so a drill names its isolated network ``vnet-test``.

A round of the target is a consistency tag across the plan, then one
replication pass: Scout's recovery points are its tags.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fakes.clock import VirtualClock
from fakes.inmage import CxServer, serve_cx
from fakes.inmage.agent import SourceHost
from fakes.inmage.lab import S5Lab, build_s5_lab
from fakes.vcenter import VirtualMachine as VCenterVm
from fakes.vcenter.model import POWERED_OFF
from fakes.workload import write_pattern
from plugins.inmage import plugin as inmage_plugin
from plugins.vmware.discovery import srp_power_state
from provider.contracts.connection import Secret
from provider.model.policy import PolicyFamily
from provider.native import NativeProtectRequest, protect_native
from provider.store.targets import Target
from provider.vault.sealed import SealedSecrets
from tests.failover.failover_testkit import KIB, FailoverLab, Protected

GROUP = "web"
OPTIONS = (("transport", "http"), ("retry_wait", "0"), ("retry_attempts", "2"))
SITE_OPTIONS = (
    *OPTIONS,
    ("process_server", "ps01"),
    ("master_target", "mt01"),
    ("failback_master_target", "mt-primary"),
    ("failback_process_server", "ps-dr"),
)


@dataclass
class ScoutSource:
    """The lab's VMware VM web01 as Scout's unified agent reports it (disk ids are the CX's).

    Cutting the source off is the primary site lost: the VM is off and the
    process server that forwards its changes no longer answers.
    """

    lab: S5Lab
    host: SourceHost
    vm: VCenterVm
    machine_id: str = ""
    name: str = ""
    #: Scout's VMware hosts report no guest address.
    ip_address: str = ""

    def __post_init__(self) -> None:
        self.machine_id, self.name = self.host.host_id, self.host.name

    @property
    def nic_id(self) -> str:
        return self.host.nics[0][0]

    def content(self) -> dict[str, bytes]:
        return {disk.disk_id: disk.read(0, disk.capacity) for disk in self.host.disks}

    def write(self, disk_id: str, offset: int, data: bytes) -> None:
        next(d for d in self.host.disks if d.disk_id == disk_id).write(offset, data)

    def set_reachable(self, reachable: bool) -> None:
        if reachable:
            self.lab.ps.come_back()
            return
        self.vm.power_state = POWERED_OFF
        self.lab.ps.go_away()

    @property
    def power_state(self) -> str:
        return srp_power_state(self.vm.power_state)


@dataclass
class ScoutSide:
    """:class:`tests.failover.failover_testkit.NativeSide` over the S5 lab's CX."""

    lab: S5Lab
    group_id: str = GROUP
    _tags: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def replicate(self) -> None:
        # Tags of one plan a second apart keep them ordered; the pass ships the tag too.
        # Once reversed, the group replicates through its failback plan (plugins.inmage.failback).
        self.lab.clock.advance(1)
        name = f"round-{next(self._tags)}"
        for plan in self._plans():
            self.lab.cx.issue_tag(plan, name, "Application")
        self.lab.cx.replicate()

    def _plans(self) -> list[str]:
        names = {plan.name for plan in self.lab.cx.plans.values()}
        return [p for p in (self.group_id, f"{self.group_id}-failback") if p in names]

    def replica_content(self, replica_id: str) -> dict[str, bytes]:
        return {d.disk_id: d.read(0, d.capacity) for d in self._host(replica_id).disks}

    def write_replica(self, replica_id: str, disk_id: str, offset: int, data: bytes) -> None:
        next(d for d in self._host(replica_id).disks if d.disk_id == disk_id).write(offset, data)

    def holds(self, replica_id: str) -> bool:
        return replica_id in self.lab.cx.hosts or replica_id in self.lab.cx.test_copies

    def networks_of(self, replica_id: str) -> list[str | None]:
        """The network each NIC of a recovered machine joined on the recovery site."""
        return [network or None for _, _, _, network in self._host(replica_id).nics]

    def _host(self, replica_id: str) -> SourceHost:
        # A test copy (Scout's virtual snapshot) is no host of the CX: it lives beside them.
        cx = self.lab.cx
        return cx.hosts.get(replica_id) or cx.test_copies[replica_id]


def s5_web01(lab: S5Lab) -> ScoutSource:
    """The lab's web01 with the suite's patterns on both disks, running."""
    host = lab.cx.host_named("web01")
    for index, disk in enumerate(host.disks):
        write_pattern(disk, 0, 64 * KIB, seed=index)
        write_pattern(disk, disk.capacity - 8 * KIB, 8 * KIB, seed=100 + index)
    return ScoutSource(lab, host, lab.vcenter.vm_named("web01"))


def _add_site(lab: FailoverLab, s5: S5Lab, server: CxServer) -> str:
    target = Target(f"tgt-{uuid.uuid4().hex[:8]}", "inmage-site", server.address, SITE_OPTIONS)
    with lab.store.unit() as tx:
        SealedSecrets(lab.vault.box).add_target(tx, target, Secret(s5.cx.passphrase))
    lab.target_id = target.target_id
    return target.target_id


def _network_of(lab: FailoverLab, fabric_id: str, machine_id: str) -> str:
    with lab.store.read() as tx:
        (nic,) = tx.fabrics.inventory(fabric_id).machine(machine_id).nics
    return nic.network_id


@contextmanager
def inmage_scenario(root: Path, clock: VirtualClock) -> Iterator[Protected]:
    """S5: web01 on the lab's vCenter protected through the CX toward the secondary site."""
    s5 = build_s5_lab(clock=clock)
    source = s5_web01(s5)
    plugins = {"inmage": inmage_plugin}
    with serve_cx(s5.cx, tls=False) as server, FailoverLab(root, plugins, clock) as fl:
        fabric_id = fl.register_fabric(
            "inmage", server.address, "srp", s5.cx.passphrase, dict(OPTIONS)
        )
        target_id = _add_site(fl, s5, server)
        try:
            yield _protected(fl, s5, source, fabric_id)
        finally:
            inmage_plugin.CLIENTS.drop(fabric_id)
            inmage_plugin.CLIENTS.drop(target_id)


def _protected(fl: FailoverLab, s5: S5Lab, source: ScoutSource, fabric_id: str) -> Protected:
    fl.native = ScoutSide(s5)
    fl.source_network = _network_of(fl, fabric_id, source.machine_id)
    fl.map_network(fabric_id)
    fl.add_policy("scout", family=PolicyFamily.CONTINUOUS, retention_hours=24)
    request = NativeProtectRequest(fabric_id, (source.machine_id,), "scout", fl.target_id, GROUP)
    (item,) = protect_native(fl.ctx, request)
    # The initial copy first: a tag issued during resync step I is not guaranteed.
    s5.cx.replicate()
    protected = Protected(fl, source, fabric_id, item.item_id, "inmage")
    protected.cycle()
    return protected
