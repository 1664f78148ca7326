"""The conformance suite for plugins whose target replicates natively (``DataPath.NATIVE``).

The HRL suite (:class:`~provider.conformance.suite.ConformanceSuite`) cuts
disks and ships HRL itself; a native target (InMage Scout, Hyper-V Replica)
replicates on its own, and srp only drives it through the ``srp_native_*``
hooks. This suite runs the core's native path (``provider.native``) on an
:class:`~fakes.harness.EngineHarness` around the plugin under test:
discovery, protection and refresh, unplanned failover to the latest point
checked byte for byte against the source, commit, test failover and its
cleanup, reverse replication, failback byte for byte, and the error contract.

What the kinds do not declare skips with the reason; what they declare must
be implemented: a kind declaring test failover whose plugin implements no
``srp_native_test_failover`` (or reverse replication without
``srp_native_reverse``) fails, naming the missing hook. A plugin serving
the fabric kind only names the target kind's plugin in ``target_plugin``.

Subclass :class:`NativeConformanceSuite` as ``Test...`` and provide the
fixture ``srp_native_conformance_fabric`` returning a
:class:`NativeConformanceFabric`. Tests of what the kinds do not declare
skip with the reason; what they declare must work.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

import pytest

from fakes.harness import EngineHarness
from provider.conformance.checks import expect, expect_error, expect_ok, fail, require_declared
from provider.conformance.lab import expect_same_bytes, pattern
from provider.contracts.connection import FabricConnection, Secret, TargetConnection
from provider.contracts.declarations import DataPath, FailoverMode
from provider.contracts.native import NativeFailover
from provider.contracts.native import PointChoice as NativeChoice
from provider.errors import AuthenticationFailed, FabricUnreachable, PluginHookError, SrpError
from provider.failover import FailoverOptions, PointChoice, PointSpec
from provider.failover.drill import DrillReport
from provider.model.inventory import Fabric, Machine
from provider.model.item import Direction, ProtectedItem
from provider.model.mapping import NetworkMapping
from provider.model.policy import PolicyFamily
from provider.model.recovery import RecoveryPoint
from provider.model.states import ReplicationState
from provider.native import (
    NativeProtectRequest,
    implements,
    protect_native,
    refresh_group,
    run_native_cleanup,
    run_native_commit,
    run_native_failback,
    run_native_planned,
    run_native_reverse,
    run_native_test_failover,
    run_native_unplanned,
)
from provider.native.refresh import machine_key
from provider.store.targets import Target
from provider.vault.sealed import SealedSecrets

#: The replication group the suite protects its machine in.
GROUP = "conformance"
#: The policy the suite stores and protects with.
POLICY = "conformance"
#: Connection ids the suite uses besides the registered fabric and target.
WRONG_FABRIC_ID = "conformance-wrong-password"
WRONG_TARGET_ID = "conformance-wrong-passphrase"
_R = ReplicationState


class NativeSite(Protocol):
    """The test fabric and its natively replicating target, as the suite drives them.

    Machines are named as ``NativeConformanceFabric.machines`` lists them;
    disks come in the order the plugin's discovery reports them.
    """

    def replicate(self) -> None:
        """One replication round: everything written so far reaches the target."""

    def issue_point(self, group_id: str, name: str) -> None:
        """Make the target record a recovery point of the group now (a consistency tag).

        A latest-only target (``TargetKind.latest_only``) records no point on
        demand: this is then one replication round, whose data is its latest
        point, stamped after the writes it carries.
        """

    def write_source(self, name: str, offset: int, data: bytes) -> None:
        """A guest write on the first disk of a source machine."""

    def source_disks(self, name: str) -> Sequence[bytes]:
        """Every disk of a source machine, whole, as the guest sees it now."""

    def replica_disks(self, replica_id: str) -> Sequence[bytes]:
        """Every disk of a recovered machine or test copy (the id a failover reports), whole."""

    def take_offline(self) -> None:
        """Cut the fabric and the target off the network for the rest of the test."""

    def release(self, connection_ids: Sequence[str]) -> None:
        """The test is over: drop whatever the plugin holds for these connection ids."""


@dataclass(frozen=True)
class NativeConformanceFabric:
    """A fabric kind and a native target kind, their plugin, and a test site of them.

    ``machines`` are source machines discovery must find; the suite protects
    the first. ``address``/``username``/``password``/``options`` register the
    fabric, ``target_address``/``target_password``/``target_options`` the
    target, as an operator would. ``clock`` is the time the engine runs on
    (the site's own clock when it keeps one).
    """

    kind: str
    target_kind: str
    plugin: object
    site: NativeSite
    machines: tuple[str, ...]
    address: str
    username: str
    password: str
    target_address: str
    target_password: str
    options: tuple[tuple[str, str], ...] = ()
    target_options: tuple[tuple[str, str], ...] = ()
    policy_family: PolicyFamily = PolicyFamily.CONTINUOUS
    retention_hours: int = 24
    clock: Callable[[], float] = time.time
    #: (source network id, recovery network id) the suite maps before failing over; empty:
    #: no mapping, and failovers override (the recovered NICs join no network).
    networks: tuple[tuple[str, str], ...] = ()
    #: The isolated network of a test failover ("" : the target's first, when it lists them).
    test_network: str = ""
    #: The target kind's plugin when another plugin than ``plugin`` serves it.
    target_plugin: object | None = None


class _Log:
    """A reporter keeping the lines the native failover writes, for failure messages."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def progress(self, fraction: float) -> None:
        """Progress is not checked by the suite."""

    def log(self, text: str) -> None:
        self.lines.append(text)


class NativeConformanceLab:
    """An engine harness with the plugin, its fabric and native target registered."""

    def __init__(self, root: Path, fabric: NativeConformanceFabric) -> None:
        self.fabric = fabric
        self.site = fabric.site
        self.kind = fabric.kind
        plugins = {fabric.kind: fabric.plugin}
        if fabric.target_plugin is not None:
            plugins[fabric.target_kind] = fabric.target_plugin
        self.harness = EngineHarness(root, plugins=plugins, clock=fabric.clock)
        self.plugins = self.harness.plugins
        self.ctx = self.harness.ctx
        self.fabric_id = self._add_fabric()
        self.target_id = self._add_target()
        self.harness.add_policy(
            POLICY, family=fabric.policy_family, retention_hours=fabric.retention_hours
        )
        self._map_networks()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.site.release((self.fabric_id, self.target_id, WRONG_FABRIC_ID, WRONG_TARGET_ID))
        finally:
            self.harness.__exit__(kind, exc, tb)

    def _add_fabric(self) -> str:
        # Stored without connecting: a plugin that cannot connect fails a test, not the setup.
        f = self.fabric
        fabric = Fabric(
            f"fab-{uuid.uuid4().hex[:8]}", f.address, f.kind, f.address, f.username, f.options
        )
        with self.harness.store.unit() as tx:
            SealedSecrets(self.harness.vault.box).add_fabric(tx, fabric, Secret(f.password))
        return fabric.fabric_id

    def _add_target(self) -> str:
        f = self.fabric
        target = Target(
            f"tgt-{uuid.uuid4().hex[:8]}", f.target_kind, f.target_address, f.target_options
        )
        with self.harness.store.unit() as tx:
            SealedSecrets(self.harness.vault.box).add_target(tx, target, Secret(f.target_password))
        return target.target_id

    def _map_networks(self) -> None:
        with self.harness.store.unit() as tx:
            for source, recovery in self.fabric.networks:
                tx.mappings.put_network(
                    NetworkMapping(self.fabric_id, source, self.target_id, recovery)
                )

    @property
    def declares_unplanned(self) -> bool:
        """Both the fabric kind and the target kind declare unplanned failover."""
        return self.declares(FailoverMode.UNPLANNED)

    def declares(self, mode: FailoverMode) -> bool:
        """Both the fabric kind and the target kind declare the failover mode."""
        fabric_kind = self.plugins.fabric_kind(self.kind)
        target_kind = self.plugins.target_kind(self.fabric.target_kind)
        return fabric_kind.capabilities.allows(mode) and mode in target_kind.failover_modes

    @property
    def latest_only(self) -> bool:
        """The target kind fails over to its latest replicated data only."""
        return self.plugins.target_kind(self.fabric.target_kind).latest_only

    def expect_points(self, item: ProtectedItem, issued: int, written_at: float) -> RecoveryPoint:
        """The vault's points after ``issued`` points; returns the one the latest failover takes.

        A target that records points on demand holds exactly those issued. A
        latest-only target holds its own points (its latest data, its
        snapshots): the vault must list exactly those, and the newest must
        be a round after the last write (at ``written_at``).
        """
        points = sorted(self.points(item), key=lambda p: p.created_at)
        if not self.latest_only:
            held = len(points)
            expect(held == issued, f"{_NUMBERS[issued]} issued, the vault holds {held}")
            return points[-1]
        target = self.ctx.target_connection(self.target_id)
        listed = self.plugins.native_points(target, GROUP)
        wanted = sorted(p.name for p in listed if machine_key(item) in p.machine_ids)
        held_names = sorted(p.cut_id for p in points)
        expect(held_names == wanted, f"the vault holds points {held_names}, the target {wanted}")
        newest = points[-1]
        expect(
            newest.created_at > written_at,
            f"the newest point ({newest.created_at}) is no later than the last write "
            f"({written_at}): it does not hold the latest data",
        )
        return newest

    @property
    def declares_reverse(self) -> bool:
        """Unplanned failover and reverse replication are both declared."""
        capabilities = self.plugins.fabric_kind(self.kind).capabilities
        return self.declares_unplanned and capabilities.reverse_replication

    def require(self, declared: bool, what: str, hooks: Sequence[str]) -> None:
        """Skip what is not declared; fail what is declared but has no hook to run it."""
        require_declared(declared, self.kind, what)
        kind = self.fabric.target_kind
        missing = [hook for hook in hooks if not implements(self.ctx, kind, hook)]
        expect(
            not missing,
            f"the kinds declare {what}, but the plugin serving target kind {kind!r} "
            f"implements no {', '.join(missing)}",
        )

    @property
    def options(self) -> FailoverOptions:
        """Failover options to the latest recorded point, overriding when nothing is mapped."""
        return FailoverOptions(
            PointSpec(PointChoice.LATEST_PROCESSED),
            test_network=self.fabric.test_network,
            allow_unmapped=not self.fabric.networks,
        )

    def discovered(self) -> list[Machine]:
        """Connect, discover and store the inventory, as registration does."""
        self.harness.refresh(self.fabric_id)
        with self.harness.store.read() as tx:
            return list(tx.fabrics.inventory(self.fabric_id).machines)

    def protected(self) -> ProtectedItem:
        """The first machine discovered and protected toward the native target."""
        name = self.fabric.machines[0]
        machines = expect_ok(self.discovered, f"{self.kind}: srp_connect and srp_discover")
        found = [m for m in machines if m.name == name]
        expect(len(found) == 1, f"discovery lists {len(found)} machines named {name!r}")
        request = NativeProtectRequest(
            self.fabric_id, (found[0].machine_id,), POLICY, self.target_id, GROUP
        )
        (item,) = expect_ok(lambda: protect_native(self.ctx, request), "srp_native_protect")
        return item

    def refreshed(self, item: ProtectedItem) -> ProtectedItem:
        """The item after the core asked the target for its state and points."""
        expect_ok(
            lambda: refresh_group(self.ctx, self.target_id, GROUP),
            "srp_native_state and srp_native_points",
        )
        return self.harness.item(item.item_id)

    def points(self, item: ProtectedItem) -> list[RecoveryPoint]:
        return self.harness.points(item.item_id)

    def failed_over(self, item: ProtectedItem) -> ProtectedItem:
        """Unplanned failover of the item to its latest recorded point."""
        log = _Log()
        expect_ok(
            lambda: run_native_unplanned(self.ctx, item.item_id, self.options, log),
            "unplanned failover to the latest point (srp_native_failover)",
        )
        return self.harness.item(item.item_id)

    def run(self, call: Callable[[ProtectedItem], object], item: ProtectedItem, doing: str) -> None:
        """One step of the native family on the item, any error a contract failure."""
        expect_ok(lambda: call(item), doing)

    def drilled(self, item: ProtectedItem) -> DrillReport:
        """A test failover of the item to its latest recorded point."""
        return expect_ok(
            lambda: run_native_test_failover(self.ctx, item.item_id, self.options, _Log()),
            "test failover to the latest point (srp_native_test_failover)",
        )

    def reversed(self, item: ProtectedItem) -> ProtectedItem:
        """Unplanned failover, commit and reverse replication, then one replication round."""
        item = self.failed_over(item)
        self.run(lambda i: run_native_commit(self.ctx, i.item_id, _Log()), item, "commit")
        self.run(
            lambda i: run_native_reverse(self.ctx, i.item_id, _Log()),
            item,
            "reverse replication (srp_native_reverse)",
        )
        self.site.replicate()
        return self.refreshed(item)

    def planned(self, item: ProtectedItem) -> ProtectedItem:
        """Planned failover: the group replicates back at once."""
        self.run(
            lambda i: run_native_planned(self.ctx, i.item_id, self.options, _Log()),
            item,
            "planned failover (srp_native_failover, mode planned)",
        )
        return self.harness.item(item.item_id)

    def fabric_connection(self, ident: str, password: str) -> FabricConnection:
        f = self.fabric
        return FabricConnection(ident, f.kind, f.address, f.username, Secret(password), f.options)

    def target_connection(self, ident: str, passphrase: str) -> TargetConnection:
        f = self.fabric
        return TargetConnection(
            ident, f.target_kind, f.target_address, Secret(passphrase), f.target_options
        )


class NativeConformanceSuite:
    """srp's conformance suite for native targets; collected when subclassed as ``Test...``."""

    pytestmark = pytest.mark.srp_conformance

    @pytest.fixture
    def srp_native_lab(
        self, srp_native_conformance_fabric: NativeConformanceFabric, tmp_path: Path
    ) -> Iterator[NativeConformanceLab]:
        """A fresh engine around the plugin, its fabric and its native target."""
        root = tmp_path / "srp-native-conformance"
        with NativeConformanceLab(root, srp_native_conformance_fabric) as lab:
            yield lab

    # ------------------------------------------------------------------
    # Declaration, discovery, protection

    def test_the_plugin_declares_a_native_target_kind(
        self, srp_native_lab: NativeConformanceLab
    ) -> None:
        lab = srp_native_lab
        wanted = lab.fabric.target_kind
        kinds = {kind.kind: kind for kind in lab.plugins.target_kinds()}
        expect(wanted in kinds, f"srp_target_kinds declares {sorted(kinds)}, not {wanted!r}")
        path = kinds[wanted].data_path
        expect(path is DataPath.NATIVE, f"target kind {wanted!r} declares data path {path.value}")

    def test_discovery_finds_the_source_machines(
        self, srp_native_lab: NativeConformanceLab
    ) -> None:
        lab = srp_native_lab
        machines = expect_ok(lab.discovered, "srp_connect and srp_discover")
        names = sorted(m.name for m in machines)
        missing = sorted(set(lab.fabric.machines) - set(names))
        expect(not missing, f"discovery lists {names}, without {missing}")
        for machine in (m for m in machines if m.name in lab.fabric.machines):
            expect(bool(machine.disks), f"discovery reports machine {machine.name!r} without disks")

    def test_protection_then_a_refresh_is_protected_with_a_point(
        self, srp_native_lab: NativeConformanceLab
    ) -> None:
        lab = srp_native_lab
        item = lab.protected()
        lab.site.replicate()
        lab.site.issue_point(GROUP, "conformance-1")
        lab.site.replicate()
        item = lab.refreshed(item)
        expect(item.state is _R.PROTECTED, f"after a replication round the item is {item.state}")
        points = lab.points(item)
        expect(bool(points), "after a replication round and a point the vault holds no point")
        latest = max(p.created_at for p in points)
        expect(item.last_point_at == latest, "the item's last point time is not its latest point")

    # ------------------------------------------------------------------
    # Failover and commit

    def test_unplanned_failover_to_the_latest_point_is_the_source_at_that_point(
        self, srp_native_lab: NativeConformanceLab
    ) -> None:
        lab = srp_native_lab
        require_declared(lab.declares_unplanned, lab.kind, "unplanned failover")
        item, expected, point = _at_one_point(lab, lab.fabric.machines[0])
        item = lab.failed_over(item)
        expect(item.state is _R.FAILED_OVER, f"after unplanned failover the item is {item.state}")
        expect(item.failover_point_id == point.point_id, "the failover is not at the latest point")
        _expect_disks(lab.site.replica_disks(item.replica_id), expected, "the replica")

    def test_commit_keeps_only_the_failover_point(
        self, srp_native_lab: NativeConformanceLab
    ) -> None:
        lab = srp_native_lab
        require_declared(lab.declares_unplanned, lab.kind, "unplanned failover (and its commit)")
        name = lab.fabric.machines[0]
        item = lab.protected()
        lab.site.replicate()
        for number in (1, 2):
            written_at = lab.fabric.clock()
            lab.site.write_source(name, number * 4096, pattern(30 + number, 4096))
            lab.site.issue_point(GROUP, f"conformance-{number}")
            lab.site.replicate()
        lab.expect_points(lab.refreshed(item), 2, written_at)
        item = lab.failed_over(item)
        committed = expect_ok(
            lambda: run_native_commit(lab.ctx, item.item_id, _Log()), "commit of the failover"
        )
        expect(committed.state is _R.COMMITTED, f"after commit the item is {committed.state}")
        kept = [p.point_id for p in lab.points(item)]
        expect(kept == [item.failover_point_id], f"after commit the vault keeps points {kept}")

    # ------------------------------------------------------------------
    # Test failover, reverse replication, failback

    def test_a_test_copy_holds_the_point_while_replication_goes_on(
        self, srp_native_lab: NativeConformanceLab
    ) -> None:
        lab = srp_native_lab
        lab.require(lab.declares(FailoverMode.TEST), "test failover", _DRILL_HOOKS)
        name = lab.fabric.machines[0]
        item, expected, _ = _at_one_point(lab, name)
        report = lab.drilled(item)
        item = lab.harness.item(item.item_id)
        expect(item.state is _R.TEST_FAILOVER, f"after a test failover the item is {item.state}")
        expect(item.test_replica_id == report.replica_id, "the item does not name its test copy")
        written_at = lab.fabric.clock()
        lab.site.write_source(name, 0, pattern(24, 4096))
        lab.site.issue_point(GROUP, "conformance-2")
        lab.site.replicate()
        # Replication went on during the drill: the second point reached the vault.
        lab.expect_points(lab.refreshed(item), 2, written_at)
        _expect_disks(lab.site.replica_disks(report.replica_id), expected, "the test copy")

    def test_cleanup_removes_the_test_copy_and_a_second_cleanup_removes_nothing(
        self, srp_native_lab: NativeConformanceLab
    ) -> None:
        lab = srp_native_lab
        lab.require(lab.declares(FailoverMode.TEST), "test failover", _DRILL_HOOKS)
        item = _with_one_point(lab, lab.fabric.machines[0])
        lab.drilled(item)
        result = expect_ok(
            lambda: run_native_cleanup(lab.ctx, item.item_id, _Log()),
            "cleanup of the test failover (srp_native_cleanup_test)",
        )
        expect(bool(result.removed) and not result.left, f"the cleanup reports {result}")
        item = lab.harness.item(item.item_id)
        expect(item.state is _R.PROTECTED, f"after the cleanup the item is {item.state}")
        target = lab.ctx.target_connection(lab.target_id)
        again = expect_ok(
            lambda: lab.plugins.native_cleanup_test(target, GROUP, (machine_key(item),)),
            "a second srp_native_cleanup_test",
        )
        expect(again.removed == () and again.left == (), f"a second cleanup reports {again}")

    def test_reverse_replication_after_a_committed_unplanned_failover(
        self, srp_native_lab: NativeConformanceLab
    ) -> None:
        lab = srp_native_lab
        lab.require(lab.declares_reverse, "reverse replication", ("srp_native_reverse",))
        item = lab.reversed(_with_one_point(lab, lab.fabric.machines[0]))
        expect(item.direction is Direction.REVERSE, "after reverse the item is not reversed")
        expect(
            item.state is _R.PROTECTED,
            f"after reverse and a replication round the item is {item.state}, not protected",
        )

    def test_failback_brings_the_replicas_data_home(
        self, srp_native_lab: NativeConformanceLab
    ) -> None:
        lab = srp_native_lab
        way_back = lab.declares_reverse or lab.declares(FailoverMode.PLANNED)
        hooks = ("srp_native_reverse",) if lab.declares_reverse else ()
        lab.require(lab.declares(FailoverMode.FAILBACK) and way_back, "failback", hooks)
        name = lab.fabric.machines[0]
        item = _with_one_point(lab, name)
        item = lab.reversed(item) if lab.declares_reverse else lab.planned(item)
        expected = list(lab.site.replica_disks(item.replica_id))
        lab.run(
            lambda i: run_native_failback(lab.ctx, i.item_id, FailoverOptions(), _Log()),
            item,
            "failback (srp_native_failover, mode failback)",
        )
        item = lab.harness.item(item.item_id)
        # Forward replication resumes; a target may resynchronize (differences only) first.
        expect(
            item.state in (_R.PROTECTED, _R.RESYNCHRONIZING)
            and item.direction is Direction.FORWARD,
            f"after failback the item is {item.state} in direction {item.direction}",
        )
        _expect_disks(lab.site.source_disks(name), expected, "the original machine")

    # ------------------------------------------------------------------
    # Error contract

    def test_a_wrong_password_is_authentication_failed(
        self, srp_native_lab: NativeConformanceLab
    ) -> None:
        lab = srp_native_lab
        wrong = lab.fabric_connection(WRONG_FABRIC_ID, lab.fabric.password + "-wrong")
        doing = "srp_connect with a wrong password"
        expect_error(AuthenticationFailed, lambda: lab.plugins.connect(wrong), doing)

    def test_a_wrong_target_passphrase_is_authentication_failed(
        self, srp_native_lab: NativeConformanceLab
    ) -> None:
        lab = srp_native_lab
        wrong = lab.target_connection(WRONG_TARGET_ID, lab.fabric.target_password + "-wrong")
        doing = "srp_native_state with a wrong target passphrase"
        expect_error(AuthenticationFailed, lambda: lab.plugins.native_state(wrong, GROUP), doing)

    def test_an_unreachable_site_is_fabric_unreachable(
        self, srp_native_lab: NativeConformanceLab
    ) -> None:
        lab = srp_native_lab
        fabric = lab.ctx.fabric_connection(lab.fabric_id)
        target = lab.ctx.target_connection(lab.target_id)
        lab.site.take_offline()
        calls: dict[str, Callable[[], object]] = {
            "srp_connect": lambda: lab.plugins.connect(fabric),
            "srp_discover": lambda: lab.plugins.discover(fabric),
            "srp_native_state": lambda: lab.plugins.native_state(target, GROUP),
            "srp_native_points": lambda: lab.plugins.native_points(target, GROUP),
        }
        for hook, call in calls.items():
            expect_error(FabricUnreachable, call, f"{hook} while the site is down")

    def test_an_unknown_group_is_answered_within_srp_errors(
        self, srp_native_lab: NativeConformanceLab
    ) -> None:
        lab = srp_native_lab
        target = lab.ctx.target_connection(lab.target_id)
        unknown = "conformance-unknown-group"
        request = NativeFailover(unknown, ("no-such-machine",), NativeChoice.LATEST)
        _expect_answer_or_srp_error(
            lambda: lab.plugins.native_state(target, unknown), "srp_native_state"
        )
        _expect_answer_or_srp_error(
            lambda: lab.plugins.native_points(target, unknown), "srp_native_points"
        )
        doing = "srp_native_failover of a group the target does not replicate"
        refused = _expect_answer_or_srp_error(
            lambda: lab.plugins.native_failover(target, request), doing
        )
        expect(refused is not None, f"{doing}: expected an srp error, but the call succeeded")


#: The hooks a native test failover needs.
_DRILL_HOOKS = ("srp_native_test_failover", "srp_native_cleanup_test")


#: How failure messages count issued points.
_NUMBERS = {1: "one point", 2: "two points"}


def _with_one_point(lab: NativeConformanceLab, name: str) -> ProtectedItem:
    """The machine protected, with one point the vault recorded, and a write after it."""
    item, _, _ = _at_one_point(lab, name)
    return item


def _at_one_point(
    lab: NativeConformanceLab, name: str
) -> tuple[ProtectedItem, list[bytes], RecoveryPoint]:
    """The machine protected with one point issued; its disks at the point a failover takes.

    A write follows the point. A target recording points on demand must
    leave it out of the point; a latest-only target replicates it into its
    latest data, the point it fails over to, so the source after that round
    is what a failover must give back (its older snapshots would not).
    """
    item = lab.protected()
    lab.site.replicate()
    lab.site.write_source(name, 8192, pattern(23, 5000))
    lab.site.issue_point(GROUP, "conformance-1")
    at_point = list(lab.site.source_disks(name))
    written_at = lab.fabric.clock()
    lab.site.write_source(name, 0, pattern(25, 4096))
    lab.site.replicate()
    if lab.latest_only:
        at_point = list(lab.site.source_disks(name))
    item = lab.refreshed(item)
    return item, at_point, lab.expect_points(item, 1, written_at)


def _expect_answer_or_srp_error(call: Callable[[], object], doing: str) -> SrpError | None:
    """Run ``call``: an answer or an srp error is fine, anything else is a contract failure."""
    try:
        call()
    except PluginHookError as exc:
        failed: PluginHookError = exc
    except SrpError as exc:
        return exc
    else:
        return None
    fail(
        f"{doing}: the plugin raised an exception outside srp's hierarchy "
        f"(map it with raise ... from): {failed}"
    )


def _expect_disks(actual: Sequence[bytes], expected: Sequence[bytes], what: str) -> None:
    expect(
        len(actual) == len(expected), f"{what} has {len(actual)} disks, expected {len(expected)}"
    )
    for number, (got, wanted) in enumerate(zip(actual, expected, strict=True)):
        expect_same_bytes(got, wanted, f"{what}: disk {number}")
