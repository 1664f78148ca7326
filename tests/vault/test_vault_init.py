"""``srp vault init``: keys, first token, refusal to overwrite, opening with the key."""

from __future__ import annotations

import logging
import stat
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from provider.errors import AlreadyExists, CredentialsError
from provider.store import VaultStore
from provider.vault import ApiTokens, init_vault, open_vault
from provider.vault.keys import new_key, write_master_key


def test_init_creates_keys_and_a_first_token(
    store: VaultStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = init_vault(store, tmp_path, clock=lambda: 1700000000.0)
    assert str(uuid.UUID(created.vault_id)) == created.vault_id
    key_file = tmp_path / "vault.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    token = created.token.token.reveal()
    assert token.startswith("srp_") and len(token) == 4 + 43
    assert created.token.info.name == "initial"
    assert created.token.info.created_at == 1700000000.0
    assert ApiTokens(store).verify_token(token) == created.token.info
    assert token not in repr(created)
    assert token not in caplog.text


def test_an_opened_vault_has_its_keys(store: VaultStore, tmp_path: Path) -> None:
    created = init_vault(store, tmp_path)
    vault = open_vault(store, tmp_path)
    assert vault.vault_id == created.vault_id
    assert len(vault.data_key) == 32
    signature = vault.signing_key.sign(b"credentials file")
    Ed25519PublicKey.from_public_bytes(vault.public_key).verify(signature, b"credentials file")
    assert repr(vault) == f"Vault(vault_id={created.vault_id!r})"
    # The data key is random, and the database holds it only sealed.
    with store.read() as tx:
        record = tx.identity.get()
    assert record is not None
    assert vault.data_key not in record.data_key


def test_a_second_init_is_refused_and_changes_nothing(store: VaultStore, tmp_path: Path) -> None:
    created = init_vault(store, tmp_path)
    key_before = (tmp_path / "vault.key").read_bytes()
    with pytest.raises(AlreadyExists) as caught:
        init_vault(store, tmp_path)
    assert str(caught.value) == (
        f"the vault at {store.where} is already initialised (vault {created.vault_id}) "
        "(initialise with force to replace it; its sealed secrets are then lost)"
    )
    assert (tmp_path / "vault.key").read_bytes() == key_before
    assert open_vault(store, tmp_path).vault_id == created.vault_id


def test_an_existing_key_file_refuses_init_and_rolls_the_database_back(
    store: VaultStore, tmp_path: Path
) -> None:
    write_master_key(tmp_path, new_key())
    with pytest.raises(AlreadyExists) as caught:
        init_vault(store, tmp_path)
    assert str(caught.value) == (
        f"a vault master key already exists at {tmp_path / 'vault.key'} "
        "(initialise with force to replace it; secrets sealed with it are then lost)"
    )
    with store.read() as tx:
        assert tx.identity.get() is None
        assert tx.tokens.list() == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".vault")) == []


def test_forced_init_replaces_the_vault_and_revokes_old_tokens(
    store: VaultStore, tmp_path: Path
) -> None:
    first = init_vault(store, tmp_path)
    second = init_vault(store, tmp_path, force=True)
    assert second.vault_id != first.vault_id
    assert open_vault(store, tmp_path).vault_id == second.vault_id
    tokens = ApiTokens(store)
    with pytest.raises(CredentialsError) as caught:
        tokens.verify_token(first.token.token)
    assert str(caught.value) == "the API token 'initial' was revoked"
    assert tokens.verify_token(second.token.token).token_id == second.token.info.token_id


def test_a_wrong_master_key_is_named_as_such(store: VaultStore, tmp_path: Path) -> None:
    created = init_vault(store, tmp_path)
    write_master_key(tmp_path, new_key(), force=True)
    with pytest.raises(CredentialsError) as caught:
        open_vault(store, tmp_path)
    assert str(caught.value) == (
        f"the master key at {tmp_path / 'vault.key'} is not the key of vault "
        f"{created.vault_id} (point SRP_HOME at the home this vault was initialised with)"
    )


def test_opening_an_uninitialised_vault(store: VaultStore, tmp_path: Path) -> None:
    with pytest.raises(CredentialsError) as caught:
        open_vault(store, tmp_path)
    assert str(caught.value) == (
        f"the vault at {store.where} is not initialised (run `srp vault init`)"
    )


def test_a_missing_key_file(store: VaultStore, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    init_vault(store, tmp_path / "a")
    with pytest.raises(CredentialsError) as caught:
        open_vault(store, tmp_path)
    assert str(caught.value) == (
        f"no vault master key at {tmp_path / 'vault.key'} (run `srp vault init` or set SRP_HOME)"
    )


def test_a_home_where_the_key_cannot_be_written(store: VaultStore, tmp_path: Path) -> None:
    with pytest.raises(CredentialsError) as caught:
        init_vault(store, tmp_path / "missing")
    assert str(caught.value) == (
        f"the vault master key cannot be written to {tmp_path / 'missing' / 'vault.key'}: "
        "No such file or directory"
    )
    with store.read() as tx:
        assert tx.identity.get() is None
