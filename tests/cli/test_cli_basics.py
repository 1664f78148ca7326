"""The CLI skeleton: version, vault init, plugins list, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from provider import __version__
from provider.cli.app import main


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "srp-home"
    monkeypatch.setenv("SRP_HOME", str(path))
    monkeypatch.delenv("SRP_DATABASE_URL", raising=False)
    monkeypatch.delenv("SRP_DISABLE_PLUGINS", raising=False)
    return path


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"srp {__version__}"


def test_vault_init_creates_keys_and_shows_token_once(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["vault", "init", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["api_token"].startswith("srp_")
    assert (home / "vault.key").exists()
    assert stat.S_IMODE((home / "vault.key").stat().st_mode) == 0o600
    assert shown["api_token"].encode() not in (home / "vault.db").read_bytes()


def test_second_init_refuses_with_one_line_and_exit_7(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["vault", "init"]) == 0
    capsys.readouterr()
    assert main(["vault", "init"]) == 7
    err = capsys.readouterr().err.strip()
    assert err.startswith("srp: error: the vault at ")
    assert "already initialised" in err
    assert "Traceback" not in err


def test_plugins_list_json_shows_builtins_loaded(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plugins", "list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["hyperv"]["status"] == "loaded"
    assert rows["hyperv"]["fabric_kinds"] == ["hyperv"]
    assert rows["hyperv"]["distribution"] == "srp"
    assert rows["cloud"]["target_kinds"] == ["cloud"]
    assert "srp_capture_cut" in rows["hyperv"]["hooks"]


def test_plugins_list_shows_blocked(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SRP_DISABLE_PLUGINS", "hyperv")
    assert main(["plugins", "list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["hyperv"]["status"] == "blocked"
    assert rows["cloud"]["status"] == "loaded"


def test_unknown_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_unwritable_home_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("SRP_HOME", str(blocker))
    assert main(["vault", "init"]) == 4
    err = capsys.readouterr().err
    assert str(blocker) in err
    assert err.count("\n") == 1


def test_malformed_database_url_is_a_configuration_error(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SRP_DATABASE_URL", "mysql://root:hunter2@db/srp")
    assert main(["vault", "init"]) == 4
    err = capsys.readouterr().err
    assert "hunter2" not in err
    assert err.startswith("srp: error:")


def test_debug_shows_the_traceback(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vault", "init"]) == 0
    capsys.readouterr()
    assert main(["--debug", "vault", "init"]) == 7
    assert "Traceback" in capsys.readouterr().err


def test_console_script_runs(home: Path) -> None:
    script = Path(sys.executable).with_name("srp")
    done = subprocess.run(
        [str(script), "plugins", "list"], capture_output=True, text=True, env=os.environ.copy()
    )
    assert done.returncode == 0, done.stderr
    assert "hyperv" in done.stdout
