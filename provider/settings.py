"""Process-wide settings, read from the environment once and validated.

``SRP_HOME`` holds the vault's master key and, by default, its SQLite
database; ``SRP_DATABASE_URL`` points the vault at another database.
Problems are reported when the settings are read, naming the path or the
(password-masked) URL and the reason, not later as an obscure SQL failure.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from provider.errors import ConfigurationError
from provider.store.urls import masked, parse_database_url

DEFAULT_HOME = "~/.srp"
DATABASE_FILE = "vault.db"


@dataclass(frozen=True)
class Settings:
    """Where the vault lives."""

    home: Path
    database_url: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Settings from ``SRP_HOME`` and ``SRP_DATABASE_URL``, validated."""
        home = Path(environ.get("SRP_HOME") or DEFAULT_HOME).expanduser()
        prepare_home(home)
        default_url = f"sqlite:///{home / DATABASE_FILE}"
        url = parse_database_url(environ.get("SRP_DATABASE_URL") or default_url)
        return cls(home=home, database_url=url.render_as_string(hide_password=False))

    @property
    def url(self) -> URL:
        """The parsed database URL."""
        return parse_database_url(self.database_url)

    def __repr__(self) -> str:
        # A PostgreSQL password must not show in a traceback or a debug print.
        return f"Settings(home={str(self.home)!r}, database_url={masked(self.url)!r})"


def prepare_home(home: Path) -> None:
    """Create ``home`` (mode 0700) when missing; refuse one srp cannot write."""
    if home.exists() and not home.is_dir():
        raise ConfigurationError(f"SRP_HOME {str(home)!r} is not a directory")
    try:
        # 0700: the master key lives here; nobody else needs to list it.
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"SRP_HOME {str(home)!r} cannot be created: {exc.strerror or exc}"
        ) from exc
    if not os.access(home, os.W_OK | os.X_OK):
        raise ConfigurationError(
            f"SRP_HOME {str(home)!r} is not writable by this user",
            hint="fix its permissions or point SRP_HOME elsewhere",
        )
