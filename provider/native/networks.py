"""Where a native failover's NICs land: the vault's network mappings, as the HRL path reads them.

Each NIC's source network is resolved through the vault's network mappings
toward the item's target (:mod:`provider.failover.mapping`) into the
request's ``networks``; a NIC whose network has no mapping refuses the
failover before anything changes, unless the operator overrides, as on the
HRL path. The override reaches the target as the option ``allow_unmapped``
(``yes``): the recovered machines then have no NIC on the unmapped networks.

A target whose plugin lists its networks (``srp_target_networks``) has every
mapped network checked here too; one that cannot list them checks them
itself before any change, as the ``srp_native_failover`` contract says.
"""

from __future__ import annotations

from collections.abc import Sequence

from provider.contracts.failover import NicPlacement
from provider.engine.context import EngineContext
from provider.errors import MappingMissing
from provider.failover.mapping import (
    # Shared, not copied: the lookup and its refusal stay one code path.
    choose_test_network,
    missing_mappings,
    nic_mapping,
    resolve_placement,
)
from provider.failover.subject import Subject
from provider.native.kinds import implements

#: The option telling the target the operator accepted NICs left without a network.
ALLOW_UNMAPPED = "allow_unmapped"
#: The option naming the isolated network of a test failover.
TEST_NETWORK = "network"
_LISTING_HOOK = "srp_target_networks"

NetworkPairs = tuple[tuple[str, str], ...]


def mapped_networks(ctx: EngineContext, subject: Subject, *, allow_unmapped: bool) -> NetworkPairs:
    """(source network, recovery network) for every mapped NIC network of the machine."""
    if implements(ctx, subject.target.kind, _LISTING_HOOK):
        placement = resolve_placement(ctx, subject, allow_unmapped=allow_unmapped)
        return _pairs(subject, placement.nics)
    return _mapped_unlisted(ctx, subject, allow_unmapped)


def _pairs(subject: Subject, nics: Sequence[NicPlacement]) -> NetworkPairs:
    source = {nic.nic_id: nic.network_id for nic in subject.machine.nics}
    return tuple(sorted({(source[nic.nic_id], nic.network_id) for nic in nics}))


def _mapped_unlisted(ctx: EngineContext, subject: Subject, allow_unmapped: bool) -> NetworkPairs:
    with ctx.store.read() as tx:
        pairs = [(nic, nic_mapping(tx, subject, nic)) for nic in subject.machine.nics]
    missing = [nic for nic, found in pairs if found is None]
    if missing and not allow_unmapped:
        raise missing_mappings(subject, missing)
    return tuple(sorted({(nic.network_id, found.target_network) for nic, found in pairs if found}))


def drill_network(ctx: EngineContext, subject: Subject, wanted: str) -> str:
    """The isolated network of a native drill: checked against the target's list when it has one."""
    if implements(ctx, subject.target.kind, _LISTING_HOOK):
        return choose_test_network(ctx, subject, wanted)
    if wanted:
        return wanted
    raise MappingMissing(
        f"test failover of {subject.name}: target {subject.target.target_id!r} lists no "
        "networks, so the isolated network must be named",
        hint="pass the test network of the recovery site",
    )


def request_options(*, allow_unmapped: bool, network: str = "") -> tuple[tuple[str, str], ...]:
    """The target-side options of a native failover request."""
    options = [(TEST_NETWORK, network)] if network else []
    if allow_unmapped:
        options.append((ALLOW_UNMAPPED, "yes"))
    return tuple(options)
