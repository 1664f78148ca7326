"""The CX API's XML on the server side: parse a ``Request``, build a ``Response``.

Parameters travel as ``<Parameter Name Value/>`` and nested
``<ParameterGroup Id>`` elements; here both directions use :class:`Group`.
The parser is hardened like the client's: no entities, no DTD, no network,
and a document with a DOCTYPE is refused outright.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from fakes.inmage import codes

VERSION = "1.0"
AUTH_METHOD = "ComponentAuth_V2015_01"


class WireError(Exception):
    """A request refused before any function runs."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Group:
    """A ``ParameterGroup`` (or a function's body): parameters and nested groups."""

    id: str
    params: tuple[tuple[str, str], ...] = ()
    groups: tuple[Group, ...] = ()

    def param(self, name: str, default: str = "") -> str:
        for key, value in self.params:
            if key == name:
                return value
        return default

    def group(self, group_id: str) -> Group:
        """The nested group with this id (an empty group when absent)."""
        for group in self.groups:
            if group.id == group_id:
                return group
        return Group(group_id)


@dataclass(frozen=True)
class CxRequest:
    request_id: str
    version: str
    function: str
    auth_method: str
    access_key_id: str
    signature: str
    body: Group


def safe_parse(data: bytes) -> etree._Element:
    """Parse untrusted XML; WireError for a DTD or anything malformed."""
    if b"<!doctype" in data.lower() or b"<!entity" in data.lower():
        raise WireError(codes.BAD_REQUEST, "Documents with a DTD are not accepted.")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise WireError(codes.BAD_REQUEST, f"Malformed XML: {exc}") from exc
    return root


def parse_request(data: bytes) -> CxRequest:
    root = safe_parse(data)
    function = root.find("Body/FunctionRequest")
    if root.tag != "Request" or function is None:
        raise WireError(codes.BAD_REQUEST, "Expected Request/Body/FunctionRequest.")
    auth = root.find("Header/Authentication")
    return CxRequest(
        request_id=root.get("Id", ""),
        version=root.get("Version", ""),
        function=function.get("Name", ""),
        auth_method=_text(auth, "AuthMethod"),
        access_key_id=_text(auth, "AccessKeyID"),
        signature=_text(auth, "AccessSignature"),
        body=_group(function, function.get("Name", "")),
    )


def _text(parent: etree._Element | None, tag: str) -> str:
    found = parent.find(tag) if parent is not None else None
    return (found.text or "").strip() if found is not None else ""


def _group(element: etree._Element, group_id: str) -> Group:
    params = tuple(
        (p.get("Name", ""), p.get("Value", "")) for p in element.iterchildren("Parameter")
    )
    groups = tuple(_group(g, g.get("Id", "")) for g in element.iterchildren("ParameterGroup"))
    return Group(group_id, params, groups)


def response(request: CxRequest, code: str, message: str, result: Group | None) -> bytes:
    """A ``Response`` with one ``Function`` element carrying the result (or the error)."""
    root = _response_root(request.request_id, request.version or VERSION, codes.SUCCESS, "Success")
    function = etree.SubElement(etree.SubElement(root, "Body"), "Function")
    function.attrib.update(
        {"Name": request.function, "Id": request.request_id, "Returncode": code, "Message": message}
    )
    if result is not None:
        _fill(etree.SubElement(function, "FunctionResponse"), result)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def failed_response(request_id: str, code: str, message: str) -> bytes:
    """A ``Response`` refused as a whole (authentication, malformed request)."""
    root = _response_root(request_id, VERSION, code, message)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _response_root(request_id: str, version: str, code: str, message: str) -> etree._Element:
    root = etree.Element("Response")
    root.attrib.update(
        {"ID": request_id, "Version": version, "Returncode": code, "Message": message}
    )
    return root


def _fill(element: etree._Element, group: Group) -> None:
    for name, value in group.params:
        etree.SubElement(element, "Parameter", Name=name, Value=value)
    for child in group.groups:
        _fill(etree.SubElement(element, "ParameterGroup", Id=child.id), child)
