"""``srp mapping network|storage add/list/remove``, through the service."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer

from provider.cli import output
from provider.cli.client import ServiceClient, path
from provider.cli.formats import JsonOption

mapping_app = typer.Typer(help="Network and storage mappings.", no_args_is_help=True)
network_app = typer.Typer(help="Where source networks land on a target.", no_args_is_help=True)
storage_app = typer.Typer(help="Where source storage lands on a target.", no_args_is_help=True)
mapping_app.add_typer(network_app, name="network")
mapping_app.add_typer(storage_app, name="storage")

Fabric = Annotated[str, typer.Option(help="Source fabric (name or id).")]
Target = Annotated[str, typer.Option(help="Target name.")]


@network_app.command("add")
def add_network(
    source: Annotated[str, typer.Argument(help="Source network (id or name).")],
    target_network: Annotated[str, typer.Argument(help="Network on the target.")],
    fabric: Fabric,
    target: Target,
    ip_policy: Annotated[str, typer.Option(help="keep, assign or static.")] = "keep",
    static_subnet: Annotated[str, typer.Option(help="Subnet for static IPs.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Map a source network to a target network (replacing an earlier mapping)."""
    body = {
        "fabric": fabric,
        "source_network": source,
        "target": target,
        "target_network": target_network,
        "ip_policy": ip_policy,
        "static_subnet": static_subnet,
    }
    with ServiceClient.from_env() as client:
        output.emit_object(client.post("/mappings/networks", body), as_json=as_json)


@network_app.command("list")
def list_networks(
    target: Annotated[str | None, typer.Option(help="Only this target's.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Network mappings."""
    with ServiceClient.from_env() as client:
        rows = client.get("/mappings/networks", params={"target": target} if target else None)
    columns = ["source_fabric", "source_network", "target", "target_network", "ip_policy"]
    output.emit(rows, columns, as_json=as_json, title="network mappings")


@network_app.command("remove")
def remove_network(source: str, fabric: Fabric, target: Target) -> None:
    """Remove a network mapping."""
    with ServiceClient.from_env() as client:
        client.delete(path("mappings", "networks", fabric, source, target))
    output.stdout.print(f"network mapping of {source} to {target} removed", highlight=False)


@storage_app.command("add")
def add_storage(
    source: Annotated[str, typer.Argument(help="Source storage (datastore, CSV...).")],
    target_storage: Annotated[str, typer.Argument(help="Storage on the target.")],
    fabric: Fabric,
    target: Target,
    as_json: JsonOption = False,
) -> None:
    """Map source storage to target storage."""
    body = {
        "fabric": fabric,
        "source_storage": source,
        "target": target,
        "target_storage": target_storage,
    }
    with ServiceClient.from_env() as client:
        output.emit_object(client.post("/mappings/storage", body), as_json=as_json)


@storage_app.command("list")
def list_storage(as_json: JsonOption = False) -> None:
    """Storage mappings."""
    with ServiceClient.from_env() as client:
        rows = client.get("/mappings/storage")
    columns = ["source_fabric", "source_storage", "target", "target_storage"]
    output.emit(rows, columns, as_json=as_json, title="storage mappings")


@storage_app.command("remove")
def remove_storage(source: str, fabric: Fabric, target: Target) -> None:
    """Remove a storage mapping."""
    with ServiceClient.from_env() as client:
        # The source storage may hold "/" (a datastore path): it is sent last, as a path.
        client.delete(path("mappings", "storage", fabric, target) + "/" + quote(source, safe="/"))
    output.stdout.print(f"storage mapping of {source} to {target} removed", highlight=False)
