"""Failback to an alternate location: a new machine on a source fabric takes the replica's data.

Where the original machine is gone, or must stay as it is, failback creates
a new, stopped machine on a host the operator names, with the replica's
disk capacities and the original's networks. Its disks are empty, so the
digest comparison sends only the replica's non-zero blocks. The new machine
starts, the replica is removed, and the item protects the new machine
toward the same target. The new disks are new to the target: the next
cycle copies them whole, and the points of the replica's disks are dropped
from the vault (they describe disks the item no longer has). The original
machine is not touched.

The new machine may be on another registered fabric (``alternate_fabric``)
of a kind the item's kind fails back to: a physical server, which nothing
is ever written back to, fails back to a new VMware VM. Each NIC then goes
on the network of the same name there. Since nothing goes back to the
original, the failback may start from a committed failover as well as from
a re-protected replica. Everything (the kinds, the networks, the
destination's setup) is checked before anything changes.

If a step fails before the new machine starts, the replica is started again,
the item returns to where it was (protected in reverse, or committed), and
a machine already created is left on the fabric, named in the job's output.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from provider.contracts.connection import FabricConnection
from provider.contracts.failover import AlternateMachine
from provider.contracts.transfer import DiskRef
from provider.engine.context import EngineContext
from provider.errors import FailoverError, NotFound, ValidationError
from provider.failover.failback import remove_replica, restart_replica
from provider.failover.itemstate import check_move, move_item
from provider.failover.options import FailoverOptions
from provider.failover.reverse import replica_endpoint
from provider.failover.rules import require_failback_to
from provider.failover.subject import Reporter, Subject, load_subject
from provider.failover.sync import Endpoint, SyncReport, sync_differences
from provider.model.inventory import Fabric, Machine
from provider.model.item import Direction
from provider.model.states import ReplicationState
from provider.store.items import DiskMarker
from provider.store.unit import Unit

_R = ReplicationState


@dataclass(frozen=True)
class Destination:
    """The fabric the new machine is created on, and the networks its NICs go on there."""

    fabric_id: str
    name: str
    connection: FabricConnection
    networks: tuple[str, ...]


@dataclass(frozen=True)
class AlternatePlan:
    """A checked alternate failback: the item, where it goes, and the state it runs in.

    ``running`` is the item's state while the data flows (``failback`` from a
    re-protected replica, ``reverse_replication`` from a committed failover);
    ``before`` the state a failed attempt returns it to.
    """

    subject: Subject
    destination: Destination
    before: ReplicationState
    running: ReplicationState


@dataclass(frozen=True)
class _Filled:
    """The new machine, running with the replica's data, and what its sync sent."""

    machine: Machine
    report: SyncReport


def check_alternate_failback(
    ctx: EngineContext, item_id: str, options: FailoverOptions
) -> AlternatePlan:
    """Refuse, before anything changes, an alternate failback that cannot be done."""
    subject = load_subject(ctx, item_id)
    before, running = _states(subject)
    check_move(subject.item, running)
    with ctx.store.read() as tx:
        fabric = _fabric(tx, options.alternate_fabric or subject.item.fabric_id)
    require_failback_to(subject, fabric.kind)
    destination = Destination(
        fabric.fabric_id,
        fabric.name,
        ctx.fabric_connection(fabric.fabric_id),
        _networks(ctx, subject, fabric),
    )
    ctx.plugins.check_failback(destination.connection, subject.machine)
    return AlternatePlan(subject, destination, before, running)


def _states(subject: Subject) -> tuple[ReplicationState, ReplicationState]:
    item = subject.item
    if item.direction is Direction.REVERSE:
        return _R.PROTECTED, _R.FAILBACK
    if item.state is _R.COMMITTED:
        return _R.COMMITTED, _R.REVERSE_REPLICATION
    raise FailoverError(
        f"failback of {subject.name} to a new machine needs a committed failover or a "
        f"re-protected replica: it is {item.state.value} in the forward direction",
        hint="fail over and commit first",
    )


def _fabric(tx: Unit, reference: str) -> Fabric:
    found = tx.fabrics.find_by_name(reference)
    if found is not None:
        return found
    try:
        return tx.fabrics.get(reference)
    except NotFound as exc:
        raise NotFound(
            f"no fabric {reference!r} is registered (neither an id nor a name)",
            hint="see the registered fabrics with `srp fabric list`",
        ) from exc


def _networks(ctx: EngineContext, subject: Subject, fabric: Fabric) -> tuple[str, ...]:
    """The new machine's networks: the original's, or on another fabric their namesakes."""
    original = tuple(nic.network_id for nic in subject.machine.nics)
    if fabric.fabric_id == subject.item.fabric_id:
        return original
    with ctx.store.read() as tx:
        names = {
            n.network_id: n.name for n in tx.fabrics.inventory(subject.item.fabric_id).networks
        }
        there = {n.name: n.network_id for n in tx.fabrics.inventory(fabric.fabric_id).networks}
    wanted = [names.get(network, network) for network in original]
    missing = sorted({name for name in wanted if name not in there})
    if missing:
        raise ValidationError(
            f"failback of {subject.name} to fabric {fabric.name}: no network named "
            f"{', '.join(missing)} there (networks: {', '.join(sorted(there)) or 'none'})",
            hint="the new machine's NICs go on the networks of the same names as the original's",
        )
    return tuple(there[name] for name in wanted)


def alternate_spec(
    subject: Subject, replica: Machine, options: FailoverOptions, networks: tuple[str, ...]
) -> AlternateMachine:
    """The machine to create: the replica's disks, the original's networks and size."""
    original = subject.machine
    return AlternateMachine(
        name=options.alternate_name or subject.item.machine_name,
        host=options.alternate_host,
        disk_capacities=tuple(disk.capacity for disk in replica.disks),
        networks=networks,
        cpu_count=original.cpu_count,
        memory_mib=original.memory_mib,
        os_type=original.os_type,
    )


def run_alternate_failback(
    ctx: EngineContext, item_id: str, options: FailoverOptions, reporter: Reporter
) -> SyncReport:
    """Stop the replica, create the new machine, fill it, start it, remove the replica."""
    plan = check_alternate_failback(ctx, item_id, options)
    move_item(ctx, item_id, plan.running)
    replica = replica_endpoint(ctx, plan.subject)
    try:
        filled = _create_and_fill(ctx, plan, replica, options, reporter)
    except BaseException:
        restart_replica(ctx, plan.subject, replica, reporter, plan.before)
        raise
    remove_replica(ctx, plan.subject, reporter)
    _protect_new_machine(ctx, plan, filled.machine, reporter)
    return filled.report


def _create_and_fill(
    ctx: EngineContext,
    plan: AlternatePlan,
    replica: Endpoint,
    options: FailoverOptions,
    reporter: Reporter,
) -> _Filled:
    stopped = ctx.plugins.prepare_failover(replica.connection, replica.machine)
    reporter.log(f"replica {replica.machine.name} is {stopped.power_state}")
    spec = alternate_spec(plan.subject, replica.machine, options, plan.destination.networks)
    machine = ctx.plugins.create_machine(plan.destination.connection, spec)
    reporter.log(f"created {machine.name} ({machine.machine_id}) on {spec.host}")
    try:
        report = _fill(ctx, plan.destination.connection, replica, machine, reporter)
    except BaseException:
        reporter.log(f"left on the fabric (remove it by hand): {machine.name}")
        raise
    reporter.log(f"{machine.name} started on {spec.host}")
    return _Filled(machine, report)


def _fill(
    ctx: EngineContext,
    connection: FabricConnection,
    replica: Endpoint,
    machine: Machine,
    reporter: Reporter,
) -> SyncReport:
    disk_map = pair_disks(replica.machine, machine)
    # Tracking starts before the first write: the sync reads the new machine
    # through a cut, and forward replication will continue from its tracking.
    ctx.plugins.enable_tracking(connection, machine)
    destination = Endpoint(connection, machine)
    report = sync_differences(ctx, replica, destination, reporter, disk_map)
    ctx.plugins.resume_source(connection, machine)
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
    ctx: EngineContext, plan: AlternatePlan, machine: Machine, reporter: Reporter
) -> None:
    item, fabric_id = plan.subject.item, plan.destination.fabric_id
    held = markers_over_held_replicas(ctx, plan.subject, machine)
    with ctx.store.unit() as tx:
        inventory = tx.fabrics.inventory(fabric_id)
        others = tuple(m for m in inventory.machines if m.machine_id != machine.machine_id)
        discovered_at = tx.fabrics.discovered_at(fabric_id) or ctx.clock()
        updated = replace(inventory, machines=(*others, machine))
        tx.fabrics.save_inventory(fabric_id, updated, discovered_at)
        tx.items.clear_markers(item.item_id)
        for marker in held:
            tx.items.set_marker(marker)
        dropped = tx.points.remove(p.point_id for p in tx.points.for_item(item.item_id))
    move_item(
        ctx,
        item.item_id,
        _R.PROTECTED,
        direction=Direction.FORWARD,
        fabric_id=fabric_id,
        machine_id=machine.machine_id,
        machine_name=machine.name,
        replica_id="",
        failover_point_id="",
        failover_mode="",
    )
    moved = "" if fabric_id == item.fabric_id else f" on fabric {plan.destination.name}"
    reporter.log(
        f"{item.item_id} now protects {machine.name} ({machine.machine_id}){moved}; dropped "
        f"{dropped} points of the replica's disks; the next cycle copies the new disks"
    )


def markers_over_held_replicas(
    ctx: EngineContext, subject: Subject, machine: Machine
) -> list[DiskMarker]:
    """Markers for the new disks whose ids the target already holds a replica under.

    Disk ids are the fabric's (a vCenter numbers every VM's disks 2000,
    2001...), so a new disk may share its id with a disk the item replicated
    before. A full copy over that replica would leave its stale blocks
    behind; a marker at the target's applied sequence, with no cut, makes the
    next cycle compare digests with it instead (see
    :func:`provider.engine.shipping.needs_resync`). Other new disks get no
    marker: their first cycle is a plain full copy.
    """
    markers = []
    for disk in machine.disks:
        ref = DiskRef(subject.item.item_id, disk.disk_id, disk.capacity)
        holdings = ctx.plugins.target_holdings(subject.target, ref)
        if holdings.applied_sequence > 0:
            markers.append(
                DiskMarker(
                    ref.item_id,
                    ref.disk_id,
                    "",
                    holdings.applied_sequence,
                    holdings.applied_digest.hex(),
                )
            )
    return markers
