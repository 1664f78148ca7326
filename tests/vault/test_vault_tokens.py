"""API tokens: shown once, stored as a digest, verified, revoked, listed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from provider.errors import AlreadyExists, CredentialsError, NotFound, ValidationError
from provider.store import VaultStore
from provider.vault import ApiTokens, TokenInfo


class Ticker:
    """A clock that moves one second per reading."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_create_verify_and_list(store: VaultStore) -> None:
    tokens = ApiTokens(store, clock=Ticker())
    issued = tokens.create_token("ci")
    assert issued.info == TokenInfo(issued.info.token_id, "ci", 1001.0)
    assert tokens.verify_token(issued.token.reveal()) == issued.info
    assert tokens.verify_token(issued.token) == issued.info
    assert tokens.list_tokens() == [issued.info]
    assert "srp_" not in repr(issued)


def test_only_the_digest_is_stored(store: VaultStore) -> None:
    issued = ApiTokens(store).create_token("ci")
    with store.read() as tx:
        (record,) = tx.tokens.list()
    assert record.digest == hashlib.sha256(issued.token.reveal().encode()).digest()


def test_the_database_file_holds_no_token(tmp_path: Path) -> None:
    with VaultStore.open(f"sqlite:///{tmp_path / 'vault.db'}") as store:
        token = ApiTokens(store).create_token("ci-token-name").token.reveal()
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("vault.db*"))
    assert b"ci-token-name" in stored
    assert token.encode() not in stored


def test_unknown_and_forged_tokens_are_refused(store: VaultStore) -> None:
    tokens = ApiTokens(store)
    issued = tokens.create_token("ci").token.reveal()
    for forged in (issued[:-1] + ("A" if issued[-1] != "A" else "B"), "srp_nope", "", "x" * 5000):
        with pytest.raises(CredentialsError) as caught:
            tokens.verify_token(forged)
        assert str(caught.value) == "the API token is not known to this vault"


def test_revoke_by_name_or_id(store: VaultStore) -> None:
    tokens = ApiTokens(store, clock=Ticker())
    ci = tokens.create_token("ci")
    ops = tokens.create_token("ops")
    revoked = tokens.revoke_token("ci")
    assert revoked == TokenInfo(ci.info.token_id, "ci", 1001.0, True, 1003.0)
    with pytest.raises(CredentialsError) as caught:
        tokens.verify_token(ci.token)
    assert str(caught.value) == "the API token 'ci' was revoked"
    assert tokens.revoke_token(ops.info.token_id).revoked
    assert [t.revoked for t in tokens.list_tokens()] == [True, True]
    with pytest.raises(NotFound) as missing:
        tokens.revoke_token("ci")
    assert str(missing.value) == "no API token with the id or name 'ci'"


def test_names_are_unique_among_live_tokens(store: VaultStore) -> None:
    tokens = ApiTokens(store)
    tokens.create_token("ci")
    with pytest.raises(AlreadyExists) as caught:
        tokens.create_token("ci")
    assert str(caught.value) == "an API token named 'ci' already exists"
    tokens.revoke_token("ci")
    again = tokens.create_token("ci")
    assert tokens.verify_token(again.token).name == "ci"


def test_a_token_needs_a_name(store: VaultStore) -> None:
    with pytest.raises(ValidationError) as caught:
        ApiTokens(store).create_token("  ")
    assert str(caught.value) == "API token: name must be a non-empty text, got '  '"
