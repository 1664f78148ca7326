"""``srp register``, ``srp unregister``, ``srp refresh``: fabrics, through the service.

The password comes from an environment variable, a file, or a hidden
prompt; never from a command-line argument, which other users could read in
the process list.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from provider.cli import output
from provider.cli.client import ServiceClient, path
from provider.cli.formats import JsonOption, when
from provider.errors import ConfigurationError, CredentialsError

#: A genuine credentials file is under 1 KiB; never read more than this.
MAX_CREDENTIALS_BYTES = 64 * 1024


def register(
    kind: Annotated[str, typer.Option(help="Fabric kind: hyperv, vmm, vmware, inmage...")],
    address: Annotated[str, typer.Option(help="Host name or address of the fabric.")],
    credentials_file: Annotated[
        Path, typer.Option(help="Vault credentials file from `srp vault credentials`.")
    ],
    username: Annotated[str, typer.Option(help="Account srp connects to the fabric with.")],
    password_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the password.")
    ] = None,
    password_file: Annotated[
        Path | None, typer.Option(help="File holding the password (first line).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Name of the fabric in srp.")] = None,
    option: Annotated[
        list[str] | None, typer.Option(help="Connection option KEY=VALUE (repeatable).")
    ] = None,
    reregister: Annotated[
        bool, typer.Option(help="Replace the credentials of an already registered fabric.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Register a fabric: verify the credentials file, connect, discover, store."""
    body = {
        "kind": kind,
        "address": address,
        "username": username,
        "password": read_password(password_env, password_file),
        "credentials": read_credentials(credentials_file),
        "name": name,
        "options": parse_options(option or []),
        "reregister": reregister,
    }
    with ServiceClient.from_env() as client:
        fabric = client.post("/fabrics", body)
    show_fabric(fabric, as_json=as_json)


def unregister(name: Annotated[str, typer.Argument(help="Fabric name or id.")]) -> None:
    """Unregister a fabric; its protected items are disabled and their state removed."""
    with ServiceClient.from_env() as client:
        result = client.delete(path("fabrics", name))
    stopped = result["stopped"]
    output.stdout.print(f"fabric {result['fabric']} unregistered", highlight=False)
    if not stopped:
        output.stdout.print("no protected item was stopped", highlight=False)
    for item in stopped:
        line = f"stopped protection of {item['machine']} (item {item['item_id']})"
        output.stdout.print(line, highlight=False)
        if item["warning"]:
            output.stderr.print(f"  warning: {item['warning']}", highlight=False)


def refresh(
    name: Annotated[str, typer.Argument(help="Fabric name or id.")], as_json: JsonOption = False
) -> None:
    """Re-discover a fabric's containers, machines and networks."""
    with ServiceClient.from_env() as client:
        show_fabric(client.post(path("fabrics", name, "refresh")), as_json=as_json)


def show_fabric(fabric: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        output.emit_object(fabric, as_json=True)
        return
    keys = ("name", "fabric_id", "kind", "address", "containers", "machines", "networks")
    shown = {key: fabric[key] for key in keys}
    shown["discovered_at"] = when(fabric["discovered_at"])
    output.emit_object(shown, as_json=False)


def read_credentials(path: Path) -> str:
    """The credentials file's text; the service verifies it."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CREDENTIALS_BYTES + 1)
    except OSError as exc:
        raise CredentialsError(f"the credentials file {path} cannot be read: {exc}") from exc
    if len(data) > MAX_CREDENTIALS_BYTES:
        raise CredentialsError(f"{path} is too large to be a vault credentials file")
    return data.decode("utf-8", errors="replace")


def read_password(env: str | None, file: Path | None) -> str:
    """The password from an environment variable, a file, or a hidden prompt."""
    if env and file:
        raise ConfigurationError("give the password with --password-env or --password-file")
    if env:
        if env not in os.environ:
            raise ConfigurationError(f"the environment variable {env} is not set")
        return os.environ[env]
    if file:
        try:
            return file.read_text(encoding="utf-8").splitlines()[0] if file.stat().st_size else ""
        except OSError as exc:
            raise ConfigurationError(f"the password file {file} cannot be read: {exc}") from exc
    return str(typer.prompt("Password", hide_input=True))


def parse_options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigurationError(f"option {pair!r} is not KEY=VALUE")
        options[key] = value
    return options
