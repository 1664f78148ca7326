"""Settings from the environment: defaults, validation, masked passwords."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from provider.errors import ConfigurationError
from provider.settings import Settings


def test_defaults_put_the_vault_under_the_home_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = Settings.from_env({})
    assert settings.home == tmp_path / ".srp"
    assert settings.database_url == f"sqlite:///{tmp_path}/.srp/vault.db"
    assert stat.S_IMODE((tmp_path / ".srp").stat().st_mode) == 0o700


def test_srp_home_is_created_private(tmp_path: Path) -> None:
    home = tmp_path / "a" / "b"
    settings = Settings.from_env({"SRP_HOME": str(home)})
    assert settings.home == home
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert settings.database_url == f"sqlite:///{home}/vault.db"


def test_postgresql_url_is_mapped_to_psycopg(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"SRP_HOME": str(tmp_path), "SRP_DATABASE_URL": "postgresql://srp:pw@db:5432/srp"}
    )
    assert settings.database_url == "postgresql+psycopg://srp:pw@db:5432/srp"
    assert repr(settings) == (
        f"Settings(home={str(tmp_path)!r}, database_url='postgresql+psycopg://srp:***@db:5432/srp')"
    )


def test_home_that_is_a_file_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "file"
    home.write_text("x")
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"SRP_HOME": str(home)})
    assert str(caught.value) == f"SRP_HOME {str(home)!r} is not a directory"


def test_home_that_cannot_be_created_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    home = tmp_path / "file" / "home"
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"SRP_HOME": str(home)})
    assert str(caught.value) == f"SRP_HOME {str(home)!r} cannot be created: Not a directory"


def test_home_that_is_not_writable_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests may run as root, for whom every directory is writable: fake the check.
    monkeypatch.setattr("provider.settings.os.access", lambda path, mode: False)
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"SRP_HOME": str(tmp_path)})
    assert str(caught.value) == (
        f"SRP_HOME {str(tmp_path)!r} is not writable by this user "
        "(fix its permissions or point SRP_HOME elsewhere)"
    )


def test_malformed_url_is_refused_with_its_password_masked(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(
            {"SRP_HOME": str(tmp_path), "SRP_DATABASE_URL": "postgresql://srp:hunter2@db:port/x"}
        )
    assert "hunter2" not in str(caught.value)
    assert str(caught.value) == (
        "database URL 'postgresql://srp:***@db:port/x' is malformed: "
        "invalid literal for int() with base 10: 'port' "
        "(use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE)"
    )


def test_unparseable_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"SRP_HOME": str(tmp_path), "SRP_DATABASE_URL": "not a url"})
    assert str(caught.value).startswith("database URL 'not a url' is malformed: ")


def test_unsupported_scheme_is_refused_with_its_password_masked(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(
            {"SRP_HOME": str(tmp_path), "SRP_DATABASE_URL": "mysql://root:s3cret@db/srp"}
        )
    assert str(caught.value) == (
        "database URL 'mysql://root:***@db/srp' uses 'mysql', which srp does not support "
        "(use sqlite, postgresql or postgresql+psycopg)"
    )
