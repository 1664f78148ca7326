"""Network and storage mappings: where a replica's NICs and disks land on the target.

Every NIC's source network must be mapped to a network the target really
has, or the failover is refused before anything is touched; an operator may
override, and the replica then has no NIC on the unmapped networks. A test
failover puts every NIC on an isolated network instead, keeping the mapped
IP settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePath, PureWindowsPath

from provider.contracts.failover import DiskPlacement, NicPlacement
from provider.engine.context import EngineContext
from provider.errors import MappingMissing
from provider.failover.subject import Subject
from provider.model.inventory import Disk, Network, Nic
from provider.model.mapping import IpPolicy, NetworkMapping
from provider.store.unit import Unit


@dataclass(frozen=True)
class Placement:
    """Where the replica's NICs and disks go, and the NICs left out by an override."""

    nics: tuple[NicPlacement, ...]
    disks: tuple[DiskPlacement, ...]
    unmapped: tuple[str, ...] = ()


def resolve_placement(
    ctx: EngineContext, subject: Subject, *, allow_unmapped: bool = False, test_network: str = ""
) -> Placement:
    """Map every NIC and disk of the subject's machine, checked against the target's networks."""
    networks = ctx.plugins.target_networks(subject.target)
    with ctx.store.read() as tx:
        pairs = [(nic, nic_mapping(tx, subject, nic)) for nic in subject.machine.nics]
        disks = tuple(_disk(tx, subject, disk) for disk in subject.machine.disks)
    unmapped = tuple(nic.nic_id for nic, found in pairs if found is None)
    if unmapped and not allow_unmapped:
        raise missing_mappings(subject, [nic for nic, found in pairs if found is None])
    nics = tuple(_placed(subject, nic, found, networks) for nic, found in pairs if found)
    if test_network:
        nics = tuple(replace(nic, network_id=test_network) for nic in nics)
    return Placement(nics, disks, unmapped)


def choose_test_network(ctx: EngineContext, subject: Subject, wanted: str) -> str:
    """The isolated network a drill runs in: the one asked for, else the target's first."""
    isolated = [n for n in ctx.plugins.target_networks(subject.target) if n.isolated]
    names = ", ".join(n.network_id for n in isolated) or "none"
    if not wanted and isolated:
        return isolated[0].network_id
    # Operators name networks as they see them: by id or by name (a switch's, a VM network's).
    chosen = [n.network_id for n in isolated if wanted in (n.network_id, n.name)]
    if wanted and chosen:
        return chosen[0]
    which = f"isolated network {wanted!r}" if wanted else "isolated network"
    raise MappingMissing(
        f"test failover of {subject.name}: target {subject.target.target_id!r} has no "
        f"{which} (isolated networks: {names})",
        hint="a drill runs only in an isolated network, never in production",
    )


def nic_mapping(tx: Unit, subject: Subject, nic: Nic) -> NetworkMapping | None:
    """The vault's mapping of a NIC's network toward the item's target, if any."""
    return tx.mappings.network(subject.item.fabric_id, nic.network_id, subject.item.target)


def _placed(
    subject: Subject, nic: Nic, mapping: NetworkMapping, networks: Sequence[Network]
) -> NicPlacement:
    if not any(n.network_id == mapping.target_network for n in networks):
        have = ", ".join(n.network_id for n in networks) or "none"
        raise MappingMissing(
            f"{subject.name}: network {nic.network_id!r} is mapped to "
            f"{mapping.target_network!r}, which target {subject.target.target_id!r} does not "
            f"have (it has: {have})",
            hint="fix the network mapping",
        )
    if mapping.ip_policy is IpPolicy.KEEP:
        kept = nic.ip_addresses[0] if nic.ip_addresses else ""
        return NicPlacement(nic.nic_id, mapping.target_network, kept)
    subnet = mapping.static_subnet if mapping.ip_policy is IpPolicy.STATIC else ""
    return NicPlacement(nic.nic_id, mapping.target_network, "", subnet)


def missing_mappings(subject: Subject, nics: Sequence[Nic]) -> MappingMissing:
    """The refusal naming every NIC whose network has no mapping."""
    described = ", ".join(f"NIC {nic.nic_id} on network {nic.network_id!r}" for nic in nics)
    return MappingMissing(
        f"{subject.name}: {described} has no mapping to target {subject.target.target_id!r}; "
        "nothing was changed",
        hint="map the network, or override to fail over without those NICs",
    )


def _disk(tx: Unit, subject: Subject, disk: Disk) -> DiskPlacement:
    storage = _source_storage(disk)
    found = (
        tx.mappings.storage(subject.item.fabric_id, storage, subject.item.target)
        if storage
        else None
    )
    return DiskPlacement(disk.disk_id, found.target_storage if found else "")


def _source_storage(disk: Disk) -> str:
    """The storage a disk lives on: the folder of its file (a CSV, a datastore path)."""
    if not disk.path:
        return ""
    path: PurePath = PureWindowsPath(disk.path) if "\\" in disk.path else PurePath(disk.path)
    return str(path.parent)
