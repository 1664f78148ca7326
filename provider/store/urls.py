"""Database URLs: which ones srp accepts, their canonical form, and how to show them.

A URL is shown in messages and logs only through :func:`masked`, so a
password in ``SRP_DATABASE_URL`` never reaches a terminal or a log file.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from provider.errors import ConfigurationError

#: Scheme as written -> the driver srp uses for it (psycopg 3 for PostgreSQL).
_DRIVERS = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}
#: ``scheme://user:password@`` in a URL that may not even parse.
_PASSWORD = re.compile(r"(?P<head>://[^:/@]*:)[^@]*@")


def masked(url: str | URL) -> str:
    """The URL with its password replaced by ``***``, parseable or not."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return _PASSWORD.sub(r"\g<head>***@", url)


def parse_database_url(text: str) -> URL:
    """Parse and canonicalise a database URL, or raise ConfigurationError.

    ``postgresql://`` becomes ``postgresql+psycopg://``: psycopg 3 is the one
    PostgreSQL driver srp ships with.
    """
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise ConfigurationError(
            f"database URL {masked(text)!r} is malformed: {exc}",
            hint="use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
        ) from exc
    driver = _DRIVERS.get(url.drivername)
    if driver is None:
        raise ConfigurationError(
            f"database URL {masked(text)!r} uses {url.drivername!r}, which srp does not support",
            hint="use sqlite, postgresql or postgresql+psycopg",
        )
    return url.set(drivername=driver)


def is_sqlite(url: URL) -> bool:
    """True for a SQLite URL (file or memory)."""
    return url.get_backend_name() == "sqlite"
