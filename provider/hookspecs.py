# Specification bodies are their docstrings; pluggy never calls them.
# mypy: disable-error-code="empty-body"
"""Hook specifications: the whole contract between srp's core and its plugins.

Hooks come in families. *Declaration* hooks say which fabric and target
kinds a plugin serves. *Discovery*, *replica sync*, *HRL transfer* and
*failover* hooks are **dispatched by kind**: the core calls them only on the
one plugin that declared the fabric kind (or target kind) concerned, so a
plugin never checks "is this mine?". *Event* hooks are called on every
plugin. Only :mod:`provider.pluginmanager` calls these; no other module
touches ``pm.hook``.

Every value that crosses a hook is a frozen dataclass from
:mod:`provider.contracts` or :mod:`provider.model`. A hook that fails raises
an error from :mod:`provider.errors` (mapping backend errors with ``raise
... from``); anything else is wrapped by the manager in ``PluginHookError``
naming the plugin and the hook.

The reference in ``docs/plugin-hooks.md`` is checked against this module by
the test suite: add a hook here and the tests fail until it is documented.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pluggy

from provider.contracts.connection import FabricConnection, FabricIdentity, TargetConnection
from provider.contracts.declarations import FabricKind, TargetKind
from provider.contracts.events import (
    ActionOutcome,
    FailoverEvent,
    JobProgress,
    JobStateChange,
    PlanActionContext,
    PlanGroupEvent,
)
from provider.contracts.failover import (
    AlternateMachine,
    CleanupResult,
    FailoverRequest,
    FailoverResult,
    PreparedSource,
    ReverseSource,
)
from provider.contracts.native import (
    NativeFailover,
    NativeFailoverResult,
    NativeGroupState,
    NativePoint,
    NativeProtection,
)
from provider.contracts.replica import BlockDigest, Cut, CutRequest, ExtentData, TrackingInfo
from provider.contracts.transfer import (
    AppliedHrl,
    DiskRef,
    Holdings,
    PointQuery,
    RetentionResult,
    TargetInfo,
)
from provider.model.inventory import Inventory, Machine, Network
from provider.model.policy import ReplicationPolicy

PROJECT = "srp"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# --------------------------------------------------------------------------
# Declaration: called on every plugin once, when the manager loads plugins.


@hookspec
def srp_fabric_kinds() -> Sequence[FabricKind]:
    """Declare the fabric kinds this plugin serves.

    Called by the plugin manager on every plugin right after loading, to
    build the kind -> plugin dispatch table. Return an empty sequence if the
    plugin serves no fabric. Two plugins declaring one kind are refused.

    :returns: the fabric kinds, each with its connection parameters and capabilities.
    """


@hookspec
def srp_target_kinds() -> Sequence[TargetKind]:
    """Declare the replication target kinds this plugin serves.

    Called by the plugin manager on every plugin right after loading.

    :returns: the target kinds (cloud storage and compute, secondary site...).
    """


# --------------------------------------------------------------------------
# Discovery: dispatched by fabric kind.


@hookspec(firstresult=True)
def srp_connect(connection: FabricConnection) -> FabricIdentity:
    """Connect to a fabric and say what it is.

    Called by registration and refresh before discovery. Raise
    ``AuthenticationFailed`` for refused credentials (never retried),
    ``FabricUnreachable`` for network failures and ``WrongFabricKind`` when
    the endpoint is not a fabric of this kind.

    :param connection: address, user, secret and options of the fabric.
    :returns: the fabric's identity. First result wins (one plugin per kind).
    """


@hookspec(firstresult=True)
def srp_discover(connection: FabricConnection) -> Inventory:
    """List the fabric's hosts, protection containers, machines and networks.

    Called by registration and ``srp refresh``. Must use a bounded number of
    round trips, not one per machine.

    :returns: the inventory. First result wins (one plugin per kind).
    """


@hookspec
def srp_disconnect(connection: FabricConnection) -> None:
    """Drop any session or cached client held for this fabric.

    Called when a fabric is unregistered and when the service shuts down.
    """


# --------------------------------------------------------------------------
# Replica sync: dispatched by fabric kind (the source side).


@hookspec(firstresult=True)
def srp_enable_tracking(connection: FabricConnection, machine: Machine) -> TrackingInfo:
    """Enable change tracking on every disk of a machine being protected.

    Called by the engine when protection starts and after a tracking loss.
    Idempotent: enabling twice returns the current base.

    :returns: the base cut the first (full) replication starts from.
    """


@hookspec
def srp_disable_tracking(connection: FabricConnection, machine: Machine) -> None:
    """Disable change tracking on a machine whose protection is removed.

    Called by the engine when protection is disabled. Must not fail when
    tracking is already off or the machine is gone.
    """


@hookspec(firstresult=True)
def srp_capture_cut(connection: FabricConnection, request: CutRequest) -> Cut:
    """Take one consistent cut across all disks of the requested machines.

    Called by the engine once per replication cycle (per machine, or per
    replication group). For each disk, report the extents changed since the
    disk's previous cut (``request.previous``), every allocated extent when it
    has none (initial copy), or ``ChangeMode.RESYNC`` with the reason when
    tracking was lost or overflowed. The cut stays readable until released.
    When ``request.consistency`` is APP and quiescing fails, return a CRASH
    cut and say why in ``Cut.note``.

    :returns: the cut. First result wins (one plugin per kind).
    """


@hookspec(firstresult=True)
def srp_read_extents(
    connection: FabricConnection,
    cut: Cut,
    machine_id: str,
    disk_id: str,
    extents: Sequence[tuple[int, int]],
) -> Iterator[ExtentData]:
    """Read extents of one disk as it was at the cut.

    Called by the replication pipeline while it writes the cycle's HRL. The
    iterator must stream (bounded memory) and yield the extents in order.

    :returns: an iterator of extent data. First result wins.
    """


@hookspec(firstresult=True)
def srp_block_digests(
    connection: FabricConnection, cut: Cut, machine_id: str, disk_id: str, block_size: int
) -> Iterator[BlockDigest]:
    """SHA-256 of every ``block_size`` block of one disk at the cut.

    Called by resynchronization to compare the source with the replica and
    ship only the blocks that differ.

    :returns: an iterator over every block in offset order. First result wins.
    """


@hookspec
def srp_release_cut(connection: FabricConnection, cut: Cut, confirmed: bool) -> None:
    """Release a cut (delete its snapshot).

    Called by the engine with ``confirmed=True`` once every disk of the cut
    is safely in the process server's cache: the cut's changes are now the
    base of the next one. Called with ``confirmed=False`` when a cycle is
    abandoned: the next cut from the last confirmed one must still include
    this cut's changes, so nothing is lost.
    """


# --------------------------------------------------------------------------
# HRL transfer: dispatched by target kind.


@hookspec(firstresult=True)
def srp_open_target(target: TargetConnection) -> TargetInfo:
    """Open a replication target and report its free space.

    Called when a target is added and at the start of every cycle. Raise
    ``TargetUnavailable`` when it cannot be reached.

    :returns: the target's description. First result wins.
    """


@hookspec(firstresult=True)
def srp_target_holdings(target: TargetConnection, disk: DiskRef) -> Holdings:
    """Report what the target holds for one disk: applied and stored sequences.

    Called by the pipeline before each transfer, so a resumed transfer sends
    nothing twice and skips nothing.

    :returns: the holdings (sequence 0 and a zero digest for a new disk). First result wins.
    """


@hookspec
def srp_store_hrl(target: TargetConnection, disk: DiskRef, sequence: int, path: Path) -> None:
    """Store one HRL file on the target, without applying it.

    Called by the pipeline (or its cache forwarder). Storing a sequence
    already held is a no-op. Raise ``TargetFull`` when out of space and
    ``TargetUnavailable`` when unreachable; nothing partial may remain.
    """


@hookspec(firstresult=True)
def srp_apply_hrl(
    target: TargetConnection, disk: DiskRef, sequence: int, key: bytes | None
) -> AppliedHrl:
    """Verify and apply one stored HRL to the disk's replica image.

    Called by the pipeline after ``srp_store_hrl``. Applying is idempotent
    and crash safe: the replica is at the previous point or the new one,
    never between. A corrupt, foreign or out-of-chain HRL is refused with
    its ``HrlError`` and leaves the replica untouched.

    :param key: the vault's data key when the policy encrypts, else None.
    :returns: the applied sequence and the HRL's digest. First result wins.
    """


@hookspec(firstresult=True)
def srp_replica_digests(
    target: TargetConnection, disk: DiskRef, block_size: int
) -> Iterator[BlockDigest]:
    """SHA-256 of every block of the replica image at its latest applied sequence.

    Called by resynchronization, paired with ``srp_block_digests``.

    :returns: an iterator over every block in offset order. First result wins.
    """


@hookspec(firstresult=True)
def srp_point_digest(target: TargetConnection, query: PointQuery) -> str:
    """Hex SHA-256 of one disk as materialised at a retained recovery point.

    Called after each cycle to prove the replica equals the source at the
    cut, and by drills and failovers to report the data they used.

    :returns: the hex digest. First result wins.
    """


@hookspec(firstresult=True)
def srp_apply_retention(
    target: TargetConnection, disk: DiskRef, oldest_kept_sequence: int
) -> RetentionResult:
    """Forget what is only needed for points older than ``oldest_kept_sequence``.

    Called by the retention sweep. Points in use by a test failover are kept.

    :returns: what was pruned. First result wins.
    """


# --------------------------------------------------------------------------
# Failover: source side dispatched by fabric kind, target side by target kind.


@hookspec(firstresult=True)
def srp_prepare_failover(connection: FabricConnection, machine: Machine) -> PreparedSource:
    """Shut the source machine down cleanly before a planned failover.

    Called by planned failover and failback before the final cut, so that
    nothing written afterwards can be lost.

    :returns: the source's state once stopped. First result wins.
    """


@hookspec
def srp_resume_source(connection: FabricConnection, machine: Machine) -> None:
    """Start the source machine again after a cancelled planned failover.

    Also called by failback once the data is back on the machine.
    """


@hookspec
def srp_write_extents(
    connection: FabricConnection, machine: Machine, disk_id: str, extents: Sequence[ExtentData]
) -> None:
    """Write extents to one disk of a source machine (reverse replication, failback).

    Called with the blocks that differ between the failed-over replica and
    the machine, in offset order, in bounded batches. The writes are tracked
    like any guest write, so forward replication later ships them. Raise
    ``MachineNotFound`` when the machine is gone.
    """


@hookspec(firstresult=True)
def srp_create_machine(connection: FabricConnection, spec: AlternateMachine) -> Machine:
    """Create a new, stopped machine with empty disks (failback to an alternate location).

    Called by failback when the operator names an alternate host: the
    replica's data is then written to the new machine with
    ``srp_write_extents`` and it is started with ``srp_resume_source``.
    The new machine has one disk per ``spec.disk_capacities`` entry, of
    exactly that capacity and in that order, and one NIC per
    ``spec.networks`` entry on that network. Raise ``AlreadyExists`` when a
    machine of that name is already there and ``NotFound`` for an unknown
    host or network.

    :returns: the machine as discovery would report it. First result wins.
    """


@hookspec
def srp_check_failback(connection: FabricConnection, machine: Machine) -> None:
    """Refuse a failback onto this fabric that its setup cannot carry, before anything changes.

    Called when a failback is checked (to the original ``machine`` or to a
    new machine for it on this fabric), before any machine is stopped or
    created, and again when its job starts; likewise for reverse
    replication, which writes back to the original machine the same way.
    Raise ``ConfigurationError`` naming each component the writes back need
    and the fabric lacks (for VMware: a master target, a process server on
    the cloud side). Change nothing. Optional: a kind that needs no setup to
    be written to leaves it out.
    """


@hookspec(firstresult=True)
def srp_target_networks(target: TargetConnection) -> Sequence[Network]:
    """List the target's networks, isolated test networks included.

    Called before a failover, so that network mappings are checked against
    what the target really has before anything is touched.

    :returns: the networks. First result wins (one plugin per kind).
    """


@hookspec(firstresult=True)
def srp_failover(target: TargetConnection, request: FailoverRequest) -> FailoverResult:
    """Create and start the replica machine at a recovery point.

    Called by test, planned and unplanned failover and by failback. For TEST
    the replica runs on a copy-on-write view in the isolated test network
    while replication goes on; otherwise on the replica disks themselves,
    without copying them whole. NICs land on ``request.nics``.

    :returns: the replica machine. First result wins.
    """


@hookspec
def srp_commit_failover(target: TargetConnection, item_id: str, replica_id: str) -> None:
    """Make a failover final: the other recovery points are discarded.

    Called by ``srp failover commit``.
    """


@hookspec(firstresult=True)
def srp_cancel_failover(target: TargetConnection, item_id: str, replica_id: str) -> CleanupResult:
    """Remove a replica machine and its disk views; an unknown replica removes nothing.

    Called to undo a failover that was not committed (the item goes back to
    replicating), and by failback once the data is back on the source.

    :returns: what was removed and what could not be. First result wins.
    """


@hookspec(firstresult=True)
def srp_cleanup_test_failover(
    target: TargetConnection, item_id: str, replica_id: str
) -> CleanupResult:
    """Remove every artefact of a test failover; a second call is a no-op.

    :returns: what was removed, and what is left when something could not be. First result wins.
    """


@hookspec(firstresult=True)
def srp_reverse_replication(
    target: TargetConnection, item_id: str, replica_id: str
) -> ReverseSource:
    """Make the failed-over replica the new source (re-protect).

    Called after commit. The result tells the engine how to read the
    replica's disks so it can replicate them back, sending only differences.

    :returns: the new source. First result wins.
    """


# --------------------------------------------------------------------------
# Native replication: dispatched by target kind, for targets whose kind
# declares ``DataPath.NATIVE`` (they replicate by themselves: InMage Scout,
# Hyper-V Replica). srp ships no HRL to them; it drives them.


@hookspec(firstresult=True)
def srp_native_protect(target: TargetConnection, request: NativeProtection) -> NativeGroupState:
    """Start replicating a group of machines toward a natively replicating target.

    Called when machines are protected to a target of a native kind; also by
    failback, with the failed-over replicas as the machines and a target on
    the primary site. Protecting a machine the target already protects in
    this group is a no-op. Raise ``NotFound`` for a machine the target does
    not know and ``ReplicationError`` subclasses when it cannot replicate.

    :param request: the group, its machines, retention and target options.
    :returns: the group's state right after the request. First result wins.
    """


@hookspec(firstresult=True)
def srp_native_state(target: TargetConnection, group_id: str) -> NativeGroupState:
    """Report the replication state and health of every machine of a group.

    Called by status and health sweeps. A target that cannot replicate (full,
    or a component gone) says so in each machine's health and reason; it
    does not raise.

    :returns: the group's state. First result wins.
    """


@hookspec(firstresult=True)
def srp_native_points(target: TargetConnection, group_id: str) -> Sequence[NativePoint]:
    """List the recovery points the target holds for a group, oldest first.

    Called before a failover to offer the choices, and by status. A point
    held by every machine of the group is a multi-machine point.

    :returns: the points. First result wins.
    """


@hookspec(firstresult=True)
def srp_native_failover(target: TargetConnection, request: NativeFailover) -> NativeFailoverResult:
    """Fail machines of a group over to a recovery point on the target.

    Called by planned and unplanned failover and by failback; ``request.mode``
    says which. Every machine of the request lands on its point or none
    does: raise ``RecoveryPointUnavailable`` when a machine lacks the chosen
    point. Before any change, refuse what the recovery site cannot take
    (``FailoverError``: no capacity, a mapped network gone; ``MappingMissing``
    for a NIC whose network ``request.networks`` does not map, unless
    ``request.option("allow_unmapped")`` is ``yes``: that NIC stays unconnected).

    - ``UNPLANNED``: the source is not asked anything; afterwards the
      machines are no longer replicated (unprotected until reverse).
    - ``PLANNED``: the target shuts the sources down first and ships their
      last changes (nothing is lost), fails over, and replicates back: the
      group is protected in reverse afterwards.
    - ``FAILBACK``: the same as ``PLANNED`` for a group replicating in
      reverse: the running replicas are shut down, the original machines
      come back with every change, and forward replication resumes.

    :returns: each machine's point and the digest of every disk it got; for
        failback, ``replica_id`` is the machine running on the original
        site. First result wins.
    """


@hookspec(firstresult=True)
def srp_native_test_failover(
    target: TargetConnection, request: NativeFailover
) -> NativeFailoverResult:
    """Start test copies of machines of a group at a point, while replication goes on.

    Called by test failover of a native item (``request.mode`` is ``TEST``;
    ``request.option("network")`` names the isolated network the copies'
    NICs join). The copies are new machines: the group's replication, its
    points and the sources are untouched. Raise ``RecoveryPointUnavailable``
    when a machine lacks the chosen point, before creating anything.

    :returns: each copy's id, point and the digest of every disk it got. First result wins.
    """


@hookspec(firstresult=True)
def srp_native_cleanup_test(
    target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> CleanupResult:
    """Remove the test copies of machines of a group; a second call is a no-op.

    Called by test-failover cleanup. Replication is not affected.

    :returns: what was removed, and what is left when something could not be. First result wins.
    """


@hookspec(firstresult=True)
def srp_native_reverse(
    target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> NativeGroupState:
    """Replicate failed-over machines back toward their original site.

    Called by reverse replication after an unplanned failover was committed
    (the machines are unprotected until then). ``machine_ids`` are the
    original machines' ids as the group knows them. The target makes the
    running replicas the sources and the original machines (or their site)
    the replicas, sending only the blocks that differ where it can.
    Afterwards the group reports the machines in reverse; ``srp_native_
    failover`` with mode ``FAILBACK`` brings them home.

    :returns: the group's state right after the request. First result wins.
    """


@hookspec(firstresult=True)
def srp_native_resync(
    target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> NativeGroupState:
    """Resynchronize machines of a group (all of it when ``machine_ids`` is empty).

    Called when a machine's state says resynchronization is required, or on
    an operator's request. Recovery points already held stay usable.

    :returns: the group's state right after the request. First result wins.
    """


@hookspec
def srp_native_stop(target: TargetConnection, group_id: str) -> None:
    """Stop replicating a group; the target forgets its points.

    Called when protection is removed. Stopping an unknown group does nothing.
    """


# --------------------------------------------------------------------------
# Events: called on every plugin; results are ignored unless stated.


@hookspec
def srp_job_progress(event: JobProgress) -> None:
    """A job's task moved (progress or state). Called by the job runner."""


@hookspec
def srp_job_state_changed(event: JobStateChange) -> None:
    """A job changed state. Called by the job runner after the change is stored."""


@hookspec
def srp_before_failover(event: FailoverEvent) -> None:
    """One machine is about to fail over. Called by the failover family."""


@hookspec
def srp_after_failover(event: FailoverEvent) -> None:
    """One machine failed over, or failed to (``event.error``)."""


@hookspec
def srp_before_plan_group(event: PlanGroupEvent) -> None:
    """A recovery-plan group is about to fail over. Called by the plan runner."""


@hookspec
def srp_after_plan_group(event: PlanGroupEvent) -> None:
    """A recovery-plan group finished, or failed (``event.error``)."""


@hookspec
def srp_validate_policy(policy: ReplicationPolicy, fabric_kind: str) -> Sequence[str]:
    """Check a policy about to be used with a fabric kind.

    Called on every plugin when a policy is created or assigned. Results are
    collected from every plugin: each returns the problems it sees (empty
    when none), and any problem refuses the policy with a ``PolicyError``.

    :returns: human-readable problems.
    """


@hookspec(firstresult=True)
def srp_run_plan_action(context: PlanActionContext) -> ActionOutcome | None:
    """Run a recovery plan's ``hook`` action named ``context.action.name``.

    Called on every plugin by the plan runner; a plugin that does not know
    the action returns None. The first non-None outcome wins; when none
    answers the plan stops with an error naming the action.

    :returns: the outcome, or None.
    """
