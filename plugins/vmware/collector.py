"""Every VM's properties in a bounded number of JSON API calls: a container view, paged.

``ViewManager.CreateContainerView`` over the root folder (recursive, type
``VirtualMachine``), then ``PropertyCollector.RetrievePropertiesEx`` with
``maxObjects`` and ``ContinueRetrievePropertiesEx`` while a ``token``
comes back, then ``DestroyView``. With a page as large as the inventory that
is four calls whatever the VM count; each further page of ``page_size``
VMs costs one more.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from plugins.vmware.client import VSphereClient
from plugins.vmware.vim import moref
from provider.errors import FabricError, HostileResponse


@dataclass(frozen=True)
class ObjectProperties:
    """One managed object's collected properties, unboxed (``_value`` taken out)."""

    moid: str
    values: dict[str, Any]

    def get(self, path: str, default: Any = None) -> Any:
        return self.values.get(path, default)


def collect_vms(
    client: VSphereClient, root_folder: str, paths: Sequence[str], page_size: int
) -> Iterator[ObjectProperties]:
    """The ``paths`` of every VM under ``root_folder``, page by page."""
    view = _create_view(client, root_folder)
    try:
        spec = _filter_spec(view, paths)
        result = client.vim_invoke(
            "collect VM properties",
            "PropertyCollector",
            "propertyCollector",
            "RetrievePropertiesEx",
            {
                "specSet": [spec],
                "options": {"_typeName": "RetrieveOptions", "maxObjects": page_size},
            },
        )
        while True:
            yield from _objects(result)
            token = result.get("token") if isinstance(result, dict) else None
            if not token:
                return
            result = client.vim_invoke(
                "collect more VM properties",
                "PropertyCollector",
                "propertyCollector",
                "ContinueRetrievePropertiesEx",
                {"token": token},
            )
    finally:
        _destroy_view(client, view)


def _create_view(client: VSphereClient, root_folder: str) -> str:
    body = {
        "container": moref("Folder", root_folder),
        "type": ["VirtualMachine"],
        "recursive": True,
    }
    ref = client.vim_invoke(
        "create a view of every VM", "ViewManager", "ViewManager", "CreateContainerView", body
    )
    if not isinstance(ref, dict) or not isinstance(ref.get("value"), str):
        raise HostileResponse(f"vCenter {client.vcenter}: CreateContainerView gave no view")
    return str(ref["value"])


def _destroy_view(client: VSphereClient, view: str) -> None:
    # A view left behind dies with the session; failing discovery for it would be worse.
    with contextlib.suppress(FabricError):
        client.vim_invoke("destroy the VM view", "ContainerView", view, "DestroyView", {})


def _filter_spec(view: str, paths: Sequence[str]) -> dict[str, Any]:
    traverse = {
        "_typeName": "TraversalSpec",
        "name": "traverseEntities",
        "type": "ContainerView",
        "path": "view",
        "skip": False,
    }
    return {
        "_typeName": "PropertyFilterSpec",
        "propSet": [
            {"_typeName": "PropertySpec", "type": "VirtualMachine", "pathSet": list(paths)}
        ],
        "objectSet": [
            {
                "_typeName": "ObjectSpec",
                "obj": moref("ContainerView", view),
                "skip": True,
                "selectSet": [traverse],
            }
        ],
    }


def _objects(result: Any) -> Iterator[ObjectProperties]:
    if result is None:
        return  # vCenter answers nothing at all when there is no VM
    objects = result.get("objects") if isinstance(result, dict) else None
    if not isinstance(objects, list):
        raise HostileResponse("RetrievePropertiesEx: the result has no object list")
    for entry in objects:
        ref = entry.get("obj") if isinstance(entry, dict) else None
        props = entry.get("propSet", []) if isinstance(entry, dict) else None
        if not isinstance(ref, dict) or not isinstance(props, list):
            raise HostileResponse("RetrievePropertiesEx: an object lacks its reference")
        yield ObjectProperties(str(ref.get("value")), dict(_unboxed(p) for p in props))


def _unboxed(prop: Any) -> tuple[str, Any]:
    if not isinstance(prop, dict) or not isinstance(prop.get("name"), str):
        raise HostileResponse("RetrievePropertiesEx: a property has no name")
    value = prop.get("val")
    if isinstance(value, dict) and "_value" in value:
        value = value["_value"]
    return prop["name"], value
