"""Failback to an alternate location: a new machine on the item's fabric takes the replica's data.

Where the original machine is gone, or must stay as it is, failback creates
a new, stopped machine on a host the operator names, with the replica's
disk capacities and the original's networks. Its disks are empty, so the
digest comparison sends only the replica's non-zero blocks. The new machine
starts, the replica is removed, and the item protects the new machine
toward the same target. The new disks are new to the target: the next
cycle copies them whole, and the points of the replica's disks are dropped
from the vault (they describe disks the item no longer has). The original
machine is not touched.

If a step fails before the new machine starts, the replica is started again,
the item stays protected in reverse, and a machine already created is left
on the fabric, named in the job's output.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from provider.contracts.failover import AlternateMachine
from provider.engine.context import EngineContext
from provider.errors import FailoverError
from provider.failover.failback import check_failback, remove_replica, restart_replica
from provider.failover.itemstate import move_item
from provider.failover.options import FailoverOptions
from provider.failover.reverse import replica_endpoint
from provider.failover.subject import Reporter, Subject
from provider.failover.sync import Endpoint, SyncReport, sync_differences
from provider.model.inventory import Machine
from provider.model.item import Direction
from provider.model.states import ReplicationState

_R = ReplicationState


@dataclass(frozen=True)
class _Filled:
    """The new machine, running with the replica's data, and what its sync sent."""

    machine: Machine
    report: SyncReport


def alternate_spec(
    subject: Subject, replica: Machine, options: FailoverOptions
) -> AlternateMachine:
    """The machine to create: the replica's disks, the original's networks and size."""
    original = subject.machine
    return AlternateMachine(
        name=options.alternate_name or subject.item.machine_name,
        host=options.alternate_host,
        disk_capacities=tuple(disk.capacity for disk in replica.disks),
        networks=tuple(nic.network_id for nic in original.nics),
        cpu_count=original.cpu_count,
        memory_mib=original.memory_mib,
    )


def run_alternate_failback(
    ctx: EngineContext, item_id: str, options: FailoverOptions, reporter: Reporter
) -> SyncReport:
    """Stop the replica, create the new machine, fill it, start it, remove the replica."""
    subject = check_failback(ctx, item_id)
    move_item(ctx, item_id, _R.FAILBACK)
    replica = replica_endpoint(ctx, subject)
    try:
        filled = _create_and_fill(ctx, subject, replica, options, reporter)
    except BaseException:
        restart_replica(ctx, subject, replica, reporter)
        raise
    remove_replica(ctx, subject, reporter)
    _protect_new_machine(ctx, subject, filled.machine, reporter)
    return filled.report


def _create_and_fill(
    ctx: EngineContext,
    subject: Subject,
    replica: Endpoint,
    options: FailoverOptions,
    reporter: Reporter,
) -> _Filled:
    stopped = ctx.plugins.prepare_failover(replica.connection, replica.machine)
    reporter.log(f"replica {replica.machine.name} is {stopped.power_state}")
    spec = alternate_spec(subject, replica.machine, options)
    machine = ctx.plugins.create_machine(subject.source, spec)
    reporter.log(f"created {machine.name} ({machine.machine_id}) on {spec.host}")
    try:
        report = _fill(ctx, subject, replica, machine, reporter)
    except BaseException:
        reporter.log(f"left on the fabric (remove it by hand): {machine.name}")
        raise
    reporter.log(f"{machine.name} started on {spec.host}")
    return _Filled(machine, report)


def _fill(
    ctx: EngineContext, subject: Subject, replica: Endpoint, machine: Machine, reporter: Reporter
) -> SyncReport:
    disk_map = pair_disks(replica.machine, machine)
    # Tracking starts before the first write: the sync reads the new machine
    # through a cut, and forward replication will continue from its tracking.
    ctx.plugins.enable_tracking(subject.source, machine)
    destination = Endpoint(subject.source, machine)
    report = sync_differences(ctx, replica, destination, reporter, disk_map)
    ctx.plugins.resume_source(subject.source, machine)
    return report


def pair_disks(replica: Machine, created: Machine) -> dict[str, str]:
    """Each new disk's id -> the replica disk it receives (same order, same capacity)."""
    wanted = [disk.capacity for disk in replica.disks]
    got = [disk.capacity for disk in created.disks]
    if wanted != got:
        raise FailoverError(
            f"the fabric created {created.name} with disks of {got} bytes, not the "
            f"replica's {wanted}: the disks do not match"
        )
    return {new.disk_id: old.disk_id for new, old in zip(created.disks, replica.disks, strict=True)}


def _protect_new_machine(
    ctx: EngineContext, subject: Subject, machine: Machine, reporter: Reporter
) -> None:
    item = subject.item
    with ctx.store.unit() as tx:
        inventory = tx.fabrics.inventory(item.fabric_id)
        others = tuple(m for m in inventory.machines if m.machine_id != machine.machine_id)
        discovered_at = tx.fabrics.discovered_at(item.fabric_id) or ctx.clock()
        updated = replace(inventory, machines=(*others, machine))
        tx.fabrics.save_inventory(item.fabric_id, updated, discovered_at)
        tx.items.clear_markers(item.item_id)
        dropped = tx.points.remove(p.point_id for p in tx.points.for_item(item.item_id))
    move_item(
        ctx,
        item.item_id,
        _R.PROTECTED,
        direction=Direction.FORWARD,
        machine_id=machine.machine_id,
        machine_name=machine.name,
        replica_id="",
        failover_point_id="",
        failover_mode="",
    )
    reporter.log(
        f"{item.item_id} now protects {machine.name} ({machine.machine_id}); dropped "
        f"{dropped} points of the replica's disks; the next cycle copies the new disks"
    )
