"""SOAP 1.2 envelopes of WS-Management: a hardened reader and the answers' writer.

Requests are parsed by lxml with entity resolution, network access, DTD
loading and huge trees all off, and any document carrying a DTD is refused
outright (Windows' WinRM refuses them too), so entity-expansion and
external-entity bodies never expand. Answers are built with the prefixes a
Windows host uses (``s:``, ``a:``, ``w:``, ``rsp:``, ``x:``), which is what
pywinrm's element searches expect.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from fakes.winrm import protocol_faults
from fakes.winrm.protocol_faults import FaultDetail

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
ADDRESSING = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
MS_WSMAN = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
WSMAN_FAULT = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
XML_NS = "http://www.w3.org/XML/1998/namespace"

NSMAP = {"s": SOAP12, "a": ADDRESSING, "x": TRANSFER, "w": WSMAN, "p": MS_WSMAN, "rsp": SHELL}

ACTION_CREATE = f"{TRANSFER}/Create"
ACTION_DELETE = f"{TRANSFER}/Delete"
ACTION_COMMAND = f"{SHELL}/Command"
ACTION_RECEIVE = f"{SHELL}/Receive"
ACTION_SIGNAL = f"{SHELL}/Signal"
ACTION_FAULT = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
ANONYMOUS = f"{ADDRESSING}/role/anonymous"
SHELL_RESOURCE_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
STATE_DONE = f"{SHELL}/CommandState/Done"
STATE_RUNNING = f"{SHELL}/CommandState/Running"
SIGNAL_CODES = frozenset(f"{SHELL}/signal/{name}" for name in ("terminate", "ctrl_c", "ctrl_break"))

_DTD_REFUSED = "A DTD is not allowed in a WS-Management request."
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")


@dataclass(frozen=True)
class Envelope:
    """The parts of a request envelope the fake host acts on."""

    action: str
    message_id: str
    resource_uri: str
    shell_id: str | None
    operation_timeout: float | None
    max_envelope_size: int | None
    body: etree._Element | None


@dataclass(frozen=True)
class StreamChunk:
    """One ``rsp:Stream`` element: raw bytes (base64 on the wire) of one stream."""

    name: str
    data: bytes
    end: bool = False


def _q(prefix: str, local: str) -> str:
    return f"{{{NSMAP[prefix]}}}{local}"


def _hardened_parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parser objects must not be shared across threads.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_envelope(data: bytes) -> Envelope:
    """Read a request envelope; :class:`WsmanFault` when it is not a safe SOAP 1.2 one."""
    root = _parse_document(data)
    header = root.find(_q("s", "Header"))
    if header is None:
        raise protocol_faults.invalid_xml("The envelope has no s:Header.")
    return Envelope(
        action=_required_text(header, "a", "Action"),
        message_id=_required_text(header, "a", "MessageID"),
        resource_uri=_text(header, "w", "ResourceURI") or "",
        shell_id=_shell_selector(header),
        operation_timeout=parse_duration(_text(header, "w", "OperationTimeout")),
        max_envelope_size=_int_or_none(_text(header, "w", "MaxEnvelopeSize")),
        body=_first_body_child(root),
    )


def _parse_document(data: bytes) -> etree._Element:
    # Refused before libxml2 sees it, so no DTD (internal subset or external) is ever
    # processed; the docinfo check below catches encodings where this byte scan is blind.
    if b"<!DOCTYPE" in data:
        raise protocol_faults.invalid_xml(_DTD_REFUSED)
    try:
        root = etree.fromstring(data, _hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise protocol_faults.invalid_xml(f"The request is not well-formed XML: {exc}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None:  # set by any DOCTYPE, with or without a subset
        raise protocol_faults.invalid_xml(_DTD_REFUSED)
    if root.tag != _q("s", "Envelope"):
        raise protocol_faults.invalid_xml("The root element is not a SOAP 1.2 s:Envelope.")
    return root


def _text(parent: etree._Element, prefix: str, local: str) -> str | None:
    node = parent.find(_q(prefix, local))
    if node is None or node.text is None:
        return None
    return node.text.strip()


def _required_text(parent: etree._Element, prefix: str, local: str) -> str:
    value = _text(parent, prefix, local)
    if not value:
        raise protocol_faults.invalid_xml(f"The envelope has no {prefix}:{local} header.")
    return value


def _shell_selector(header: etree._Element) -> str | None:
    for selector in header.iterfind(f"{_q('w', 'SelectorSet')}/{_q('w', 'Selector')}"):
        if selector.get("Name") == "ShellId" and selector.text:
            return selector.text.strip()
    return None


def _first_body_child(root: etree._Element) -> etree._Element | None:
    body = root.find(_q("s", "Body"))
    if body is None:
        return None
    return next(iter(body.iterchildren(tag=etree.Element)), None)


def _int_or_none(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None


def parse_duration(text: str | None) -> float | None:
    """Seconds of an ``xs:duration`` such as ``PT20S`` or ``PT1M30.5S``; ``None`` if unreadable."""
    match = _DURATION.match(text or "")
    if match is None or not any(match.groups()):
        return None
    hours, minutes, seconds = (float(group or 0) for group in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def body_text(body: etree._Element, prefix: str, local: str) -> tuple[str, ...]:
    """The texts of every direct child ``prefix:local`` of a body element."""
    return tuple((node.text or "") for node in body.iterfind(_q(prefix, local)))


def qualified(prefix: str, local: str) -> str:
    """Clark notation (``{uri}local``) of a prefixed name of :data:`NSMAP`."""
    return _q(prefix, local)


# Answers ---------------------------------------------------------------------------------


def _envelope(action: str, relates_to: str | None) -> tuple[etree._Element, etree._Element]:
    root = etree.Element(_q("s", "Envelope"), nsmap=NSMAP)
    root.set(f"{{{XML_NS}}}lang", "en-US")
    header = etree.SubElement(root, _q("s", "Header"))
    etree.SubElement(header, _q("a", "Action")).text = action
    etree.SubElement(header, _q("a", "MessageID")).text = f"uuid:{str(uuid.uuid4()).upper()}"
    etree.SubElement(header, _q("a", "To")).text = ANONYMOUS
    if relates_to is not None:
        etree.SubElement(header, _q("a", "RelatesTo")).text = relates_to
    return root, etree.SubElement(root, _q("s", "Body"))


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, encoding="utf-8", xml_declaration=False)


def resource_created(relates_to: str, address: str, shell_id: str) -> bytes:
    """Answer to ``transfer/Create``: the new shell's end point reference."""
    root, body = _envelope(f"{ACTION_CREATE}Response", relates_to)
    created = etree.SubElement(body, _q("x", "ResourceCreated"))
    etree.SubElement(created, _q("a", "Address")).text = address
    parameters = etree.SubElement(created, _q("a", "ReferenceParameters"))
    etree.SubElement(parameters, _q("w", "ResourceURI")).text = SHELL_RESOURCE_URI
    selectors = etree.SubElement(parameters, _q("w", "SelectorSet"))
    selector = etree.SubElement(selectors, _q("w", "Selector"), Name="ShellId")
    selector.text = shell_id
    return _serialize(root)


def command_response(relates_to: str, command_id: str) -> bytes:
    """Answer to ``shell/Command``: the id the client then receives output for."""
    root, body = _envelope(f"{ACTION_COMMAND}Response", relates_to)
    response = etree.SubElement(body, _q("rsp", "CommandResponse"))
    etree.SubElement(response, _q("rsp", "CommandId")).text = command_id
    return _serialize(root)


def receive_response(
    relates_to: str, command_id: str, chunks: Sequence[StreamChunk], exit_code: int | None
) -> bytes:
    """Answer to ``shell/Receive``: output chunks, then ``Done`` with the exit code when over."""
    root, body = _envelope(f"{ACTION_RECEIVE}Response", relates_to)
    response = etree.SubElement(body, _q("rsp", "ReceiveResponse"))
    for chunk in chunks:
        stream = etree.SubElement(response, _q("rsp", "Stream"), Name=chunk.name)
        stream.set("CommandId", command_id)
        if chunk.end:
            stream.set("End", "true")
        stream.text = base64.b64encode(chunk.data).decode("ascii")
    state = STATE_RUNNING if exit_code is None else STATE_DONE
    command_state = etree.SubElement(response, _q("rsp", "CommandState"), CommandId=command_id)
    command_state.set("State", state)
    if exit_code is not None:
        etree.SubElement(command_state, _q("rsp", "ExitCode")).text = str(exit_code)
    return _serialize(root)


def signal_response(relates_to: str) -> bytes:
    """Answer to ``shell/Signal``."""
    root, body = _envelope(f"{ACTION_SIGNAL}Response", relates_to)
    etree.SubElement(body, _q("rsp", "SignalResponse"))
    return _serialize(root)


def delete_response(relates_to: str) -> bytes:
    """Answer to ``transfer/Delete``: an empty body."""
    root, _body = _envelope(f"{ACTION_DELETE}Response", relates_to)
    return _serialize(root)


def fault_envelope(detail: FaultDetail, relates_to: str | None, machine: str) -> bytes:
    """A SOAP 1.2 fault with the Windows ``WSManFault`` detail pywinrm reads."""
    root, body = _envelope(ACTION_FAULT, relates_to)
    fault = etree.SubElement(body, _q("s", "Fault"))
    code = etree.SubElement(fault, _q("s", "Code"))
    etree.SubElement(code, _q("s", "Value")).text = detail.code
    subcode = etree.SubElement(code, _q("s", "Subcode"))
    etree.SubElement(subcode, _q("s", "Value")).text = detail.subcode
    reason = etree.SubElement(fault, _q("s", "Reason"))
    text = etree.SubElement(reason, _q("s", "Text"))
    text.set(f"{{{XML_NS}}}lang", "en-US")
    text.text = detail.reason
    wsman_fault = etree.SubElement(
        etree.SubElement(fault, _q("s", "Detail")),
        f"{{{WSMAN_FAULT}}}WSManFault",
        nsmap={"f": WSMAN_FAULT},
        Code=str(detail.wsman_code),
        Machine=machine,
    )
    etree.SubElement(wsman_fault, f"{{{WSMAN_FAULT}}}Message").text = detail.message
    return _serialize(root)
