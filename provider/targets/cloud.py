"""The ``cloud`` target plugin: HRL transfer into a directory-backed storage account.

Registered as ``cloud`` in the ``srp`` entry-point group, like any third
party plugin. The transfer hooks only translate between the hook contract
and :class:`~provider.targets.storage_account.StorageAccount`; the failover
hooks drive the target's compute service
(:mod:`provider.targets.compute`): a replica machine runs on copy-on-write
views of the replicated disks at the chosen point, never on copies.

After a failover is committed and re-protected, the replica machine is the
source of the reverse direction. The plugin serves it as the fabric kind
``cloud-replica`` (see :data:`REPLICA_KIND`), so the core reads it with the
ordinary replica sync hooks, exactly as it reads any source.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from provider.contracts.connection import FabricConnection, TargetConnection
from provider.contracts.declarations import (
    Capabilities,
    ConnectionParameter,
    DataPath,
    FabricKind,
    FailoverMode,
    ParameterType,
    TargetKind,
)
from provider.contracts.failover import (
    CleanupResult,
    FailoverRequest,
    FailoverResult,
    PreparedSource,
    ReplicaDisk,
    ReverseSource,
)
from provider.contracts.replica import (
    BlockDigest,
    ChangeMode,
    Cut,
    CutRequest,
    DiskChanges,
    ExtentData,
)
from provider.contracts.transfer import (
    AppliedHrl,
    DiskRef,
    Holdings,
    PointQuery,
    RetentionResult,
    TargetInfo,
)
from provider.errors import NotFound, RecoveryPointUnavailable, ValidationError
from provider.hookspecs import hookimpl
from provider.model.inventory import Disk, Machine, Network
from provider.replica import ReplicaStore
from provider.targets.compute import (
    ComputeService,
    DiskSource,
    MachineSpec,
    Purpose,
    ReplicaMachine,
    compute_for,
)
from provider.targets.storage_account import KIND, StorageAccount

TARGET_KIND = TargetKind(
    kind=KIND,
    title="Cloud target (directory-backed storage account)",
    data_path=DataPath.HRL,
    failover_modes=(
        FailoverMode.TEST,
        FailoverMode.PLANNED,
        FailoverMode.UNPLANNED,
        FailoverMode.FAILBACK,
    ),
    parameters=(
        ConnectionParameter(
            "path", required=True, description="directory holding the storage account"
        ),
        ConnectionParameter(
            "networks",
            description="virtual networks to create on the target: id=subnet,... "
            "(e.g. vnet-prod=10.1.0.0/24)",
        ),
        ConnectionParameter(
            "quota_bytes",
            type=ParameterType.INTEGER,
            description="most bytes the account may occupy (empty: the volume's free space)",
        ),
    ),
)


#: The fabric kind under which a failed-over replica machine is read back (re-protect).
REPLICA_KIND = FabricKind(
    kind="cloud-replica",
    title="Replica machines on a cloud target (the source of reverse replication)",
    capabilities=Capabilities(failover_modes=(FailoverMode.PLANNED,)),
)


@hookimpl
def srp_target_kinds() -> Sequence[TargetKind]:
    return (TARGET_KIND,)


@hookimpl
def srp_fabric_kinds() -> Sequence[FabricKind]:
    return (REPLICA_KIND,)


@hookimpl
def srp_open_target(target: TargetConnection) -> TargetInfo:
    return StorageAccount.from_connection(target).open()


@hookimpl
def srp_target_holdings(target: TargetConnection, disk: DiskRef) -> Holdings:
    return _store(target, disk).holdings()


@hookimpl
def srp_store_hrl(target: TargetConnection, disk: DiskRef, sequence: int, path: Path) -> None:
    _store(target, disk).store_hrl(sequence, path)


@hookimpl
def srp_apply_hrl(
    target: TargetConnection, disk: DiskRef, sequence: int, key: bytes | None
) -> AppliedHrl:
    return _store(target, disk).apply(sequence, key)


@hookimpl
def srp_replica_digests(
    target: TargetConnection, disk: DiskRef, block_size: int
) -> Iterator[BlockDigest]:
    return _store(target, disk).block_digests(block_size)


@hookimpl
def srp_point_digest(target: TargetConnection, query: PointQuery) -> str:
    try:
        sequence = query.point.disk(query.disk.disk_id).sequence
    except KeyError as exc:
        raise RecoveryPointUnavailable(
            f"recovery point {query.point.point_id!r} has no disk {query.disk.disk_id!r}",
            hint="ask for a disk the point covers",
        ) from exc
    return _store(target, query.disk).point_digest(sequence)


@hookimpl
def srp_apply_retention(
    target: TargetConnection, disk: DiskRef, oldest_kept_sequence: int
) -> RetentionResult:
    return _store(target, disk).apply_retention(oldest_kept_sequence)


def _store(target: TargetConnection, disk: DiskRef) -> ReplicaStore:
    return StorageAccount.from_connection(target).disk(disk)


# --------------------------------------------------------------------------
# Failover, target side


@hookimpl
def srp_target_networks(target: TargetConnection) -> Sequence[Network]:
    return _compute(target).networks()


@hookimpl
def srp_failover(target: TargetConnection, request: FailoverRequest) -> FailoverResult:
    compute = _compute(target)
    created = compute.create_machine(_machine_spec(target, request))
    try:
        machine = compute.start(created.replica_id)
    except BaseException:
        compute.delete(created.replica_id)
        raise
    disks = tuple(
        ReplicaDisk(d.disk_id, compute.disk_digest(machine.replica_id, d.disk_id), d.storage)
        for d in machine.disks
    )
    return FailoverResult(
        request.item_id, machine.replica_id, machine.name, machine.power_state, disks, machine.nics
    )


@hookimpl
def srp_commit_failover(target: TargetConnection, item_id: str, replica_id: str) -> None:
    # The replica's views lease its point and everything newer; what only
    # older points needed goes now.
    for disk in _replica(target, item_id, replica_id).disks:
        _disk_store(disk).apply_retention(disk.sequence)


@hookimpl
def srp_cancel_failover(target: TargetConnection, item_id: str, replica_id: str) -> CleanupResult:
    compute = _compute(target)
    machine = compute.find(replica_id)
    if machine is None:
        return CleanupResult(())
    if machine.item_id != item_id:
        raise NotFound(f"replica machine {replica_id!r} does not belong to item {item_id!r}")
    return compute.delete(replica_id)


@hookimpl
def srp_cleanup_test_failover(
    target: TargetConnection, item_id: str, replica_id: str
) -> CleanupResult:
    compute = _compute(target)
    machine = compute.find(replica_id)
    if machine is None:
        return CleanupResult(())
    if machine.item_id != item_id or machine.purpose is not Purpose.TEST:
        raise ValidationError(
            f"machine {machine.name} ({replica_id}) is not a test failover of item {item_id!r}",
            hint="cancel a real failover instead of cleaning it up",
        )
    return compute.delete(replica_id)


@hookimpl
def srp_reverse_replication(
    target: TargetConnection, item_id: str, replica_id: str
) -> ReverseSource:
    machine = _replica(target, item_id, replica_id)
    disks = tuple(Disk(d.disk_id, d.disk_id, d.capacity) for d in machine.disks)
    described = Machine(
        replica_id, machine.name, target.target_id, disks, power_state=machine.power_state
    )
    return ReverseSource(item_id, REPLICA_KIND.kind, str(_account(target).root), described)


def _machine_spec(target: TargetConnection, request: FailoverRequest) -> MachineSpec:
    account = _account(target)
    storage = {placement.disk_id: placement.storage for placement in request.disks}
    disks = []
    for disk in request.machine.disks:
        ref = DiskRef(request.item_id, disk.disk_id, disk.capacity)
        sequence = _point_sequence(request, disk.disk_id)
        root = str(account.disk(ref).layout.root)
        disks.append(
            DiskSource(
                disk.disk_id,
                request.item_id,
                root,
                disk.capacity,
                sequence,
                storage.get(disk.disk_id, ""),
            )
        )
    test = request.mode is FailoverMode.TEST
    name = request.replica_name or (
        f"{request.machine.name}-test" if test else request.machine.name
    )
    return MachineSpec(
        request.item_id,
        name,
        Purpose.TEST if test else Purpose.FAILOVER,
        tuple(disks),
        request.nics,
        request.machine.cpu_count,
        request.machine.memory_mib,
    )


def _point_sequence(request: FailoverRequest, disk_id: str) -> int:
    try:
        return request.point.disk(disk_id).sequence
    except KeyError as exc:
        raise RecoveryPointUnavailable(
            f"recovery point {request.point.point_id!r} has no disk {disk_id!r} of "
            f"{request.machine.name}",
            hint="choose a point taken after the disk was added",
        ) from exc


def _replica(target: TargetConnection, item_id: str, replica_id: str) -> ReplicaMachine:
    machine = _compute(target).find(replica_id)
    if machine is None or machine.item_id != item_id:
        raise NotFound(
            f"cloud target {target.target_id!r} has no replica machine {replica_id!r} "
            f"of item {item_id!r}"
        )
    return machine


def _account(target: TargetConnection) -> StorageAccount:
    return StorageAccount.from_connection(target)


def _compute(target: TargetConnection) -> ComputeService:
    account = _account(target)
    account.open()
    compute = compute_for(target, account.root)
    _declare_networks(compute, target.option("networks"))
    return compute


def _declare_networks(compute: ComputeService, declared: str) -> None:
    """Create the networks the target's ``networks`` option names (``id=subnet,...``)."""
    existing = {network.network_id for network in compute.networks()}
    for entry in filter(None, (part.strip() for part in declared.split(","))):
        network_id, _, subnet = entry.partition("=")
        if network_id not in existing:
            compute.add_network(network_id.strip(), subnet=subnet.strip())


def _disk_store(disk: DiskSource) -> ReplicaStore:
    return ReplicaStore(Path(disk.store), DiskRef(disk.item_id, disk.disk_id, disk.capacity))


# --------------------------------------------------------------------------
# The replica machine as a source (fabric kind ``cloud-replica``)


@hookimpl
def srp_capture_cut(connection: FabricConnection, request: CutRequest) -> Cut:
    # A replica disk has no change tracking: every cut reads it whole, and
    # the core sends only the blocks whose digests differ.
    disks = tuple(
        DiskChanges(
            m.machine_id, d.disk_id, d.capacity, ChangeMode.RESYNC, (), "no change tracking"
        )
        for m in request.machines
        for d in m.disks
    )
    return Cut(request.cut_id, 0.0, request.consistency, disks)


@hookimpl
def srp_read_extents(
    connection: FabricConnection,
    cut: Cut,
    machine_id: str,
    disk_id: str,
    extents: Sequence[tuple[int, int]],
) -> Iterator[ExtentData]:
    compute = _replica_compute(connection)
    for offset, length in extents:
        yield ExtentData(offset, compute.read_disk(machine_id, disk_id, offset, length))


@hookimpl
def srp_block_digests(
    connection: FabricConnection, cut: Cut, machine_id: str, disk_id: str, block_size: int
) -> Iterator[BlockDigest]:
    return _replica_compute(connection).block_digests(machine_id, disk_id, block_size)


@hookimpl
def srp_release_cut(connection: FabricConnection, cut: Cut, confirmed: bool) -> None:
    """Nothing to release: a replica cut holds no snapshot."""


@hookimpl
def srp_prepare_failover(connection: FabricConnection, machine: Machine) -> PreparedSource:
    stopped = _replica_compute(connection).stop(machine.machine_id)
    return PreparedSource(stopped.replica_id, stopped.power_state)


@hookimpl
def srp_resume_source(connection: FabricConnection, machine: Machine) -> None:
    _replica_compute(connection).start(machine.machine_id)


def _replica_compute(connection: FabricConnection) -> ComputeService:
    # The reverse source's address is the storage account's directory.
    target = TargetConnection(
        connection.fabric_id,
        KIND,
        connection.address,
        options=(*connection.options, ("path", connection.address)),
    )
    return _compute(target)
