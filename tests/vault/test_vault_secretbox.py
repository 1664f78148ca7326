"""SecretBox: sealed secrets open only for their record and with the vault's key."""

from __future__ import annotations

from pathlib import Path

import pytest

from provider.contracts.connection import FabricConnection, Secret, TargetConnection
from provider.errors import CredentialsError, ValidationError
from provider.model.inventory import Fabric
from provider.store import Target, VaultStore
from provider.vault import SealedSecrets, SecretBox

KEY = bytes(range(32))
PASSWORD = "Pa55w0rd-unique-8f3a"


def test_a_sealed_secret_opens_for_its_record() -> None:
    box = SecretBox(KEY)
    blob = box.seal(PASSWORD, "fabric:f1")
    assert box.open(blob, "fabric:f1") == Secret(PASSWORD)
    assert PASSWORD.encode() not in blob
    assert len(blob) == 1 + 12 + len(PASSWORD) + 16
    # A random nonce per seal: the same secret never gives the same blob twice.
    assert box.seal(PASSWORD, "fabric:f1") != blob


def test_a_blob_moved_to_another_record_does_not_open() -> None:
    box = SecretBox(KEY)
    blob = box.seal(PASSWORD, "fabric:f1")
    with pytest.raises(CredentialsError) as caught:
        box.open(blob, "fabric:f2")
    assert str(caught.value) == (
        "the sealed secret of fabric:f2 does not open with this vault's master key: "
        "it was sealed for another record, or the master key is not this vault's"
    )


def test_another_master_key_does_not_open_it() -> None:
    blob = SecretBox(KEY).seal(PASSWORD, "fabric:f1")
    with pytest.raises(CredentialsError) as caught:
        SecretBox(bytes(32)).open(blob, "fabric:f1")
    assert "the master key is not this vault's" in str(caught.value)


def test_tampered_and_malformed_blobs_are_refused() -> None:
    box = SecretBox(KEY)
    blob = bytearray(box.seal(PASSWORD, "fabric:f1"))
    blob[-1] ^= 1
    with pytest.raises(CredentialsError):
        box.open(bytes(blob), "fabric:f1")
    with pytest.raises(CredentialsError) as caught:
        box.open(b"\x02" + bytes(40), "fabric:f1")
    assert str(caught.value) == (
        "the sealed secret of fabric:f1 is malformed or of an unknown version"
    )
    with pytest.raises(CredentialsError):
        box.open(b"\x01short", "fabric:f1")


def test_a_short_master_key_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        SecretBox(b"short")
    assert str(caught.value) == "a vault master key is 32 bytes, got 5"


def test_the_box_never_shows_its_key() -> None:
    assert repr(SecretBox(KEY)) == "SecretBox(<master key>)"


FABRIC = Fabric("f1", "site-a", "hyperv", "hv1", "admin", (("port", "5986"),))


def test_fabric_secrets_are_stored_only_sealed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vault.db'}"
    sealed = SealedSecrets(SecretBox(KEY))
    with VaultStore.open(url) as store, store.unit() as tx:
        sealed.add_fabric(tx, FABRIC, Secret(PASSWORD))
        connection = sealed.fabric_connection(tx, "f1")
    assert connection == FabricConnection(
        "f1", "hyperv", "hv1", "admin", Secret(PASSWORD), (("port", "5986"),)
    )
    # The store is closed: every byte is in the database file or its WAL.
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("vault.db*"))
    assert b"site-a" in stored
    assert PASSWORD.encode() not in stored


def test_a_secret_moved_to_another_fabric_row_does_not_open(store: VaultStore) -> None:
    sealed = SealedSecrets(SecretBox(KEY))
    with store.unit() as tx:
        sealed.add_fabric(tx, FABRIC, Secret(PASSWORD))
        sealed.add_fabric(tx, Fabric("f2", "site-b", "hyperv", "hv2"), Secret("other"))
        tx.fabrics.replace_secret("f2", tx.fabrics.sealed_secret("f1"))
    with pytest.raises(CredentialsError) as caught, store.read() as tx:
        sealed.fabric_connection(tx, "f2")
    assert str(caught.value).startswith("the sealed secret of fabric:f2 does not open")


def test_rotating_a_fabric_secret(store: VaultStore) -> None:
    sealed = SealedSecrets(SecretBox(KEY))
    with store.unit() as tx:
        sealed.add_fabric(tx, FABRIC, Secret(PASSWORD))
        sealed.replace_fabric_secret(tx, "f1", Secret("new-one"))
        assert sealed.fabric_connection(tx, "f1").secret == Secret("new-one")


def test_target_secrets_round_trip(store: VaultStore) -> None:
    sealed = SealedSecrets(SecretBox(KEY))
    with store.unit() as tx:
        sealed.add_target(tx, Target("cloud", "cloud", "/srv/c", (("a", "b"),)), Secret("key"))
        assert sealed.target_connection(tx, "cloud") == TargetConnection(
            "cloud", "cloud", "/srv/c", Secret("key"), (("a", "b"),)
        )
        assert tx.targets.sealed_secret("cloud") != b"key"
