"""API tokens as stored: a SHA-256 digest, never the token itself."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from provider.errors import AlreadyExists, NotFound
from provider.model.checks import require_id, require_text
from provider.store.schema import api_tokens


@dataclass(frozen=True)
class TokenRecord:
    """One API token's stored facts."""

    token_id: str
    name: str
    digest: bytes
    created_at: float
    revoked: bool = False
    revoked_at: float | None = None

    def __post_init__(self) -> None:
        require_id("TokenRecord", "token_id", self.token_id)
        require_text("TokenRecord", "name", self.name)

    def __repr__(self) -> str:
        # The digest is not the token, but it is of no use in a log line either.
        return (
            f"TokenRecord(token_id={self.token_id!r}, name={self.name!r}, revoked={self.revoked})"
        )


class TokenRepository:
    """Tokens by id, live name or digest."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, record: TokenRecord) -> None:
        """AlreadyExists when a live token already has this name."""
        if self.live_by_name(record.name) is not None:
            raise AlreadyExists(f"an API token named {record.name!r} already exists")
        self._db.execute(insert(api_tokens).values(**vars(record)))

    def by_digest(self, digest: bytes) -> TokenRecord | None:
        return self._first(api_tokens.c.digest == digest)

    def live_by_name(self, name: str) -> TokenRecord | None:
        return self._first((api_tokens.c.name == name) & (api_tokens.c.revoked.is_(False)))

    def get(self, name_or_id: str) -> TokenRecord:
        """By id, else the live token of that name; NotFound otherwise."""
        record = self._first(api_tokens.c.token_id == name_or_id) or self.live_by_name(name_or_id)
        if record is None:
            raise NotFound(f"no API token with the id or name {name_or_id!r}")
        return record

    def list(self) -> list[TokenRecord]:
        query = select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.token_id)
        return [_record(row) for row in self._db.execute(query).mappings()]

    def revoke(self, token_id: str, when: float) -> None:
        self._db.execute(
            update(api_tokens)
            .where(api_tokens.c.token_id == token_id, api_tokens.c.revoked.is_(False))
            .values(revoked=True, revoked_at=when)
        )

    def revoke_all(self, when: float) -> int:
        """Revoke every live token; returns how many."""
        result = self._db.execute(
            update(api_tokens)
            .where(api_tokens.c.revoked.is_(False))
            .values(revoked=True, revoked_at=when)
        )
        return int(result.rowcount)

    def _first(self, condition: ColumnElement[bool]) -> TokenRecord | None:
        row = self._db.execute(select(api_tokens).where(condition)).mappings().first()
        return None if row is None else _record(row)


def _record(row: RowMapping) -> TokenRecord:
    return TokenRecord(
        token_id=row["token_id"],
        name=row["name"],
        digest=bytes(row["digest"]),
        created_at=row["created_at"],
        revoked=bool(row["revoked"]),
        revoked_at=row["revoked_at"],
    )
