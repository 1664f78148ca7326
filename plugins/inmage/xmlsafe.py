"""Parse what a CX answers, refusing anything a hostile server could use against us.

lxml with entities unresolved, no DTD loaded, no network and no huge
trees; and before parsing, any DOCTYPE or ENTITY declaration is refused
outright (the CX API never sends one), so neither an entity expansion
("billion laughs") nor an external entity (a local file, a URL) is ever
looked at.
"""

from __future__ import annotations

import re

from lxml import etree

from provider.errors import HostileResponse

_DTD = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)
#: CX API answers are small; anything larger is refused before parsing.
MAX_RESPONSE = 8 << 20


def parse(data: bytes, where: str) -> etree._Element:
    """The root element of a CX answer; HostileResponse for a DTD or malformed XML."""
    if len(data) > MAX_RESPONSE:
        raise HostileResponse(f"{where}: the answer is over {MAX_RESPONSE} bytes")
    if _DTD.search(data):
        raise HostileResponse(f"{where}: the answer carries a DTD (DOCTYPE or ENTITY); refused")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise HostileResponse(f"{where}: the answer is not well-formed XML: {exc}") from exc
    if root.getroottree().docinfo.internalDTD is not None:
        raise HostileResponse(f"{where}: the answer carries a DTD; refused")
    return root
