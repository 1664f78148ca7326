"""CX API messages on the client side: build a signed ``Request``, read a ``Response``.

Parameters go as ``<Parameter Name Value/>`` and ``<ParameterGroup Id>``
elements, both ways; :class:`Params` is their typed, read-only form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from plugins.inmage import xmlsafe
from plugins.inmage.signature import AUTH_METHOD
from provider.errors import HostileResponse

VERSION = "1.0"
SUCCESS = "0"
AUTH_FAILED = "1001"
NOT_FOUND = "1005"
NOT_ALLOWED = "1006"


@dataclass(frozen=True)
class Params:
    """A ``ParameterGroup`` (or a function's request or response body)."""

    id: str = ""
    params: tuple[tuple[str, str], ...] = ()
    groups: tuple[Params, ...] = ()

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.params:
            if key == name:
                return value
        return default

    def group(self, group_id: str) -> Params:
        """The nested group with this id; an empty group when absent."""
        for group in self.groups:
            if group.id == group_id:
                return group
        return Params(group_id)

    def children(self, group_id: str) -> tuple[Params, ...]:
        """The groups inside the nested group ``group_id`` (a list, in the API's terms)."""
        return self.group(group_id).groups


NO_PARAMS = Params()


def host_list(host_ids: Sequence[str]) -> Params:
    """The ``Hosts`` group of ``HostId`` parameters that functions take."""
    return Params("Hosts", tuple(("HostId", host_id) for host_id in host_ids))


@dataclass(frozen=True)
class Reply:
    """A response: the outer return code and message, and the function's own."""

    code: str
    message: str
    function_code: str = ""
    function_message: str = ""
    body: Params = Params()


def build_request(
    function: str, request_id: str, access_key: str, signature: str, body: Params
) -> bytes:
    root = etree.Element("Request", Id=request_id, Version=VERSION)
    auth = etree.SubElement(etree.SubElement(root, "Header"), "Authentication")
    etree.SubElement(auth, "AuthMethod").text = AUTH_METHOD
    etree.SubElement(auth, "AccessKeyID").text = access_key
    etree.SubElement(auth, "AccessSignature").text = signature
    element = etree.SubElement(etree.SubElement(root, "Body"), "FunctionRequest", Name=function)
    _fill(element, body)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _fill(element: etree._Element, group: Params) -> None:
    for name, value in group.params:
        etree.SubElement(element, "Parameter", Name=name, Value=value)
    for child in group.groups:
        _fill(etree.SubElement(element, "ParameterGroup", Id=child.id), child)


def read_reply(data: bytes, function: str, where: str) -> Reply:
    """Parse a response (hardened); HostileResponse when it is not a CX API response."""
    root = xmlsafe.parse(data, where)
    if root.tag != "Response" or root.get("Returncode") is None:
        raise HostileResponse(f"{where}: the answer is not a CX API Response")
    code, message = root.get("Returncode", ""), root.get("Message", "")
    found = root.find("Body/Function")
    if code != SUCCESS or found is None:
        return Reply(code, message)
    if found.get("Name") != function:
        raise HostileResponse(f"{where}: answered function {found.get('Name')!r}")
    body = found.find("FunctionResponse")
    return Reply(
        code,
        message,
        found.get("Returncode", ""),
        found.get("Message", ""),
        _group(body, "") if body is not None else Params(),
    )


def _group(element: etree._Element, group_id: str) -> Params:
    params = tuple(
        (p.get("Name", ""), p.get("Value", "")) for p in element.iterchildren("Parameter")
    )
    groups = tuple(_group(g, g.get("Id", "")) for g in element.iterchildren("ParameterGroup"))
    return Params(group_id, params, groups)
