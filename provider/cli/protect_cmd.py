"""``srp protect`` and ``srp disable``: start and stop protecting machines."""

from __future__ import annotations

from typing import Annotated

import typer

from provider.cli import output
from provider.cli.client import ServiceClient, path
from provider.cli.job_cmd import conclude, follow
from provider.cli.register_cmd import parse_options


def protect(
    machines: Annotated[list[str], typer.Argument(help="Machine names or ids.")],
    policy: Annotated[str, typer.Option(help="Replication policy.")],
    target: Annotated[str, typer.Option(help="Replication target.")],
    fabric: Annotated[
        str | None, typer.Option(help="Fabric of the machines (when a name is ambiguous).")
    ] = None,
    group: Annotated[
        str, typer.Option(help="Replication group: its machines share recovery points.")
    ] = "",
    wait: Annotated[
        bool, typer.Option(help="Show initial replication's progress until it ends.")
    ] = False,
    option: Annotated[
        list[str] | None,
        typer.Option(help="Protection option KEY=VALUE for a native target (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Protect machines; initial replication runs as a job (watch it with --wait)."""
    body: dict[str, object] = {
        "machines": machines,
        "policy": policy,
        "target": target,
        "fabric": fabric,
        "group": group,
        "options": parse_options(option or []),
    }
    with ServiceClient.from_env() as client:
        answer = client.post("/items", body)
        if as_json and not wait:
            output.emit_object(answer, as_json=True)
            return
        for item in answer["items"]:
            line = f"protecting {item['machine']} as item {item['item_id']}"
            output.stderr.print(line, highlight=False)
        output.stderr.print(f"initial replication: job {answer['job_id']}", highlight=False)
        if wait:
            job = follow(client, answer["job_id"], quiet=as_json)
            if as_json:
                output.emit_object(job, as_json=True)
            conclude(job)


def disable(item: Annotated[str, typer.Argument(help="Protected item id.")]) -> None:
    """Stop protecting a machine: tracking off, its recovery points removed."""
    with ServiceClient.from_env() as client:
        result = client.post(path("items", item, "disable"))
    output.stdout.print(f"protection of {result['machine']} disabled", highlight=False)
    if result["warning"]:
        output.stderr.print(f"warning: {result['warning']}", highlight=False)
