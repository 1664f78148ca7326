"""``srp vault``: create the vault and manage its API tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from provider.cli import output
from provider.settings import Settings
from provider.store.vaultstore import VaultStore
from provider.vault.setup import init_vault

vault_app = typer.Typer(help="Create and manage the vault.", no_args_is_help=True)


@vault_app.command("init")
def init(
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing vault (its secrets are lost).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create the vault in SRP_HOME: keys, database, and a first API token (shown once)."""
    settings = Settings.from_env()
    with VaultStore.open(settings) as store:
        created = init_vault(store, settings.home, force=force)
    record = {
        "vault_id": created.vault_id,
        "home": str(settings.home),
        "database": store.where,
        "api_token": created.token.token.reveal(),
    }
    output.emit_object(record, as_json=as_json)
    if not as_json:
        output.stderr.print("Keep the API token: it is shown only once.", highlight=False)
