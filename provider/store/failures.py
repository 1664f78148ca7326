"""Database failures mapped into srp's errors at the store boundary."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from provider.errors import StoreError, StoreUnavailable


@contextmanager
def translated(where: str) -> Iterator[None]:
    """Re-raise SQLAlchemy errors as StoreError subclasses naming the vault."""
    try:
        yield
    except IntegrityError as exc:
        raise StoreError(f"the vault at {where} refused a write: {_cause(exc)}") from exc
    except DBAPIError as exc:
        raise StoreUnavailable(
            f"the vault at {where} cannot be opened or written: {_cause(exc)}"
        ) from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"the vault at {where} failed: {exc}") from exc


def _cause(exc: DBAPIError) -> str:
    # The driver's own message, without SQLAlchemy's SQL echo and parameters,
    # which could hold a sealed secret or a token digest.
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
