"""``srp fabric list/show`` and ``srp machine list``, through the service."""

from __future__ import annotations

from typing import Annotated

import typer

from provider.cli import output
from provider.cli.client import ServiceClient, path
from provider.cli.formats import JsonOption, when
from provider.cli.register_cmd import show_fabric

fabric_app = typer.Typer(help="Registered fabrics and their inventory.", no_args_is_help=True)
machine_app = typer.Typer(help="Discovered machines.", no_args_is_help=True)


@fabric_app.command("list")
def list_fabrics(as_json: JsonOption = False) -> None:
    """Every registered fabric, with what discovery found on it."""
    with ServiceClient.from_env() as client:
        rows = client.get("/fabrics")
    for row in rows:
        row["discovered"] = when(row["discovered_at"])
    columns = ["name", "kind", "address", "containers", "machines", "networks", "discovered"]
    output.emit(rows, columns, as_json=as_json, title="fabrics")


@fabric_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Fabric name or id.")], as_json: JsonOption = False
) -> None:
    """One fabric with its containers, machines and networks."""
    with ServiceClient.from_env() as client:
        fabric = client.get(path("fabrics", name))
    if as_json:
        output.emit_object(fabric, as_json=True)
        return
    inventory = fabric.pop("inventory")
    show_fabric(fabric, as_json=False)
    output.emit(
        inventory["containers"], ["container_id", "name", "kind"], as_json=False, title="containers"
    )
    machines = [
        {**m, "disks": len(m["disks"]), "nics": len(m["nics"])} for m in inventory["machines"]
    ]
    columns = ["name", "machine_id", "power_state", "disks", "nics"]
    output.emit(machines, columns, as_json=False, title="machines")
    output.emit(
        inventory["networks"], ["network_id", "name", "kind"], as_json=False, title="networks"
    )


@machine_app.command("list")
def list_machines(
    fabric: Annotated[str | None, typer.Option(help="Only this fabric's machines.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Discovered machines with their protection state."""
    with ServiceClient.from_env() as client:
        rows = client.get("/machines", params={"fabric": fabric} if fabric else None)
    columns = ["fabric", "name", "power_state", "disks", "capacity_bytes", "state", "item_id"]
    output.emit(rows, columns, as_json=as_json, title="machines")
