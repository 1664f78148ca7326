"""Vault credentials files: issue, parse with a hardened parser, verify."""

from __future__ import annotations

from pathlib import Path

import pytest

from provider.errors import (
    CredentialsError,
    CredentialsExpired,
    CredentialsForeign,
    CredentialsTampered,
)
from provider.settings import Settings
from provider.store.vaultstore import VaultStore
from provider.vault.credentials import (
    MAX_FILE_BYTES,
    VaultCredentials,
    issue_credentials,
    verify_credentials,
)
from provider.vault.setup import Vault, init_vault, open_vault

NOW = 1_800_000_000.0
DAY = 86400.0


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    with VaultStore.open(Settings.from_env({"SRP_HOME": str(tmp_path)})) as store:
        init_vault(store, tmp_path)
        return open_vault(store, tmp_path)


def _verify(vault: Vault, data: bytes, now: float = NOW) -> VaultCredentials:
    return verify_credentials(data, vault_id=vault.vault_id, public_key=vault.public_key, now=now)


def test_issued_file_verifies_with_its_fields(vault: Vault) -> None:
    data = issue_credentials(vault, now=NOW, service_url="https://127.0.0.1:8470")
    assert data.startswith(
        b"<?xml version='1.0' encoding='UTF-8'?>\n<VaultCredentials version=\"1\">"
    )
    assert b"<IssuedAt>2027-01-15T08:00:00Z</IssuedAt>" in data
    assert b"<ExpiresAt>2027-01-20T08:00:00Z</ExpiresAt>" in data
    assert _verify(vault, data) == VaultCredentials(
        vault.vault_id, NOW, NOW + 5 * DAY, "https://127.0.0.1:8470"
    )


def test_file_expires_exactly_at_its_expiry(vault: Vault) -> None:
    data = issue_credentials(vault, now=NOW, valid_days=1)
    assert _verify(vault, data, now=NOW + DAY - 1).expires_at == NOW + DAY
    with pytest.raises(CredentialsExpired, match="expired at 2027-01-16T08:00:00Z"):
        _verify(vault, data, now=NOW + DAY)


def test_changed_service_url_is_tampering(vault: Vault) -> None:
    data = issue_credentials(vault, now=NOW, service_url="https://a")
    with pytest.raises(CredentialsTampered):
        _verify(vault, data.replace(b"https://a", b"https://b"))


def test_changed_vault_id_is_foreign(vault: Vault) -> None:
    data = issue_credentials(vault, now=NOW)
    with pytest.raises(CredentialsForeign):
        _verify(vault, data.replace(vault.vault_id.encode(), b"another-vault"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not well-formed XML"),
        (b"<Other/>", "this is not an srp vault credentials file (root <Other>, version None)"),
        (b'<VaultCredentials version="1"/>', "the credentials file has no VaultId"),
        (b"x" * (MAX_FILE_BYTES + 1), f"over the {MAX_FILE_BYTES} a genuine one can be"),
        (b"<!doctype x><x/>", "declares a DOCTYPE or entities"),
    ],
)
def test_malformed_files_are_credentials_errors(vault: Vault, data: bytes, message: str) -> None:
    with pytest.raises(CredentialsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _verify(vault, data)


def test_signature_must_be_64_bytes_of_base64(vault: Vault) -> None:
    data = issue_credentials(vault, now=NOW)
    start = data.index(b'algorithm="Ed25519">') + len(b'algorithm="Ed25519">')
    end = data.index(b"</Signature>")
    with pytest.raises(CredentialsError, match="signature is not base64"):
        _verify(vault, data[:start] + b"!!!" + data[end:])
    with pytest.raises(CredentialsError, match="signature is not 64 bytes long"):
        _verify(vault, data[:start] + b"AAAA" + data[end:])


def test_a_field_given_twice_is_refused(vault: Vault) -> None:
    data = issue_credentials(vault, now=NOW)
    doubled = data.replace(b"<IssuedAt>", b"<IssuedAt>x</IssuedAt><IssuedAt>", 1)
    with pytest.raises(CredentialsError, match="names IssuedAt twice"):
        _verify(vault, doubled)
