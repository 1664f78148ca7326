"""Fabrics and targets with their secrets: sealed on the way in, opened on the way out.

The associated data of each blob is the owning record (``fabric:<id>``,
``target:<id>``), so the store never holds a secret in clear and a sealed
secret moved to another record's row refuses to open.
"""

from __future__ import annotations

from provider.contracts.connection import FabricConnection, Secret, TargetConnection
from provider.model.inventory import Fabric
from provider.store.targets import Target
from provider.store.unit import Unit
from provider.vault.secrets import SecretBox


def fabric_aad(fabric_id: str) -> str:
    return f"fabric:{fabric_id}"


def target_aad(target_id: str) -> str:
    return f"target:{target_id}"


class SealedSecrets:
    """Stores and loads fabric and target connections through a SecretBox."""

    def __init__(self, box: SecretBox) -> None:
        self._box = box

    def add_fabric(self, tx: Unit, fabric: Fabric, secret: Secret) -> None:
        sealed = self._box.seal(secret.reveal(), fabric_aad(fabric.fabric_id))
        tx.fabrics.add(fabric, sealed)

    def replace_fabric_secret(self, tx: Unit, fabric_id: str, secret: Secret) -> None:
        tx.fabrics.replace_secret(fabric_id, self._box.seal(secret.reveal(), fabric_aad(fabric_id)))

    def fabric_connection(self, tx: Unit, fabric_id: str) -> FabricConnection:
        """What a plugin needs to reach the fabric, with its secret opened."""
        fabric = tx.fabrics.get(fabric_id)
        secret = self._box.open(tx.fabrics.sealed_secret(fabric_id), fabric_aad(fabric_id))
        return FabricConnection(
            fabric_id=fabric.fabric_id,
            kind=fabric.kind,
            address=fabric.address,
            username=fabric.username,
            secret=secret,
            options=fabric.options,
        )

    def add_target(self, tx: Unit, target: Target, secret: Secret) -> None:
        sealed = self._box.seal(secret.reveal(), target_aad(target.target_id))
        tx.targets.add(target, sealed)

    def target_connection(self, tx: Unit, target_id: str) -> TargetConnection:
        target = tx.targets.get(target_id)
        secret = self._box.open(tx.targets.sealed_secret(target_id), target_aad(target_id))
        return TargetConnection(
            target_id=target.target_id,
            kind=target.kind,
            location=target.location,
            secret=secret,
            options=target.options,
        )
