"""API tokens: random bearer tokens, stored only as their SHA-256 digest.

A token is ``srp_`` followed by 43 URL-safe characters (256 random bits).
It is shown once, when created; the vault keeps its digest, so a copy of the
database gives no usable token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from provider.contracts.connection import Secret
from provider.errors import CredentialsError
from provider.model.checks import require_text
from provider.store.tokens import TokenRecord
from provider.store.unit import Unit
from provider.store.vaultstore import VaultStore

TOKEN_PREFIX = "srp_"
Clock = Callable[[], float]


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: never the token itself."""

    token_id: str
    name: str
    created_at: float
    revoked: bool = False
    revoked_at: float | None = None


@dataclass(frozen=True)
class IssuedToken:
    """A newly created token: ``token.reveal()`` is its only showing."""

    info: TokenInfo
    token: Secret = field(repr=False)


def digest_of(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def issue_token(tx: Unit, name: str, now: float) -> IssuedToken:
    """Create a token inside an open unit (``srp vault init`` uses this)."""
    require_text("API token", "name", name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = TokenRecord(uuid.uuid4().hex, name, digest_of(token), now)
    tx.tokens.add(record)
    return IssuedToken(_info(record), Secret(token))


class ApiTokens:
    """Create, verify, revoke and list the vault's API tokens."""

    def __init__(self, store: VaultStore, clock: Clock = time.time) -> None:
        self._store = store
        self._clock = clock

    def create_token(self, name: str) -> IssuedToken:
        """A new token; AlreadyExists when a live token has this name."""
        with self._store.unit() as tx:
            return issue_token(tx, name, self._clock())

    def verify_token(self, token: str | Secret) -> TokenInfo:
        """The token's info; CredentialsError when it is unknown or revoked."""
        text = token.reveal() if isinstance(token, Secret) else token
        wanted = digest_of(text)
        with self._store.read() as tx:
            record = tx.tokens.by_digest(wanted)
        # The lookup already matched; compare again in constant time so no
        # code path ever decides on a short-circuit comparison of digests.
        if record is None or not hmac.compare_digest(record.digest, wanted):
            raise CredentialsError("the API token is not known to this vault")
        if record.revoked:
            raise CredentialsError(f"the API token {record.name!r} was revoked")
        return _info(record)

    def revoke_token(self, name_or_id: str) -> TokenInfo:
        """Revoke a token by id or live name; NotFound when there is none."""
        with self._store.unit() as tx:
            record = tx.tokens.get(name_or_id)
            tx.tokens.revoke(record.token_id, self._clock())
            return _info(tx.tokens.get(record.token_id))

    def list_tokens(self) -> list[TokenInfo]:
        """Every token, revoked ones included, oldest first."""
        with self._store.read() as tx:
            return [_info(record) for record in tx.tokens.list()]


def _info(record: TokenRecord) -> TokenInfo:
    return TokenInfo(
        token_id=record.token_id,
        name=record.name,
        created_at=record.created_at,
        revoked=record.revoked,
        revoked_at=record.revoked_at,
    )
