"""What the fake PowerShell writes: JSON as Windows PowerShell 5.1, CLIXML on stderr.

``ConvertTo-Json`` in Windows PowerShell 5.1 runs on ``JavaScriptSerializer``:
enums are written as integers, ``DateTime`` as ``"\\/Date(ms)\\/"``, ``Guid``
as a string, and strings are escaped with ``HttpUtility.JavaScriptStringEncode``
(so ``'``, ``<``, ``>`` and ``&`` become ``\\u0027``, ``\\u003c``, ``\\u003e``,
``\\u0026``; other non-ASCII text is written as is). Dictionaries and objects
nested deeper than ``-Depth`` are replaced by their ``[string]`` text; arrays
do not count as a level.

On stderr, ``powershell -EncodedCommand`` writes ``#< CLIXML`` and one
``<Objs>`` document: progress records (``Preparing modules for first use.``)
and one ``<S S="Error">`` element per displayed line, with ``_x000D__x000A_``
for the line break. Long message lines are wrapped at the 120-column buffer
width, each piece keeping its trailing space, so concatenating the elements
(after removing the line-break markers) gives back the message.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import IntEnum

from fakes.hyperv.powershell.errors import ErrorRecord
from fakes.hyperv.powershell.values import (
    PSObject,
    PSVersion,
    ScriptBlockValue,
    plain,
    to_string,
)

CLIXML_HEADER = "#< CLIXML\r\n"
_OBJS_OPEN = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
_OBJS_CLOSE = "</Objs>"
#: Windows PowerShell wraps host output at the buffer width; a line must stay below it.
_WRAP_COLUMNS = 119
_JSON_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_JSON_ESCAPES |= {'"': '\\"', "\\": "\\\\"}
_HTML_SENSITIVE = frozenset("<>'&")
_XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_PIECES = re.compile(r"\S+\s*|\s+")


# -- JSON ------------------------------------------------------------------------------


def convert_to_json(value: object, depth: int) -> str:
    """``ConvertTo-Json -Compress -Depth depth`` of one value, as PowerShell 5.1 writes it."""
    return _json(value, 0, depth)


def _json(value: object, level: int, depth: int) -> str:
    value = plain(value)
    scalar = _json_scalar(value)
    if scalar is not None:
        return scalar
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json(item, level, depth) for item in value) + "]"
    if isinstance(value, bytes):
        return "[" + ",".join(str(byte) for byte in value) + "]"
    return _json_members(value, level, depth)


def _json_scalar(value: object) -> str | None:
    """The JSON of a value written without nesting, or ``None`` for containers."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, IntEnum):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _json_float(value)
    if isinstance(value, str):
        return json_string(value)
    if isinstance(value, uuid.UUID):
        return json_string(str(value))
    if isinstance(value, datetime):
        return '"\\/Date(' + str(int(value.timestamp() * 1000)) + ')\\/"'
    if isinstance(value, ScriptBlockValue):
        return json_string(value.block.text)
    return None


def _json_float(value: float) -> str:
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _json_members(value: object, level: int, depth: int) -> str:
    if level > depth:
        return json_string(to_string(value))
    members = _members_of(value)
    body = ",".join(
        json_string(str(key)) + ":" + _json(item, level + 1, depth) for key, item in members
    )
    return "{" + body + "}"


def _members_of(value: object) -> list[tuple[object, object]]:
    if isinstance(value, PSObject):
        return list(value.properties.items())
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, PSVersion):
        return list(value.as_properties().items())
    return []


def json_string(text: str) -> str:
    """A JSON string literal escaped as ``HttpUtility.JavaScriptStringEncode`` does."""
    out: list[str] = ['"']
    for char in text:
        if char in _JSON_ESCAPES:
            out.append(_JSON_ESCAPES[char])
        elif char < " " or char in _HTML_SENSITIVE:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


# -- CLIXML ----------------------------------------------------------------------------


def clixml_text(text: str) -> str:
    """Escape text for a CLIXML string: XML entities plus ``_xHHHH_`` for control chars."""
    out: list[str] = []
    for index, char in enumerate(text):
        if char in _XML_ESCAPES:
            out.append(_XML_ESCAPES[char])
        elif char < " " or 0xD800 <= ord(char) <= 0xDFFF:
            out.append(f"_x{ord(char):04X}_")
        elif char == "_" and text.startswith("x", index + 1):
            # An underscore that could start an escape is itself escaped.
            out.append("_x005F_")
        else:
            out.append(char)
    return "".join(out)


def stream_line(stream: str, line: str) -> str:
    """One ``<S S="...">`` element holding a displayed line and its CRLF."""
    return f'<S S="{stream}">{clixml_text(line + chr(13) + chr(10))}</S>'


def progress_records() -> str:
    """The two "Preparing modules for first use." records a fresh powershell.exe writes."""
    record = (
        '<MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.</AV>'
        "<AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS>"
    )
    first = (
        '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject'
        "</T><T>System.Object</T></TN>" + record + "</Obj>"
    )
    second = '<Obj S="progress" RefId="1"><TNRef RefId="0" />' + record + "</Obj>"
    return first + second


def clixml_document(elements: list[str]) -> str:
    """The whole stderr text for the given CLIXML elements (empty if there are none)."""
    if not elements:
        return ""
    return CLIXML_HEADER + _OBJS_OPEN + "".join(elements) + _OBJS_CLOSE


# -- error display ---------------------------------------------------------------------


def wrap_line(line: str, columns: int = _WRAP_COLUMNS) -> list[str]:
    """Wrap a displayed line at word boundaries; each piece keeps its trailing space."""
    pieces: list[str] = []
    current = ""
    for word in _PIECES.findall(line):
        while len(word) > columns:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:columns])
            word = word[columns:]
        if current and len(current) + len(word) > columns:
            pieces.append(current)
            current = ""
        current += word
    pieces.append(current)
    return pieces


def error_lines(record: ErrorRecord) -> list[str]:
    """The lines Windows PowerShell displays for an error record."""
    message = record.message.splitlines() or [""]
    if record.command and not record.parser_error:
        message[0] = f"{record.command} : {message[0]}"
    wrapped = [piece for line in message for piece in wrap_line(line)]
    where = _position_lines(record)
    body = where + wrapped if record.parser_error else wrapped + where
    return [*body, *_category_lines(record), " "]


def _position_lines(record: ErrorRecord) -> list[str]:
    position = record.position
    if position is None:
        return []
    marker = " " * (position.column - 1) + "~" * position.length
    return [
        f"At line:{position.line} char:{position.column}",
        f"+ {position.source_line}",
        f"+ {marker}",
    ]


def _category_lines(record: ErrorRecord) -> list[str]:
    activity = record.command if record.command_class else ""
    target = f"{record.target}:{record.target_type}" if record.target_type else ":"
    category = f"{record.category}: ({target}) [{activity}], {record.exception}"
    return [
        f"    + CategoryInfo          : {category}",
        f"    + FullyQualifiedErrorId : {record.fully_qualified_error_id}",
    ]


def error_elements(record: ErrorRecord) -> list[str]:
    """The ``<S S="Error">`` elements of one error record."""
    return [stream_line("Error", line) for line in error_lines(record)]


def console_bytes(text: str) -> bytes:
    """Text as powershell.exe writes it to a redirected stream: the OEM code page 437."""
    return text.encode("cp437", errors="replace")
