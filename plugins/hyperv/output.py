"""Read what a Hyper-V host printed: the base64-JSON payload and CLIXML errors.

Everything here treats the host's output as untrusted. The payload must be
strict base64 of UTF-8 JSON whose top level is an array (what every catalog
script prints). Errors come back on stderr as CLIXML, parsed by lxml with a
parser that loads no DTD, resolves no entity and touches no network; a
document that declares a DOCTYPE at all is refused before parsing, since a
PowerShell host never sends one and entity tricks are the only reason to.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

CLIXML_HEADER = "#< CLIXML"
#: Largest stdout accepted: a read batch is 4 MiB, i.e. about 7.5 MB once twice encoded.
MAX_PAYLOAD_BYTES = 64 << 20
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_DOCTYPE = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class OutputRefused(ValueError):
    """The host's output is malformed or hostile; the message says how."""


@dataclass(frozen=True)
class PowerShellError:
    """The error record PowerShell wrote: its lines, message first, then the details.

    A script runs with ``$ErrorActionPreference = 'Stop'``, so it ends at its
    first error and stderr holds one record.
    """

    lines: tuple[str, ...]

    @property
    def message(self) -> str:
        """``Cmdlet : what went wrong``, rejoined when the console wrapped it.

        A wrapped piece keeps its trailing space, so it is joined as is; a
        line that ended without one was a line break of the message itself.
        """
        message = ""
        for line in self.lines:
            if _is_detail(line):
                break
            glue = "" if not message or message[-1].isspace() else " "
            message += glue + line
        return message.strip()

    def detail(self, label: str) -> str:
        """The value of a ``+ Label : value`` line (``CategoryInfo``...), or ''."""
        for line in self.lines:
            name, sep, value = line.strip().lstrip("+").partition(":")
            if sep and name.strip() == label:
                return value.strip()
        return ""

    @property
    def text(self) -> str:
        """The whole record, one line per line."""
        return "\n".join(self.lines)


def _is_detail(line: str) -> bool:
    """Position and detail lines follow the message: ``At line:``, ``+ ...``, ``    + ...``."""
    stripped = line.lstrip()
    return stripped.startswith("+") or line.startswith("At ")


def decode_payload(stdout: bytes) -> list[Any]:
    """The JSON array a catalog script printed as base64 of UTF-8."""
    if len(stdout) > MAX_PAYLOAD_BYTES:
        raise OutputRefused(f"output of {len(stdout)} bytes is over the {MAX_PAYLOAD_BYTES} limit")
    try:
        raw = base64.b64decode(b"".join(stdout.split()), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OutputRefused(f"output is not base64 of UTF-8 text: {exc}") from exc
    return _parse_json_array(text)


def _refuse_constant(name: str) -> Any:
    raise OutputRefused(f"output JSON holds the non-standard constant {name}")


def _parse_json_array(text: str) -> list[Any]:
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise OutputRefused(f"output is not valid JSON: {exc}") from exc
    if not isinstance(value, list):
        raise OutputRefused(f"output JSON is a {type(value).__name__}, expected an array")
    return value


def _hardened_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_error(stderr: bytes) -> PowerShellError | None:
    """The error record in stderr, or None; progress and other streams are ignored.

    Plain (non-CLIXML) stderr is taken as the record's lines.
    """
    text = console_text(stderr)
    if not text.strip():
        return None
    if not text.startswith(CLIXML_HEADER):
        return _record(text.splitlines())
    body = text[len(CLIXML_HEADER) :].lstrip()
    if _DOCTYPE.search(body):
        raise OutputRefused("error output declares a DOCTYPE or an entity")
    try:
        root = etree.fromstring(body, _hardened_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise OutputRefused(f"error output is not well-formed CLIXML: {exc}") from exc
    return _record(_error_lines(root))


def console_text(data: bytes) -> str:
    """What powershell.exe wrote to a redirected stream: UTF-8 if it is, else code page 437.

    The console's OEM code page (437 on an en-US host) is what a redirected
    Windows PowerShell 5.1 writes; every byte sequence decodes in it.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp437")


def _error_lines(root: etree._Element) -> list[str]:
    lines: list[str] = []
    for element in root.iter("{*}S"):
        if element.get("S") == "Error":
            lines.extend(unescape(element.text or "").splitlines())
    return lines


def _record(lines: list[str]) -> PowerShellError | None:
    kept = tuple(line.rstrip("\r\n") for line in lines if line.strip())
    return PowerShellError(kept) if kept else None


def unescape(text: str) -> str:
    """Decode CLIXML's ``_xHHHH_`` escapes (UTF-16 code units, surrogates paired)."""
    if "_x" not in text:
        return text
    units = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
