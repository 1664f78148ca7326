"""/targets: replication targets (the cloud target is a directory-backed storage account)."""

from __future__ import annotations

from fastapi import APIRouter

from provider.contracts.connection import Secret, TargetConnection
from provider.contracts.declarations import DataPath
from provider.errors import AlreadyExists, ValidationError
from provider.service.context import ServiceContext
from provider.service.routers.deps import Srp
from provider.service.schemas import AddTarget
from provider.service.views import Json, target_view
from provider.store.targets import Target
from provider.vault.sealed import SealedSecrets

router = APIRouter(prefix="/targets", tags=["targets"])


@router.post("", status_code=201)
def add(body: AddTarget, svc: Srp) -> Json:
    """Add a target after its plugin opened it; the cloud kind's path defaults to location."""
    options = dict(body.options)
    if body.kind == "cloud":
        options.setdefault("path", body.location)
    _check_parameters(svc, body.kind, options)
    target = Target(
        body.name, body.kind, body.location, tuple(sorted(options.items())), svc.clock()
    )
    with svc.store.read() as tx:
        if any(t.target_id == target.target_id for t in tx.targets.list()):
            raise AlreadyExists(f"target {target.target_id!r} is already registered")
    secret = Secret(body.password)
    connection = TargetConnection(
        target.target_id, target.kind, target.location, secret, target.options
    )
    # A native target (InMage, Hyper-V Replica) has no storage of srp's to open:
    # it is first reached when machines are protected toward it.
    if svc.plugins.target_kind(body.kind).data_path is not DataPath.NATIVE:
        svc.plugins.open_target(connection)
    with svc.store.unit() as tx:
        SealedSecrets(svc.vault.box).add_target(tx, target, secret)
    return target_view(target)


@router.get("")
def list_targets(svc: Srp) -> list[Json]:
    with svc.store.read() as tx:
        return [target_view(target) for target in tx.targets.list()]


def _check_parameters(svc: ServiceContext, kind: str, options: dict[str, str]) -> None:
    declared = svc.plugins.target_kind(kind).parameters
    missing = [p.name for p in declared if p.required and not options.get(p.name)]
    unknown = sorted(set(options) - {p.name for p in declared})
    if missing or unknown:
        raise ValidationError(
            f"target kind {kind!r}: missing options {missing or 'none'}, "
            f"unknown options {unknown or 'none'}",
            hint="known options: " + ", ".join(p.name for p in declared),
        )
