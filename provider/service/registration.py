"""Registering, re-discovering and unregistering fabrics (the seed's provider-service flow).

Registration proves the vault credentials file (signature, expiry, vault),
connects through the kind's plugin, discovers, and only then stores the
fabric with its secret sealed: a refused file, a wrong password or an
unknown kind leave the vault as it was.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace

from provider.contracts.connection import FabricConnection, Secret
from provider.errors import AlreadyExists
from provider.model.inventory import Fabric, Inventory
from provider.service.context import ServiceContext
from provider.service.lookups import find_fabric
from provider.service.protection import StoppedItem, check_can_stop, stop_protection
from provider.vault.credentials import verify_credentials
from provider.vault.sealed import SealedSecrets


@dataclass(frozen=True)
class Registration:
    """What ``srp register`` sends."""

    kind: str
    address: str
    username: str
    password: Secret = field(repr=False)
    credentials: bytes = field(repr=False)
    name: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    reregister: bool = False


@dataclass(frozen=True)
class Unregistered:
    """A removed fabric, the protection it stopped, and what could not be cleaned."""

    fabric: Fabric
    stopped: tuple[StoppedItem, ...]


def register_fabric(svc: ServiceContext, request: Registration) -> Fabric:
    """Verify, connect, discover, then store; AlreadyExists unless re-registering."""
    verify_credentials(
        request.credentials,
        vault_id=svc.vault.vault_id,
        public_key=svc.vault.public_key,
        now=svc.clock(),
    )
    svc.plugins.fabric_kind(request.kind)
    existing = _registered_at(svc, request.kind, request.address)
    if existing is not None and not request.reregister:
        raise AlreadyExists(
            f"{request.kind} {request.address!r} is already registered as fabric {existing.name!r}",
            hint="register again with --reregister to replace its credentials and re-discover",
        )
    fabric = _fabric_for(request, existing, svc.clock())
    connection = _connection(fabric, request.password)
    identity = svc.plugins.connect(connection)
    inventory = svc.plugins.discover(connection)
    if existing is None and request.name is None and identity.name:
        fabric = replace(fabric, name=identity.name)
    _store(svc, fabric, request.password, inventory, replacing=existing is not None)
    return fabric


def refresh_fabric(svc: ServiceContext, name: str) -> Fabric:
    """Re-discover a registered fabric's inventory."""
    with svc.store.read() as tx:
        fabric = find_fabric(tx, name)
    connection = svc.engine.fabric_connection(fabric.fabric_id)
    svc.plugins.connect(connection)
    inventory = svc.plugins.discover(connection)
    with svc.store.unit() as tx:
        tx.fabrics.save_inventory(fabric.fabric_id, inventory, svc.clock())
    return fabric


def unregister_fabric(svc: ServiceContext, name: str) -> Unregistered:
    """Stop every protection on the fabric, then forget it and its inventory."""
    with svc.store.read() as tx:
        fabric = find_fabric(tx, name)
        items = tx.items.list(fabric.fabric_id)
    for item in items:
        check_can_stop(item)
    stopped = tuple(stop_protection(svc, item) for item in items)
    with svc.store.unit() as tx:
        tx.fabrics.remove(fabric.fabric_id)
    return Unregistered(fabric, stopped)


def _registered_at(svc: ServiceContext, kind: str, address: str) -> Fabric | None:
    wanted = address.strip().lower()
    with svc.store.read() as tx:
        for fabric in tx.fabrics.list():
            if fabric.kind == kind and fabric.address.strip().lower() == wanted:
                return fabric
    return None


def _fabric_for(request: Registration, existing: Fabric | None, now: float) -> Fabric:
    if existing is not None:
        return replace(
            existing,
            name=request.name or existing.name,
            username=request.username,
            options=request.options,
        )
    return Fabric(
        fabric_id=f"fab-{uuid.uuid4().hex[:12]}",
        name=request.name or request.address,
        kind=request.kind,
        address=request.address,
        username=request.username,
        options=request.options,
        registered_at=now,
    )


def _connection(fabric: Fabric, password: Secret) -> FabricConnection:
    return FabricConnection(
        fabric_id=fabric.fabric_id,
        kind=fabric.kind,
        address=fabric.address,
        username=fabric.username,
        secret=password,
        options=fabric.options,
    )


def _store(
    svc: ServiceContext, fabric: Fabric, password: Secret, inventory: Inventory, *, replacing: bool
) -> None:
    sealed = SealedSecrets(svc.vault.box)
    with svc.store.unit() as tx:
        namesake = tx.fabrics.find_by_name(fabric.name)
        if namesake is not None and namesake.fabric_id != fabric.fabric_id:
            raise AlreadyExists(
                f"a fabric named {fabric.name!r} is already registered",
                hint="choose another name with --name",
            )
        if replacing:
            tx.fabrics.update(fabric)
            sealed.replace_fabric_secret(tx, fabric.fabric_id, password)
        else:
            sealed.add_fabric(tx, fabric, password)
        tx.fabrics.save_inventory(fabric.fabric_id, inventory, svc.clock())
