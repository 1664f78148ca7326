"""``srp vault``: create the vault and manage its API tokens."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated

import typer

from provider.cli import output
from provider.cli.client import DISCOVERY_FILE, TOKEN_FILE
from provider.cli.formats import when
from provider.errors import ConfigurationError
from provider.settings import Settings
from provider.store.vaultstore import VaultStore
from provider.vault.credentials import DEFAULT_VALID_DAYS, issue_credentials
from provider.vault.setup import init_vault, open_vault
from provider.vault.tokens import ApiTokens, TokenInfo

vault_app = typer.Typer(help="Create and manage the vault.", no_args_is_help=True)


@vault_app.command("init")
def init(
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing vault (its secrets are lost).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    save_token_file: Annotated[
        bool,
        typer.Option(
            "--save-token", help=f"Also write the API token to SRP_HOME/{TOKEN_FILE} (0600)."
        ),
    ] = False,
) -> None:
    """Create the vault in SRP_HOME: keys, database, and a first API token (shown once)."""
    settings = Settings.from_env()
    with VaultStore.open(settings) as store:
        created = init_vault(store, settings.home, force=force)
    if save_token_file:
        save_token(settings.home, created.token.token.reveal())
    record = {
        "vault_id": created.vault_id,
        "home": str(settings.home),
        "database": store.where,
        "api_token": created.token.token.reveal(),
    }
    output.emit_object(record, as_json=as_json)
    if not as_json:
        output.stderr.print("Keep the API token: it is shown only once.", highlight=False)


token_app = typer.Typer(
    help="API tokens of the service (local, on the vault).", no_args_is_help=True
)
vault_app.add_typer(token_app, name="token")

SaveOption = Annotated[
    bool, typer.Option("--save", help=f"Also write the token to SRP_HOME/{TOKEN_FILE} (0600).")
]


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="A name that says who uses the token.")],
    save: SaveOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create an API token; it is shown once (the vault keeps only its hash)."""
    settings = Settings.from_env()
    with VaultStore.open(settings) as store:
        issued = ApiTokens(store).create_token(name)
    if save:
        save_token(settings.home, issued.token.reveal())
    record = {**_token_row(issued.info), "api_token": issued.token.reveal()}
    output.emit_object(record, as_json=as_json)


@token_app.command("list")
def token_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every API token (never the token itself), revoked ones included."""
    with VaultStore.open(Settings.from_env()) as store:
        rows = [_token_row(info) for info in ApiTokens(store).list_tokens()]
    columns = ["token_id", "name", "created", "revoked", "revoked_at"]
    output.emit(rows, columns, as_json=as_json, title="API tokens")


@token_app.command("revoke")
def token_revoke(
    name_or_id: Annotated[str, typer.Argument(help="Token id, or a live token's name.")],
) -> None:
    """Revoke an API token: the service refuses it from the next request on."""
    with VaultStore.open(Settings.from_env()) as store:
        info = ApiTokens(store).revoke_token(name_or_id)
    output.stdout.print(f"API token {info.name} ({info.token_id}) revoked", highlight=False)


@vault_app.command("credentials")
def credentials(
    out: Annotated[Path, typer.Option("--out", help="File to write the credentials to.")],
    valid_days: Annotated[
        float, typer.Option(help="Days the file stays valid.", min=0.01, max=365)
    ] = DEFAULT_VALID_DAYS,
) -> None:
    """Write a signed vault credentials file for `srp register`."""
    settings = Settings.from_env()
    with VaultStore.open(settings) as store:
        vault = open_vault(store, settings.home)
    data = issue_credentials(
        vault, now=time.time(), valid_days=valid_days, service_url=_service_url(settings.home)
    )
    _write_private(out, data)
    output.stderr.print(
        f"vault credentials written to {out} (valid {valid_days:g} days)", highlight=False
    )


def save_token(home: Path, token: str) -> Path:
    """Write the token where the CLI looks for it, readable by its owner only."""
    path = home / TOKEN_FILE
    _write_private(path, f"{token}\n".encode("ascii"))
    return path


def _write_private(path: Path, data: bytes) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise ConfigurationError(f"{path} cannot be written: {exc.strerror or exc}") from exc


def _service_url(home: Path) -> str:
    try:
        record = json.loads((home / DISCOVERY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    url = record.get("url") if isinstance(record, dict) else None
    return url if isinstance(url, str) else ""


def _token_row(info: TokenInfo) -> dict[str, object]:
    return {
        "token_id": info.token_id,
        "name": info.name,
        "created": when(info.created_at),
        "revoked": info.revoked,
        "revoked_at": when(info.revoked_at) if info.revoked_at is not None else None,
    }
