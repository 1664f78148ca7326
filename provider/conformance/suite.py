"""The conformance suite: the whole life of a protected machine, then the error contract.

Subclass :class:`ConformanceSuite` as ``Test...`` in a test module and
provide the ``srp_conformance_fabric`` fixture; every test gets a fresh
:class:`~provider.conformance.lab.ConformanceLab` (``srp_conformance_lab``).
Tests of behaviour the kind does not declare skip with the reason; tests of
behaviour it declares fail when the plugin does not deliver it.
"""

from __future__ import annotations

import pytest

from provider.conformance.checks import (
    expect,
    expect_error,
    expect_ok,
    expect_succeeded,
    require_declared,
)
from provider.conformance.fabric import KIB
from provider.conformance.lab import (
    CYCLE_SECONDS,
    ConformanceLab,
    ProtectedMachine,
    expect_same_bytes,
    pattern,
)
from provider.contracts.declarations import FailoverMode
from provider.contracts.replica import CutRequest, DiskMarker, ExtentData
from provider.errors import AuthenticationFailed, FabricUnreachable, MachineNotFound
from provider.model.item import Direction
from provider.model.recovery import Consistency, RecoveryPoint
from provider.model.states import ReplicationState

#: srp compares and sends back differences in blocks of this size.
BLOCK = 64 * KIB
#: Names that try to run code or escape a path; each must stay only a name.
HOSTILE_NAMES = (
    "x'; Remove-VM *",
    "it\u2019s $(Stop-Computer -Force)",
    'semi;colon & "double" | Out-Null',
    "back`tick`n`$env:PATH",
    "new\nline; rm -rf /",
    "\u00dcberpr\u00fcfung \u6771\u4eac \u2018q\u201b",
    "../../escape",
)
_R = ReplicationState


class ConformanceSuite:
    """srp's conformance suite; collected when subclassed under a ``Test`` name."""

    pytestmark = pytest.mark.srp_conformance

    # ------------------------------------------------------------------
    # Declaration and discovery

    def test_the_plugin_declares_the_kind(self, srp_conformance_lab: ConformanceLab) -> None:
        lab = srp_conformance_lab
        kinds = [kind.kind for kind in lab.plugins.fabric_kinds()]
        expect(lab.kind in kinds, f"srp_fabric_kinds declares {kinds}, not {lab.kind!r}")

    def test_connect_says_what_the_fabric_is(self, srp_conformance_lab: ConformanceLab) -> None:
        lab = srp_conformance_lab
        identity = expect_ok(lambda: lab.plugins.connect(lab.probe()), "srp_connect")
        expect(
            identity.kind == lab.kind,
            f"srp_connect says the fabric is of kind {identity.kind!r}, expected {lab.kind!r}",
        )
        expect(bool(identity.name), "srp_connect returned an identity without a name")

    def test_discovery_reports_the_machine_as_created(
        self, srp_conformance_lab: ConformanceLab
    ) -> None:
        lab = srp_conformance_lab
        sizes = lab.fabric.disk_sizes
        lab.source.create_machine("web01", sizes)
        first = lab.discovered("web01")
        capacities = sorted(disk.capacity for disk in first.disks)
        expect(capacities == sorted(sizes), f"discovered disk sizes {capacities}, created {sizes}")
        expect(first.power_state == "running", f"a new machine is {first.power_state!r}")
        expect(len(first.nics) == 1, f"a new machine has one NIC, discovery says {first.nics}")
        again = lab.discovered("web01")
        ids = (first.machine_id, [d.disk_id for d in first.disks], first.nics)
        expect(
            (again.machine_id, [d.disk_id for d in again.disks], again.nics) == ids,
            "machine, disk and NIC ids must be stable from one discovery to the next",
        )

    # ------------------------------------------------------------------
    # Replication

    def test_initial_replication_is_byte_exact(self, srp_conformance_lab: ConformanceLab) -> None:
        lab = srp_conformance_lab
        protected = lab.protect_new("web01")
        expect(
            lab.item(protected.item_id).state is _R.INITIAL_REPLICATION,
            "a newly protected machine starts in initial replication",
        )
        expected = lab.content(protected)
        point = lab.replicate(protected)
        disks = sorted(d.disk_id for d in point.disks)
        expect(disks == sorted(protected.disk_ids), f"the point covers {disks}")
        lab.expect_exact(protected, point, expected, "initial replication")
        expect(lab.item(protected.item_id).state is _R.PROTECTED, "the item is protected")

    def test_delta_cycles_with_churn_keep_every_point_exact(
        self, srp_conformance_lab: ConformanceLab
    ) -> None:
        lab = srp_conformance_lab
        protected = lab.replicated()
        first, last = protected.disk_ids[0], protected.disk_ids[-1]
        end = protected.machine.disk(first).capacity
        churn = [
            [(first, 4096, pattern(1, 100))],
            [(first, BLOCK - 3000, pattern(2, 9000)), (last, 0, pattern(3, 4096))],
            [(first, end - 512, pattern(4, 512))],
        ]
        history = [_churn_cycle(lab, protected, writes) for writes in churn]
        for number, (point, expected) in enumerate(history, start=1):
            lab.expect_exact(protected, point, expected, f"delta cycle {number}")
        lab.replicate(protected)
        shipped = lab.last_report.bytes_shipped
        expect(shipped == 0, f"a cycle with no guest writes shipped {shipped} bytes")

    def test_an_abandoned_cut_loses_nothing(self, srp_conformance_lab: ConformanceLab) -> None:
        lab = srp_conformance_lab
        protected = lab.replicated()
        disk = protected.disk_ids[0]
        lab.source.write_disk(protected.name, disk, 3 * 4096, pattern(5, 4096))
        connection = lab.ctx.fabric_connection(lab.fabric_id())
        markers = _markers(lab, protected)
        request = CutRequest("cut-conformance-abandoned", (protected.machine,), markers)
        abandoned = expect_ok(lambda: lab.plugins.capture_cut(connection, request), "a cut")
        lab.plugins.release_cut(connection, abandoned, False)
        lab.source.write_disk(protected.name, disk, 20 * 4096, pattern(6, 4096))
        expected = lab.content(protected)
        point = lab.replicate(protected)
        lab.expect_exact(protected, point, expected, "the cycle after a cut released unconfirmed")

    def test_app_consistent_point(self, srp_conformance_lab: ConformanceLab) -> None:
        lab = srp_conformance_lab
        require_declared(lab.capabilities.app_consistent, lab.kind, "app-consistent points")
        protected = lab.replicated()
        lab.source.write_disk(protected.name, protected.disk_ids[0], 8192, pattern(7, 4096))
        expected = lab.content(protected)
        point = lab.replicate(protected, Consistency.APP)
        expect(
            point.consistency is Consistency.APP,
            f"an app-consistent cycle recorded a {point.consistency.value} point "
            f"({lab.last_report.note or 'no note'})",
        )
        lab.expect_exact(protected, point, expected, "app-consistent point")

    def test_resync_after_lost_change_tracking(self, srp_conformance_lab: ConformanceLab) -> None:
        lab = srp_conformance_lab
        protected = lab.replicated()
        lab.source.lose_tracking(protected.name)
        disk = protected.disk_ids[0]
        lab.source.write_disk(protected.name, disk, 2 * BLOCK + 100, pattern(8, 3000))
        expected = lab.content(protected)
        point = lab.replicate(protected)
        resynced = sorted(lab.last_report.resynchronized)
        expect(
            resynced == sorted(protected.disk_ids),
            f"after tracking was lost srp_capture_cut must report RESYNC for every disk; "
            f"resynchronized: {resynced}",
        )
        _expect_less_than_half(lab, protected, "a resynchronization")
        lab.expect_exact(protected, point, expected, "resynchronization")
        lab.source.write_disk(protected.name, disk, 100, pattern(9, 100))
        expected = lab.content(protected)
        point = lab.replicate(protected)
        expect(lab.last_report.resynchronized == (), "after a resync tracking must resume")
        lab.expect_exact(protected, point, expected, "the cycle after a resynchronization")

    def test_a_replication_group_shares_one_cut(self, srp_conformance_lab: ConformanceLab) -> None:
        lab = srp_conformance_lab
        caps = lab.capabilities
        require_declared(caps.multi_machine_groups, lab.kind, "multi-machine replication groups")
        small = (lab.fabric.disk_sizes[0],)
        members = [lab.protect_new(n, small, group="conformance") for n in ("db01", "db02")]
        expected = [lab.content(member) for member in members]
        report = lab.cycle(*(member.item_id for member in members))
        points = {point.item_id: point for point in report.recorded}
        expect(len(points) == 2, f"a group cycle recorded {len(points)} points, expected 2")
        cuts = {point.group_cut for point in points.values()}
        expect(cuts == {report.cut_id}, f"the group's points come from cuts {sorted(cuts)}")
        for member, content in zip(members, expected, strict=True):
            lab.expect_exact(member, points[member.item_id], content, f"group member {member.name}")

    def test_disabling_tracking_never_fails(self, srp_conformance_lab: ConformanceLab) -> None:
        lab = srp_conformance_lab
        protected = lab.replicated()
        connection = lab.probe()
        for when in ("on a tracked machine", "a second time", "on a machine that is gone"):
            if when.endswith("gone"):
                lab.source.remove_machine(protected.name)
            expect_ok(
                lambda: lab.plugins.disable_tracking(connection, protected.machine),
                f"srp_disable_tracking {when}",
            )

    # ------------------------------------------------------------------
    # Failover, commit, reverse replication, failback

    def test_test_failover_verifies_bytes_and_cleans_up(
        self, srp_conformance_lab: ConformanceLab
    ) -> None:
        lab = srp_conformance_lab
        require_declared(lab.capabilities.allows(FailoverMode.TEST), lab.kind, "test failover")
        protected = lab.replicated()
        expected = lab.content(protected)
        job = expect_succeeded(lab.failover.test_failover([protected.item_id]), "test failover")
        (drill,) = lab.failover.drill_reports(job.job_id)
        expect(drill.verified, f"the drill's disks do not match their point: {drill.disks}")
        _expect_replica(lab, drill.replica_id, expected, "the test failover's replica")
        lab.source.write_disk(protected.name, protected.disk_ids[0], 4096, pattern(10, 5000))
        during = lab.content(protected)
        lab.expect_exact(protected, lab.replicate(protected), during, "a cycle during the drill")
        cleanup = lab.failover.cleanup_test_failover([protected.item_id])
        expect_succeeded(cleanup, "test failover cleanup")
        expect(lab.compute.find(drill.replica_id) is None, "cleanup left the drill's machine")
        expect(lab.item(protected.item_id).state is _R.PROTECTED, "after cleanup: protected")
        expect(lab.power_state(protected.name) == "running", "a drill never touches the source")

    def test_planned_failover_stops_the_source_and_loses_nothing(
        self, srp_conformance_lab: ConformanceLab
    ) -> None:
        lab = srp_conformance_lab
        planned = lab.capabilities.allows(FailoverMode.PLANNED)
        require_declared(planned, lab.kind, "planned failover")
        protected = lab.replicated()
        # Written after the last cycle: only the final cut can carry it.
        lab.source.write_disk(protected.name, protected.disk_ids[0], 100_000, pattern(11, 5000))
        expected = lab.content(protected)
        lab.virtual_clock.advance(CYCLE_SECONDS)
        expect_succeeded(lab.failover.planned_failover([protected.item_id]), "planned failover")
        state = lab.power_state(protected.name)
        expect(state == "off", f"after srp_prepare_failover discovery says the source is {state!r}")
        item = lab.item(protected.item_id)
        expect(item.state is _R.FAILED_OVER, f"after planned failover the item is {item.state}")
        _expect_replica(lab, item.replica_id, expected, "the planned failover's replica")

    def test_unplanned_failover_with_the_source_down(
        self, srp_conformance_lab: ConformanceLab
    ) -> None:
        lab = srp_conformance_lab
        caps = lab.capabilities
        require_declared(caps.allows(FailoverMode.UNPLANNED), lab.kind, "unplanned failover")
        protected = lab.replicated()
        expected = lab.content(protected)
        lab.source.write_disk(protected.name, protected.disk_ids[0], 0, pattern(12, 4096))
        lab.source.set_reachable(False)
        try:
            job = lab.failover.unplanned_failover([protected.item_id])
        finally:
            lab.source.set_reachable(True)
        expect_succeeded(job, "unplanned failover with the source down")
        item = lab.item(protected.item_id)
        _expect_replica(lab, item.replica_id, expected, "the unplanned failover's replica")

    def test_commit_keeps_only_the_failover_point(
        self, srp_conformance_lab: ConformanceLab
    ) -> None:
        lab = srp_conformance_lab
        _require_a_failover(lab)
        protected = lab.replicated()
        lab.source.write_disk(protected.name, protected.disk_ids[0], 0, pattern(13, 4096))
        lab.replicate(protected)
        _failed_over_and_committed(lab, protected)
        item = lab.item(protected.item_id)
        expect(item.state is _R.COMMITTED, f"after commit the item is {item.state}")
        kept = [p.point_id for p in lab.points(protected.item_id)]
        expect(kept == [item.failover_point_id], f"commit kept the points {kept}")

    def test_reverse_replication_writes_back_only_the_differences(
        self, srp_conformance_lab: ConformanceLab
    ) -> None:
        lab = srp_conformance_lab
        require_declared(lab.capabilities.reverse_replication, lab.kind, "reverse replication")
        _require_a_failover(lab)
        protected = lab.replicated()
        disk = protected.disk_ids[0]
        replica_id = _failed_over_and_committed(lab, protected)
        lab.source.write_disk(protected.name, disk, 3 * BLOCK, pattern(14, 100))
        lab.compute.write_disk(replica_id, disk, 0, b"\x14" * 10)
        lab.compute.write_disk(replica_id, disk, BLOCK + 5, b"\x15" * 10)
        job = lab.failover.reverse_replication([protected.item_id])
        expect_succeeded(job, "reverse replication")
        _expect_sent(job.tasks[0].output, protected, {disk: 3})
        _expect_source(lab, protected, lab.replica_content(replica_id), "after reverse replication")
        item = lab.item(protected.item_id)
        expect(
            (item.state, item.direction) == (_R.PROTECTED, Direction.REVERSE),
            f"after reverse replication the item is {item.state} {item.direction}",
        )

    def test_failback_brings_the_machine_home(self, srp_conformance_lab: ConformanceLab) -> None:
        lab = srp_conformance_lab
        caps = lab.capabilities
        require_declared(caps.reverse_replication, lab.kind, "reverse replication")
        require_declared(caps.allows(FailoverMode.FAILBACK), lab.kind, "failback")
        require_declared(lab.kind in caps.failback_to, lab.kind, f"failback to {lab.kind}")
        _require_a_failover(lab)
        protected = lab.replicated()
        disk = protected.disk_ids[0]
        replica_id = _failed_over_and_committed(lab, protected)
        job = lab.failover.reverse_replication([protected.item_id])
        expect_succeeded(job, "reverse replication")
        lab.compute.write_disk(replica_id, disk, 2 * BLOCK, b"\x16" * 300)
        final = lab.replica_content(replica_id)
        expect_succeeded(lab.failover.failback([protected.item_id]), "failback")
        _expect_source(lab, protected, final, "after failback")
        state = lab.power_state(protected.name)
        expect(state == "running", f"after failback (srp_resume_source) the source is {state!r}")
        expect(lab.compute.find(replica_id) is None, "failback left the replica machine")
        lab.source.write_disk(protected.name, disk, 4096, pattern(15, 4096))
        expected = lab.content(protected)
        lab.expect_exact(protected, lab.replicate(protected), expected, "a cycle after failback")

    # ------------------------------------------------------------------
    # The error contract

    def test_wrong_password_is_authentication_failed(
        self, srp_conformance_lab: ConformanceLab
    ) -> None:
        lab = srp_conformance_lab
        wrong = lab.probe(password=lab.fabric.password + "-wrong")
        expect_error(AuthenticationFailed, lambda: lab.plugins.connect(wrong), "srp_connect")
        expect_error(AuthenticationFailed, lambda: lab.plugins.discover(wrong), "srp_discover")
        expect_ok(lambda: lab.plugins.connect(lab.probe()), "srp_connect with the right password")

    def test_an_unreachable_fabric_is_fabric_unreachable(
        self, srp_conformance_lab: ConformanceLab
    ) -> None:
        lab = srp_conformance_lab
        lab.source.create_machine("web01", lab.fabric.disk_sizes)
        session = lab.probe()
        lab.discovered("web01", session)
        lab.source.set_reachable(False)
        try:
            doing = "srp_connect while the fabric is down"
            expect_error(FabricUnreachable, lambda: lab.plugins.connect(lab.probe()), doing)
            doing = "srp_discover on an open session while the fabric is down"
            expect_error(FabricUnreachable, lambda: lab.plugins.discover(session), doing)
        finally:
            lab.source.set_reachable(True)
        expect_ok(lambda: lab.discovered("web01", session), "srp_discover once the fabric is back")

    def test_a_vanished_machine_is_machine_not_found(
        self, srp_conformance_lab: ConformanceLab
    ) -> None:
        lab = srp_conformance_lab
        lab.source.create_machine("web01", lab.fabric.disk_sizes)
        machine = lab.discovered("web01")
        connection = lab.probe()
        expect_ok(lambda: lab.plugins.enable_tracking(connection, machine), "srp_enable_tracking")
        lab.source.remove_machine("web01")
        gone = "on a machine that vanished"
        calls = {
            "srp_enable_tracking": lambda: lab.plugins.enable_tracking(connection, machine),
            "srp_capture_cut": lambda: lab.plugins.capture_cut(
                connection, CutRequest("cut-conformance-gone", (machine,), ())
            ),
        }
        if {FailoverMode.PLANNED, FailoverMode.FAILBACK} & set(lab.capabilities.failover_modes):
            calls["srp_prepare_failover"] = lambda: lab.plugins.prepare_failover(
                connection, machine
            )
        for hook, call in calls.items():
            expect_error(MachineNotFound, call, f"{hook} {gone}")

    def test_writing_back_to_a_vanished_machine_is_machine_not_found(
        self, srp_conformance_lab: ConformanceLab
    ) -> None:
        lab = srp_conformance_lab
        require_declared(lab.capabilities.reverse_replication, lab.kind, "reverse replication")
        lab.source.create_machine("web01", lab.fabric.disk_sizes)
        machine = lab.discovered("web01")
        lab.source.remove_machine("web01")
        connection = lab.probe()
        extents = [ExtentData(0, pattern(16, 4096))]
        disk_id = machine.disks[0].disk_id
        expect_error(
            MachineNotFound,
            lambda: lab.plugins.write_extents(connection, machine, disk_id, extents),
            "srp_write_extents on a machine that vanished",
        )

    def test_hostile_names_are_only_names(self, srp_conformance_lab: ConformanceLab) -> None:
        lab = srp_conformance_lab
        small = (lab.fabric.disk_sizes[0],)
        bystander = lab.new_machine("bystander", small)
        before = {d.disk_id: lab.source.read_disk("bystander", d.disk_id) for d in bystander.disks}
        protected = [lab.protect_new(name, small) for name in HOSTILE_NAMES]
        names = sorted(m.name for m in lab.plugins.discover(lab.probe()).machines)
        expect(
            names == sorted([*HOSTILE_NAMES, "bystander"]),
            f"discovery lists the names {names}",
        )
        for machine in protected:
            expected = lab.content(machine)
            lab.expect_exact(machine, lab.replicate(machine), expected, f"machine {machine.name!r}")
        after = {d.disk_id: lab.source.read_disk("bystander", d.disk_id) for d in bystander.disks}
        expect(after == before, "protecting hostile names changed another machine's disks")
        expect(lab.power_state("bystander") == "running", "the bystander machine was stopped")

    def test_a_dropped_connection_fails_once_then_the_next_call_works(
        self, srp_conformance_lab: ConformanceLab
    ) -> None:
        lab = srp_conformance_lab
        lab.source.create_machine("web01", lab.fabric.disk_sizes)
        session = lab.probe()
        lab.discovered("web01", session)
        lab.source.drop_connection()
        doing = "srp_discover over a dropped connection"
        expect_error(FabricUnreachable, lambda: lab.plugins.discover(session), doing)
        expect_ok(lambda: lab.discovered("web01", session), "the call after a dropped connection")


def _churn_cycle(
    lab: ConformanceLab, protected: ProtectedMachine, writes: list[tuple[str, int, bytes]]
) -> tuple[RecoveryPoint, dict[str, bytes]]:
    for disk, offset, data in writes:
        lab.source.write_disk(protected.name, disk, offset, data)
    expected = lab.content(protected)
    point = lab.replicate(protected)
    _expect_less_than_half(lab, protected, "a delta cycle")
    return point, expected


def _expect_less_than_half(lab: ConformanceLab, protected: ProtectedMachine, what: str) -> None:
    total = sum(disk.capacity for disk in protected.machine.disks)
    shipped = lab.last_report.bytes_shipped
    expect(
        shipped < total // 2,
        f"{what} shipped {shipped} of {total} bytes: only changed blocks should travel",
    )


def _markers(lab: ConformanceLab, protected: ProtectedMachine) -> tuple[DiskMarker, ...]:
    with lab.store.read() as tx:
        markers = tx.items.markers(protected.item_id)
    machine_id = protected.machine.machine_id
    return tuple(DiskMarker(machine_id, m.disk_id, m.last_cut_id) for m in markers)


def _expect_replica(
    lab: ConformanceLab, replica_id: str, expected: dict[str, bytes], what: str
) -> None:
    replica = lab.replica_content(replica_id)
    expect(sorted(replica) == sorted(expected), f"{what} has disks {sorted(replica)}")
    for disk_id, content in expected.items():
        expect_same_bytes(replica[disk_id], content, f"{what}: disk {disk_id}")


def _expect_source(
    lab: ConformanceLab, protected: ProtectedMachine, expected: dict[str, bytes], when: str
) -> None:
    for disk_id, content in expected.items():
        actual = lab.source.read_disk(protected.name, disk_id)
        expect_same_bytes(actual, content, f"{when}, the source's disk {disk_id}")


def _expect_sent(output: str, protected: ProtectedMachine, differing: dict[str, int]) -> None:
    # srp compares block digests from both sides: a plugin whose digests or
    # writes are wrong makes srp send more (or fewer) blocks than differ.
    for disk in protected.machine.disks:
        blocks, sent = disk.capacity // BLOCK, differing.get(disk.disk_id, 0)
        line = (
            f"disk {disk.disk_id}: {sent} of {blocks} blocks differed and were sent "
            f"({sent * BLOCK} bytes)"
        )
        expect(line in output.splitlines(), f"expected {line!r} in the job output:\n{output}")


def _require_a_failover(lab: ConformanceLab) -> None:
    modes = set(lab.capabilities.failover_modes)
    declared = bool({FailoverMode.PLANNED, FailoverMode.UNPLANNED} & modes)
    require_declared(declared, lab.kind, "planned or unplanned failover")


def _failed_over_and_committed(lab: ConformanceLab, protected: ProtectedMachine) -> str:
    """Fail over (unplanned with the source down when declared, else planned) and commit."""
    if lab.capabilities.allows(FailoverMode.UNPLANNED):
        lab.source.set_reachable(False)
        try:
            job = lab.failover.unplanned_failover([protected.item_id])
        finally:
            lab.source.set_reachable(True)
    else:
        job = lab.failover.planned_failover([protected.item_id])
    expect_succeeded(job, "failover")
    expect_succeeded(lab.failover.commit([protected.item_id]), "commit")
    return lab.item(protected.item_id).replica_id
