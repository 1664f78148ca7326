"""``srp serve``: run the provider service (REST API + scheduler) over the vault."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provider.cli import output
from provider.service.runtime import DEFAULT_HOST, DEFAULT_PORT, Listen, ServiceRuntime
from provider.settings import Settings


def serve(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = (
        DEFAULT_HOST
    ),
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.", min=0, max=65535)] = (
        DEFAULT_PORT
    ),
    cert: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).")] = None,
    key: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    ca: Annotated[
        Path | None, typer.Option(help="CA clients should trust (default: the certificate).")
    ] = None,
) -> None:
    """Serve the REST API and run the scheduler until SIGTERM or Ctrl-C."""
    runtime = ServiceRuntime(Settings.from_env(), Listen(host, port, cert, key, ca))
    runtime.run(announce=lambda url: output.stderr.print(f"srp service on {url}", highlight=False))
