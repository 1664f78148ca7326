"""Hyper-V Replica between two fake hosts: the relationship, its states, health and rules.

A :class:`ReplicationLink` joins a primary VM and its replica VM (on the
Replica server named at ``Enable-VMReplication``). Replication runs on the
lab's virtual clock:

* ``Start-VMInitialReplication`` copies the disks as they were when it
  started, taking as long as the lab's bandwidth dictates;
* then every ``ReplicationFrequencySec`` (30, 300 or 900 s) a cycle ships
  the blocks changed since the previous cycle to the replica disks;
* a failed cycle (link down, replica not accepting) is retried after 1, 2,
  4, 8 and 10 minutes, then every 30 minutes;
* when tracked changes cannot be trusted (more than half the disk changed,
  tracking lost, an unclean stop) the relationship needs a
  resynchronization: automatic with ``AutoResynchronizeEnabled``, otherwise
  it waits in ``WaitingForStartResynchronize`` for ``Resume-VMReplication
  -Resynchronize``;
* health is Critical on errors, Warning when more than 20% of the cycles of
  the last hour were missed or nothing replicated for over an hour.

Failover follows Hyper-V: ``Start-VMFailover -Prepare`` on an off primary
(``PreparedForFailover`` on both sides), then ``Start-VMFailover`` on the
replica (``FailedOverWaitingCompletion``; without a prepare it is an
unplanned failover to the latest point), ``Complete-VMFailover``
(``FailedOver``), ``Set-VMReplication -Reverse``; ``-AsTest`` creates a test
VM that ``Stop-VMFailover`` removes.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fakes.clock import TimerHandle
from fakes.disk import DiskSnapshot, VirtualDisk
from fakes.hyperv.agent import merge_extents
from fakes.hyperv.enums import (
    AuthenticationType,
    ReplicationHealth,
    ReplicationMode,
    ReplicationState,
    SnapshotType,
    VMState,
)
from fakes.hyperv.powershell.errors import (
    VirtualizationError,
    invalid_state,
    operation_failed,
)
from fakes.hyperv.replica_server import connection_failed

if TYPE_CHECKING:
    from fakes.hyperv.host import HyperVHost, VirtualMachine
    from fakes.hyperv.site import HyperVLab

RETRY_DELAYS = (60.0, 120.0, 240.0, 480.0, 600.0)
RETRY_STEADY = 1800.0
FREQUENCIES = (30, 300, 900)
MAX_RECOVERY_HISTORY = 24
MAX_VSS_HOURS = 12
HOUR = 3600.0
_COPY_CHUNK = 1 << 20
_ACCEPTING_INITIAL = (
    ReplicationState.WaitingForInitialReplication,
    ReplicationState.Replicating,
    ReplicationState.Resynchronizing,
)


def retry_delay(failures: int) -> float:
    """Seconds before retry number ``failures`` (1-based): 1, 2, 4, 8, 10 min, then 30."""
    if failures <= len(RETRY_DELAYS):
        return RETRY_DELAYS[failures - 1]
    return RETRY_STEADY


@dataclass(frozen=True)
class ReplicationSettings:
    """Enable-VMReplication's options; invalid values raise ValueError."""

    replica_server: str
    replica_port: int = 80
    authentication: AuthenticationType = AuthenticationType.Kerberos
    frequency_sec: int = 300
    recovery_history: int = 0
    vss_frequency_hours: int = 0
    compression: bool = True
    auto_resynchronize: bool = False

    def __post_init__(self) -> None:
        if self.frequency_sec not in FREQUENCIES:
            raise ValueError(f"frequency must be one of {FREQUENCIES}, got {self.frequency_sec}")
        if not 0 <= self.recovery_history <= MAX_RECOVERY_HISTORY:
            raise ValueError(f"recovery history must be 0..24, got {self.recovery_history}")
        if not 0 <= self.vss_frequency_hours <= MAX_VSS_HOURS:
            raise ValueError(f"VSS frequency must be 0..12 hours, got {self.vss_frequency_hours}")


@dataclass(frozen=True)
class RecoveryPoint:
    """An additional recovery point kept on the replica (a snapshot of its disks)."""

    name: str
    id: uuid.UUID
    created: float
    snapshot_type: SnapshotType
    snapshots: tuple[DiskSnapshot, ...]

    def release(self) -> None:
        for snapshot in self.snapshots:
            snapshot.release()


@dataclass
class _Failover:
    planned: bool
    previous_state: ReplicationState
    #: Replica disks as they were at failover, to undo it (Stop-VMFailover).
    base: list[DiskSnapshot] = field(default_factory=list)

    def release(self) -> None:
        for snapshot in self.base:
            snapshot.release()
        self.base = []


def ship_changes(snapshot: DiskSnapshot, target: VirtualDisk) -> int:
    """Write the cut's changed extents to ``target``; return the bytes sent."""
    sent = 0
    for offset, length in snapshot.changed_extents():
        for at in range(offset, offset + length, _COPY_CHUNK):
            size = min(_COPY_CHUNK, offset + length - at)
            target.write(at, snapshot.read(at, size))
            sent += size
    return sent


def synchronize(snapshot: DiskSnapshot, target: VirtualDisk) -> int:
    """Make ``target`` equal to the cut block by block; return the bytes rewritten.

    Only blocks allocated on either side are compared: never-written blocks
    are zeros on both.
    """
    size = target.block_size
    extents = merge_extents(snapshot.allocated_extents() + target.allocated_extents())
    written = 0
    for offset, length in extents:
        for at in range(offset, offset + length, size):
            count = min(size, offset + length - at)
            data = snapshot.read(at, count)
            if target.read(at, count) != data:
                target.write(at, data)
                written += count
    return written


def _point_label(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    clock = f"{hour}:{moment.minute:02d}:{moment.second:02d} {suffix}"
    return f"{moment.month}/{moment.day}/{moment.year} - {clock}"


class ReplicationLink:
    """One Hyper-V Replica relationship; both VMs point at it through ``vm.replication``."""

    def __init__(
        self,
        lab: HyperVLab,
        primary: VirtualMachine,
        replica: VirtualMachine,
        settings: ReplicationSettings,
    ) -> None:
        self.lab = lab
        self.primary = primary
        self.replica = replica
        self.settings = settings
        self.primary_state = ReplicationState.ReadyForInitialReplication
        self.replica_state = ReplicationState.WaitingForInitialReplication
        self.enabled_at = lab.clock.now()
        self.replicating_since: float | None = None
        self.last_replication_time: float | None = None
        self.last_app_consistent: float | None = None
        self.outcomes: list[tuple[float, bool]] = []
        self.sizes: list[int] = []
        self.failures = 0
        self.errors = 0
        self.recovery_points: list[RecoveryPoint] = []
        self.test_vm: VirtualMachine | None = None
        self._failover: _Failover | None = None
        self._timer: TimerHandle | None = None
        self._pending: list[DiskSnapshot] = []

    def __repr__(self) -> str:
        return (
            f"ReplicationLink({self.primary.name!r}: {self.primary.host.name} -> "
            f"{self.replica.host.name}, {self.primary_state.name}/{self.replica_state.name})"
        )

    # -- enabling ----------------------------------------------------------------------

    @classmethod
    def enable(cls, vm: VirtualMachine, settings: ReplicationSettings) -> ReplicationLink:
        """Enable-VMReplication: check the rules, create the replica VM, start tracking."""
        lab = vm.host.lab
        if vm.replication is not None:
            raise VirtualizationError(
                f"Replication is already enabled for virtual machine '{vm.name}'.",
                target=vm.name,
            )
        if vm.host.agent.is_tracking(vm):
            raise operation_failed(
                vm.name,
                "enable replication",
                "The virtual machine is protected by srp change tracking (SrpAgent).",
                vm.vm_id,
            )
        server = _reachable_server(vm.host, settings, vm)
        replica = _create_replica_vm(vm, server)
        link = cls(lab, vm, replica, settings)
        vm.replication = replica.replication = link
        for disk in vm.disks:
            disk.enable_tracking()
        return link

    # -- views -------------------------------------------------------------------------

    def is_primary(self, vm: VirtualMachine) -> bool:
        return vm is self.primary

    def state_of(self, vm: VirtualMachine) -> ReplicationState:
        return self.primary_state if self.is_primary(vm) else self.replica_state

    def mode_of(self, vm: VirtualMachine) -> ReplicationMode:
        return ReplicationMode.Primary if self.is_primary(vm) else ReplicationMode.Replica

    def _set_state(self, vm: VirtualMachine, state: ReplicationState) -> None:
        if self.is_primary(vm):
            self.primary_state = state
        else:
            self.replica_state = state

    def health_of(self, vm: VirtualMachine) -> ReplicationHealth:
        """Critical on errors; Warning on >20% missed cycles in the last hour or a stale replica."""
        state = self.state_of(vm)
        critical = (ReplicationState.Error, ReplicationState.WaitingForStartResynchronize)
        if state in critical or self.failures:
            return ReplicationHealth.Critical
        if state in (ReplicationState.Suspended, ReplicationState.ResynchronizeSuspended):
            return ReplicationHealth.Warning
        now = self.lab.clock.now()
        reference = self.last_replication_time or self.enabled_at
        if now - reference > HOUR or self.missed_ratio(now) > 0.2:
            return ReplicationHealth.Warning
        return ReplicationHealth.Normal

    def missed_ratio(self, now: float) -> float:
        """The share of the last hour's expected cycles that did not replicate."""
        if self.replicating_since is None:
            return 0.0
        window = now - max(now - HOUR, self.replicating_since)
        expected = math.floor(window / self.settings.frequency_sec)
        if expected < 1:
            return 0.0
        done = sum(1 for at, ok in self.outcomes if ok and at > now - HOUR)
        return max(0, expected - done) / expected

    def missed_cycles(self, now: float) -> int:
        if self.replicating_since is None:
            return 0
        window = now - max(now - HOUR, self.replicating_since)
        expected = math.floor(window / self.settings.frequency_sec)
        done = sum(1 for at, ok in self.outcomes if ok and at > now - HOUR)
        return max(0, expected - done)

    def pending_bytes(self, vm: VirtualMachine) -> int:
        if not self.is_primary(vm):
            return 0
        return sum(disk.changed_bytes for disk in vm.disks)

    # -- scheduling --------------------------------------------------------------------

    def _schedule(self, delay: float, callback: Callable[[], None]) -> None:
        self._cancel_timer()
        self._timer = self.lab.clock.call_later(delay, lambda: self._fire(callback))

    def _fire(self, callback: Callable[[], None]) -> None:
        with self.lab.lock:
            self._timer = None
            callback()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _transfer_seconds(self, size: int) -> float:
        return float(max(1, math.ceil(size / self.lab.bandwidth)))

    def _replica_reachable(self, accepting: tuple[ReplicationState, ...]) -> bool:
        replica = self.replica
        return (
            self.lab.link_up(self.primary.host.name, replica.host.name)
            and replica in replica.host.vms
            and replica.replication is self
            and self.replica_state in accepting
        )

    def _take_cut(self, disks: list[VirtualDisk]) -> list[DiskSnapshot]:
        cut_id = f"hvr-{self.lab.next_serial()}"
        return [disk.snapshot(cut_id) for disk in disks]

    # -- initial replication -----------------------------------------------------------

    def start_initial(self, vm: VirtualMachine) -> None:
        """Start-VMInitialReplication: copy the disks as they are now, over the network."""
        self._require_primary(vm, "start initial replication")
        if self.primary_state is not ReplicationState.ReadyForInitialReplication:
            raise invalid_state(vm.name, "start initial replication", vm.vm_id, self._name(vm))
        self._pending = self._take_cut(vm.disks)
        size = sum(length for cut in self._pending for _, length in cut.allocated_extents())
        self.primary_state = ReplicationState.InitialReplicationInProgress
        self._schedule(self._transfer_seconds(size), self._finish_initial)

    def _finish_initial(self) -> None:
        if self.primary_state is not ReplicationState.InitialReplicationInProgress:
            return
        if not self._replica_reachable(_ACCEPTING_INITIAL):
            self._cycle_failed(self._finish_initial)
            return
        sent = sum(
            synchronize(cut, disk)
            for cut, disk in zip(self._pending, self.replica.disks, strict=True)
        )
        self._release_pending()
        self._now_replicating()
        self._cycle_succeeded(sent)

    def _release_pending(self) -> None:
        for cut in self._pending:
            cut.release()
        self._pending = []

    def _now_replicating(self) -> None:
        self.primary_state = self.replica_state = ReplicationState.Replicating
        self.replicating_since = self.lab.clock.now()

    # -- cycles ------------------------------------------------------------------------

    def _cycle(self) -> None:
        if self.primary_state is not ReplicationState.Replicating:
            return
        if not self._replica_reachable((ReplicationState.Replicating,)):
            self._cycle_failed(self._cycle)
            return
        cuts = self._take_cut(self.primary.disks)
        try:
            if not all(cut.incremental for cut in cuts):
                self._resync_required()
                return
            sent = sum(
                ship_changes(cut, disk) for cut, disk in zip(cuts, self.replica.disks, strict=True)
            )
        finally:
            for cut in cuts:
                cut.release()
        self._cycle_succeeded(sent)

    def _cycle_failed(self, retry: Callable[[], None]) -> None:
        now = self.lab.clock.now()
        self.failures += 1
        self.errors += 1
        self.outcomes.append((now, False))
        self._schedule(retry_delay(self.failures), retry)

    def _cycle_succeeded(self, sent: int) -> None:
        now = self.lab.clock.now()
        self.failures = 0
        self.outcomes = [(at, ok) for at, ok in self.outcomes if at > now - 2 * HOUR]
        self.outcomes.append((now, True))
        self.sizes.append(sent)
        self.last_replication_time = now
        self._record_recovery_point(now)
        self._schedule(float(self.settings.frequency_sec), self._cycle)

    def _resync_required(self) -> None:
        if self.settings.auto_resynchronize:
            self._start_resync()
        else:
            self.primary_state = ReplicationState.WaitingForStartResynchronize

    # -- resynchronization -------------------------------------------------------------

    def _start_resync(self) -> None:
        self.primary_state = self.replica_state = ReplicationState.Resynchronizing
        capacity = sum(disk.capacity for disk in self.primary.disks)
        self._schedule(self._transfer_seconds(capacity), self._finish_resync)

    def _finish_resync(self) -> None:
        if self.primary_state is not ReplicationState.Resynchronizing:
            return
        if not self._replica_reachable(_ACCEPTING_INITIAL):
            self._cycle_failed(self._finish_resync)
            return
        cuts = self._take_cut(self.primary.disks)
        try:
            sent = sum(
                synchronize(cut, disk) for cut, disk in zip(cuts, self.replica.disks, strict=True)
            )
        finally:
            for cut in cuts:
                cut.release()
        self._now_replicating()
        self._cycle_succeeded(sent)

    # -- recovery points ---------------------------------------------------------------

    def _record_recovery_point(self, now: float) -> None:
        app = self._app_consistent_due(now)
        if app:
            self.last_app_consistent = now
        history = self.settings.recovery_history
        if history == 0:
            return
        if self.recovery_points and now - self.recovery_points[-1].created < HOUR:
            return
        kind = SnapshotType.AppConsistentReplica if app else SnapshotType.Replica
        label = "Application-consistent" if app else "Standard"
        moment = datetime.fromtimestamp(now, tz=UTC)
        name = f"{self.replica.name} - {label} Replica - ({_point_label(moment)})"
        snapshots = tuple(self._take_cut(self.replica.disks))
        point = RecoveryPoint(name, self.replica.host.new_guid(), now, kind, snapshots)
        self.recovery_points.append(point)
        while len(self.recovery_points) > history:
            self.recovery_points.pop(0).release()

    def _app_consistent_due(self, now: float) -> bool:
        hours = self.settings.vss_frequency_hours
        if hours == 0 or self.primary.host.faults.vss_failure:
            return False
        return self.last_app_consistent is None or now - self.last_app_consistent >= hours * HOUR

    def _drop_recovery_points(self) -> None:
        for point in self.recovery_points:
            point.release()
        self.recovery_points = []

    # -- suspend and resume ------------------------------------------------------------

    def suspend(self, vm: VirtualMachine) -> None:
        """Suspend-VMReplication on either side."""
        state = self.state_of(vm)
        if state is ReplicationState.Replicating:
            self._set_state(vm, ReplicationState.Suspended)
        elif state is ReplicationState.Resynchronizing:
            self._set_state(vm, ReplicationState.ResynchronizeSuspended)
        else:
            raise invalid_state(vm.name, "suspend replication", vm.vm_id, self._name(vm))
        if self.is_primary(vm):
            self._cancel_timer()

    def resume(self, vm: VirtualMachine, *, resynchronize: bool) -> None:
        """Resume-VMReplication [-Resynchronize]."""
        if resynchronize:
            self._resume_with_resync(vm)
            return
        state = self.state_of(vm)
        if state is ReplicationState.Suspended:
            self._set_state(vm, ReplicationState.Replicating)
            if self.is_primary(vm):
                self._schedule(0.0, self._cycle)
        elif state is ReplicationState.ResynchronizeSuspended:
            self._set_state(vm, ReplicationState.Resynchronizing)
            if self.is_primary(vm):
                self._start_resync()
        elif state is ReplicationState.WaitingForStartResynchronize:
            raise operation_failed(
                vm.name,
                "resume replication",
                "Resynchronization is required. Use Resume-VMReplication -Resynchronize.",
                vm.vm_id,
            )
        else:
            raise invalid_state(vm.name, "resume replication", vm.vm_id, self._name(vm))

    def _resume_with_resync(self, vm: VirtualMachine) -> None:
        self._require_primary(vm, "resynchronize")
        allowed = (
            ReplicationState.Replicating,
            ReplicationState.Suspended,
            ReplicationState.Error,
            ReplicationState.WaitingForStartResynchronize,
            ReplicationState.ResynchronizeSuspended,
        )
        if self.primary_state not in allowed:
            raise invalid_state(vm.name, "resynchronize", vm.vm_id, self._name(vm))
        self._start_resync()

    # -- failover ----------------------------------------------------------------------

    def check_can_start(self, vm: VirtualMachine) -> None:
        """Replica VMs start only once failed over; a prepared primary is locked."""
        failed_over = (
            ReplicationState.FailedOverWaitingCompletion,
            ReplicationState.FailedOver,
        )
        if not self.is_primary(vm) and self.replica_state not in failed_over:
            raise operation_failed(
                vm.name,
                "start",
                "A Replica virtual machine cannot be started before it is failed over.",
                vm.vm_id,
            )
        if self.is_primary(vm) and self.primary_state is ReplicationState.PreparedForFailover:
            raise operation_failed(
                vm.name,
                "start",
                "The virtual machine is prepared for planned failover and cannot be started.",
                vm.vm_id,
            )

    def prepare_failover(self, vm: VirtualMachine) -> None:
        """Start-VMFailover -Prepare on an off primary: ship the last changes, lock the VM."""
        if not self.is_primary(vm):
            raise operation_failed(
                vm.name,
                "prepare for failover",
                "A planned failover is prepared on the primary virtual machine, not on the "
                "Replica.",
                vm.vm_id,
            )
        if vm.state is not VMState.Off:
            raise operation_failed(
                vm.name,
                "prepare for failover",
                "The virtual machine must be turned off before it can be prepared for planned "
                "failover.",
                vm.vm_id,
            )
        if self.primary_state is not ReplicationState.Replicating:
            raise invalid_state(vm.name, "prepare for failover", vm.vm_id, self._name(vm))
        self._send_final_changes(vm)
        self._cancel_timer()
        self.primary_state = self.replica_state = ReplicationState.PreparedForFailover

    def _send_final_changes(self, vm: VirtualMachine) -> None:
        if not self._replica_reachable((ReplicationState.Replicating,)):
            raise connection_failed(self.settings.replica_server)
        cuts = self._take_cut(vm.disks)
        try:
            if not all(cut.incremental for cut in cuts):
                self._resync_required()
                raise operation_failed(
                    vm.name,
                    "prepare for failover",
                    "Resynchronization is required before a planned failover.",
                    vm.vm_id,
                )
            sent = sum(
                ship_changes(cut, disk) for cut, disk in zip(cuts, self.replica.disks, strict=True)
            )
        finally:
            for cut in cuts:
                cut.release()
        self._cycle_succeeded(sent)

    def failover(self, vm: VirtualMachine) -> None:
        """Start-VMFailover on the replica: planned after a prepare, else to the latest point."""
        self._require_replica(vm, "fail over")
        if self.test_vm is not None:
            raise operation_failed(
                vm.name,
                "fail over",
                "A test failover is in progress; stop it with Stop-VMFailover first.",
                vm.vm_id,
            )
        allowed = (
            ReplicationState.Replicating,
            ReplicationState.PreparedForFailover,
            ReplicationState.Suspended,
            ReplicationState.Error,
            ReplicationState.WaitingForStartResynchronize,
        )
        if self.replica_state not in allowed:
            raise invalid_state(vm.name, "fail over", vm.vm_id, self._name(vm))
        self._require_recovery_point(vm, "fail over")
        planned = self.replica_state is ReplicationState.PreparedForFailover
        for disk in vm.disks:
            disk.enable_tracking()
        base = self._take_cut(vm.disks)
        self._failover = _Failover(planned, self.replica_state, base)
        self.replica_state = ReplicationState.FailedOverWaitingCompletion

    def _require_recovery_point(self, vm: VirtualMachine, action: str) -> None:
        if self.last_replication_time is None:
            raise operation_failed(
                vm.name,
                action,
                "The Replica virtual machine has no recovery point: initial replication has "
                "not completed.",
                vm.vm_id,
            )

    def test_failover(self, vm: VirtualMachine) -> VirtualMachine:
        """Start-VMFailover -AsTest: a test VM copied from the latest recovery point."""
        self._require_replica(vm, "start test failover")
        if self.test_vm is not None:
            raise operation_failed(
                vm.name,
                "start test failover",
                "A test failover is already in progress for this virtual machine.",
                vm.vm_id,
            )
        allowed = (
            ReplicationState.Replicating,
            ReplicationState.PreparedForFailover,
            ReplicationState.Suspended,
        )
        if self.replica_state not in allowed:
            raise invalid_state(vm.name, "start test failover", vm.vm_id, self._name(vm))
        self._require_recovery_point(vm, "start test failover")
        self.test_vm = _create_test_vm(vm, self)
        return self.test_vm

    def stop_failover(self, vm: VirtualMachine) -> None:
        """Stop-VMFailover: remove the test VM, or undo a failover not yet completed."""
        self._require_replica(vm, "stop failover")
        if self.test_vm is not None:
            vm.host.discard_vm(self.test_vm)
            self.test_vm = None
            return
        failover = self._failover
        waiting = self.replica_state is ReplicationState.FailedOverWaitingCompletion
        if not waiting or failover is None:
            raise invalid_state(vm.name, "stop failover", vm.vm_id, self._name(vm))
        if vm.state is not VMState.Off:
            raise operation_failed(
                vm.name,
                "stop failover",
                "The virtual machine must be turned off before the failover can be cancelled.",
                vm.vm_id,
            )
        for cut, disk in zip(failover.base, vm.disks, strict=True):
            synchronize(cut, disk)
        failover.release()
        for disk in vm.disks:
            disk.disable_tracking()
        self.replica_state = failover.previous_state
        self._failover = None

    def complete_failover(self, vm: VirtualMachine) -> None:
        """Complete-VMFailover: the failover is final; other recovery points are deleted."""
        self._require_replica(vm, "complete failover")
        if self.replica_state is not ReplicationState.FailedOverWaitingCompletion:
            raise invalid_state(vm.name, "complete failover", vm.vm_id, self._name(vm))
        self.replica_state = ReplicationState.FailedOver
        self._drop_recovery_points()
        if self._failover is not None:
            self._failover.release()

    def reverse(self, vm: VirtualMachine, replica_server: str | None) -> None:
        """Set-VMReplication -Reverse on the failed-over replica: swap the roles."""
        self._require_replica(vm, "reverse replication")
        failed_over = (
            ReplicationState.FailedOverWaitingCompletion,
            ReplicationState.FailedOver,
        )
        if self.replica_state not in failed_over or self._failover is None:
            raise invalid_state(vm.name, "reverse replication", vm.vm_id, self._name(vm))
        old_primary = self.primary
        server = replica_server or old_primary.host.name
        settings = replace(self.settings, replica_server=server)
        self._check_reverse_target(vm, old_primary, settings)
        planned = self._failover.planned
        self._cancel_timer()
        self._failover.release()
        self._drop_recovery_points()
        for disk in old_primary.disks:
            disk.disable_tracking()
        self._swap_roles(vm, old_primary, settings)
        if planned:
            self._now_replicating()
            self._cycle_succeeded(0)
        else:
            self.primary_state = ReplicationState.ReadyForInitialReplication
            self.replica_state = ReplicationState.WaitingForInitialReplication

    def _check_reverse_target(
        self, vm: VirtualMachine, old_primary: VirtualMachine, settings: ReplicationSettings
    ) -> None:
        target = self.lab.find_host(settings.replica_server)
        if target is not old_primary.host:
            raise operation_failed(
                vm.name,
                "reverse replication",
                f"Replication can only be reversed to the original primary server "
                f"'{old_primary.host.name}'.",
                vm.vm_id,
            )
        _reachable_server(vm.host, settings, vm)
        if old_primary not in target.vms:
            raise operation_failed(
                vm.name,
                "reverse replication",
                f"The primary virtual machine was not found on '{target.name}'.",
                vm.vm_id,
            )
        if old_primary.state is not VMState.Off:
            raise operation_failed(
                vm.name,
                "reverse replication",
                "The virtual machine on the primary server must be turned off before "
                "replication can be reversed.",
                vm.vm_id,
            )

    def _swap_roles(
        self,
        new_primary: VirtualMachine,
        new_replica: VirtualMachine,
        settings: ReplicationSettings,
    ) -> None:
        self.primary, self.replica = new_primary, new_replica
        self.settings = settings
        self._failover = None
        self.failures = 0
        self.outcomes = []
        self.enabled_at = self.lab.clock.now()
        self.last_replication_time = None

    # -- settings and removal ----------------------------------------------------------

    def update_settings(self, vm: VirtualMachine, **changes: object) -> None:
        """Set-VMReplication without -Reverse: change the primary's options."""
        self._require_primary(vm, "change replication settings")
        self.settings = replace(self.settings, **changes)  # type: ignore[arg-type]

    def remove(self, vm: VirtualMachine) -> None:
        """Remove-VMReplication on one side; the other side keeps its half."""
        if self.is_primary(vm):
            self._cancel_timer()
            self._release_pending()
            for disk in vm.disks:
                disk.disable_tracking()
        else:
            self._drop_recovery_points()
            if self._failover is not None:
                self._failover.release()
            for disk in vm.disks:
                disk.disable_tracking()
        vm.replication = None

    def forget(self, vm: VirtualMachine) -> None:
        """The VM vanished from its host: drop its side of the relationship."""
        self.remove(vm)

    # -- helpers -----------------------------------------------------------------------

    def _name(self, vm: VirtualMachine) -> str:
        return self.state_of(vm).name

    def _require_primary(self, vm: VirtualMachine, action: str) -> None:
        if not self.is_primary(vm):
            raise operation_failed(
                vm.name,
                action,
                "The operation is only valid on the primary virtual machine.",
                vm.vm_id,
            )

    def _require_replica(self, vm: VirtualMachine, action: str) -> None:
        if self.is_primary(vm):
            raise operation_failed(
                vm.name,
                action,
                "The operation is only valid on the Replica virtual machine.",
                vm.vm_id,
            )


def _reachable_server(
    host: HyperVHost, settings: ReplicationSettings, vm: VirtualMachine
) -> HyperVHost:
    """The Replica server named in ``settings``, admitted by its own rules."""
    server = host.lab.find_host(settings.replica_server)
    if server is None or not host.lab.link_up(host.name, server.name):
        raise connection_failed(settings.replica_server)
    if server is host:
        raise operation_failed(
            vm.name,
            "enable replication",
            "The Replica server must be different from the primary server.",
            vm.vm_id,
        )
    server.replication_server.admit(
        server=settings.replica_server,
        vm_name=vm.name,
        vm_id=vm.vm_id,
        authentication=settings.authentication,
        port=settings.replica_port,
    )
    return server


def _create_replica_vm(vm: VirtualMachine, server: HyperVHost) -> VirtualMachine:
    if server.vm_by_id(vm.vm_id) is not None:
        raise operation_failed(
            vm.name,
            "enable replication",
            f"A virtual machine with the same ID already exists on '{server.name}'.",
            vm.vm_id,
        )
    folder = (
        f"{server.replication_server.storage_location}\\Hyper-V Replica\\Virtual hard disks\\"
        f"{vm.vm_id.upper()}"
    )
    switches = {switch.name for switch in server.switches}
    return server.create_vm(
        vm.name,
        disks=[disk.capacity for disk in vm.disks],
        adapters=[a.switch_name if a.switch_name in switches else None for a in vm.adapters],
        generation=vm.generation,
        memory=vm.memory_startup,
        processors=vm.processor_count,
        block_size=vm.disks[0].block_size if vm.disks else 4096,
        vm_id=vm.id,
        folder=folder,
    )


def _create_test_vm(vm: VirtualMachine, link: ReplicationLink) -> VirtualMachine:
    host = vm.host
    folder = (
        f"{host.replication_server.storage_location}\\Hyper-V Replica\\Virtual hard disks\\"
        f"{vm.vm_id.upper()}\\Test"
    )
    test = host.create_vm(
        f"{vm.name} - Test",
        disks=[disk.capacity for disk in vm.disks],
        adapters=[None for _ in vm.adapters],
        generation=vm.generation,
        memory=vm.memory_startup,
        processors=vm.processor_count,
        block_size=vm.disks[0].block_size if vm.disks else 4096,
        folder=folder,
    )
    for source, target in zip(vm.disks, test.disks, strict=True):
        for offset, length in source.allocated_extents():
            target.write(offset, source.read(offset, length))
    test.test_of = link
    return test
