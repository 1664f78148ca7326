"""Creating a vault (``srp vault init``) and opening it with its master key.

A vault is an id, a master key in ``<home>/vault.key``, and, sealed by that
key in the database: a data key that encrypts HRL files and an Ed25519 key
that signs vault credentials files. The database also keeps a key check
value, so a wrong key file is named as such before anything is decrypted.
"""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from provider.errors import AlreadyExists, CredentialsError
from provider.store.identity import VaultRecord
from provider.store.vaultstore import VaultStore
from provider.vault.keys import key_check, key_path, new_key, read_master_key, write_master_key
from provider.vault.secrets import SecretBox
from provider.vault.tokens import Clock, IssuedToken, issue_token

FIRST_TOKEN_NAME = "initial"


@dataclass(frozen=True)
class VaultInit:
    """What ``srp vault init`` shows once: the vault id and its first API token."""

    vault_id: str
    token: IssuedToken


@dataclass(frozen=True)
class Vault:
    """An opened vault: its id and keys, usable for sealing, HRLs and signing."""

    vault_id: str
    box: SecretBox = field(repr=False)
    data_key: bytes = field(repr=False)
    signing_key: Ed25519PrivateKey = field(repr=False)
    public_key: bytes = field(repr=False)


def init_vault(
    store: VaultStore, home: Path, *, force: bool = False, clock: Clock = time.time
) -> VaultInit:
    """Create the vault's keys and first API token; AlreadyExists unless ``force``.

    ``force`` replaces the vault: a new id and keys, and every earlier API
    token revoked. Secrets sealed under the old master key no longer open.
    """
    master = new_key()
    record = _new_record(master, clock())
    with store.unit() as tx:
        existing = tx.identity.get()
        if existing is not None and not force:
            raise AlreadyExists(
                f"the vault at {store.where} is already initialised (vault {existing.vault_id})",
                hint="initialise with force to replace it; its sealed secrets are then lost",
            )
        tx.identity.put(record)
        tx.tokens.revoke_all(record.created_at)
        token = issue_token(tx, FIRST_TOKEN_NAME, record.created_at)
        # Written last inside the unit: if the key cannot be written, the vault
        # row rolls back, so there is never a vault without its key. (Should the
        # commit itself fail, the key file stays; init with force replaces it.)
        write_master_key(home, master, force=force)
    return VaultInit(record.vault_id, token)


def open_vault(store: VaultStore, home: Path) -> Vault:
    """The vault with its keys unsealed; CredentialsError for a missing or wrong key."""
    with store.read() as tx:
        record = tx.identity.get()
    if record is None:
        raise CredentialsError(
            f"the vault at {store.where} is not initialised", hint="run `srp vault init`"
        )
    master = read_master_key(home)
    if not hmac.compare_digest(key_check(master), record.key_check):
        raise CredentialsError(
            f"the master key at {key_path(home)} is not the key of vault {record.vault_id}",
            hint="point SRP_HOME at the home this vault was initialised with",
        )
    box = SecretBox(master)
    signing = box.open_bytes(record.signing_key, _aad(record.vault_id, "signing-key"))
    return Vault(
        vault_id=record.vault_id,
        box=box,
        data_key=box.open_bytes(record.data_key, _aad(record.vault_id, "data-key")),
        signing_key=Ed25519PrivateKey.from_private_bytes(signing),
        public_key=record.public_key,
    )


def _new_record(master: bytes, now: float) -> VaultRecord:
    vault_id = str(uuid.uuid4())
    box = SecretBox(master)
    signing = Ed25519PrivateKey.generate()
    return VaultRecord(
        vault_id=vault_id,
        created_at=now,
        key_check=key_check(master),
        data_key=box.seal_bytes(new_key(), _aad(vault_id, "data-key")),
        signing_key=box.seal_bytes(signing.private_bytes_raw(), _aad(vault_id, "signing-key")),
        public_key=signing.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
    )


def _aad(vault_id: str, what: str) -> str:
    return f"vault:{vault_id}:{what}"
