"""Run-time values of the fake PowerShell and PowerShell's conversion rules for them.

Values are plain Python objects where PowerShell's behaviour matches:
``None`` ($null), ``bool``, ``int``, ``str``, ``list`` (object[]),
:class:`Hashtable`, ``IntEnum`` members (Hyper-V enums: written as integers
by ``ConvertTo-Json``, as names by ``[string]``), ``uuid.UUID`` (Guid),
``datetime`` (DateTime), ``bytes`` (byte[]). Cmdlets return
:class:`PSObject` instances whose ``native`` attribute points back at the
model object, so ``Get-VM | Get-VMHardDiskDrive`` can follow it.

``AUTOMATION_NULL`` is what a variable holds after assigning a pipeline that
wrote nothing: ``@($x)`` of it is empty, unlike ``@($null)`` (one element).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

from fakes.hyperv.powershell import ast


class _AutomationNull:
    """The "no output" marker: enumerates as nothing, reads as $null."""

    _instance: _AutomationNull | None = None

    def __new__(cls) -> _AutomationNull:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "AutomationNull"


AUTOMATION_NULL = _AutomationNull()


class Hashtable(dict[str, object]):
    """A PowerShell hashtable: keys compared without case, kept in insertion order."""

    def lookup(self, key: str) -> object:
        """The value of ``key`` (any case), or ``None``."""
        lowered = key.lower()
        for name, value in self.items():
            if name.lower() == lowered:
                return value
        return None


class PSObject:
    """An object with ordered, case-insensitive properties (cmdlet output, Select-Object)."""

    def __init__(
        self,
        type_name: str,
        properties: dict[str, object],
        *,
        native: object = None,
    ) -> None:
        self.type_name = type_name
        self.properties = dict(properties)
        self.native = native

    def __repr__(self) -> str:
        return f"PSObject({self.type_name!r}, {self.properties!r})"

    def has(self, name: str) -> bool:
        return self.resolve(name) is not None

    def resolve(self, name: str) -> str | None:
        """The property's real name for ``name`` (any case), or ``None``."""
        lowered = name.lower()
        return next((key for key in self.properties if key.lower() == lowered), None)

    def get(self, name: str) -> object:
        real = self.resolve(name)
        return self.properties[real] if real is not None else None


@dataclass(frozen=True)
class PSVersion:
    """``System.Version`` (e.g. the host's OS version)."""

    major: int
    minor: int
    build: int
    revision: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.build}.{self.revision}"

    def as_properties(self) -> dict[str, object]:
        """The public properties ``ConvertTo-Json`` writes for a ``System.Version``."""
        return {
            "Major": self.major,
            "Minor": self.minor,
            "Build": self.build,
            "Revision": self.revision,
            "MajorRevision": self.revision >> 16,
            "MinorRevision": self.revision & 0xFFFF,
        }


@dataclass(frozen=True)
class ScriptBlockValue:
    """A ``{ ... }`` block, run by Where-Object and calculated properties."""

    block: ast.ScriptBlock


@dataclass(frozen=True)
class TypeValue:
    """A type literal such as ``[Convert]`` used for static member access."""

    name: str


@dataclass(frozen=True)
class Utf8Encoding:
    """``[Text.Encoding]::UTF8``."""


def enumerate_value(value: object) -> Iterator[object]:
    """What a value writes to the pipeline: arrays unrolled, AutomationNull nothing."""
    if value is AUTOMATION_NULL:
        return
    if isinstance(value, list):
        yield from value
    else:
        yield value


def collapse(outputs: list[object]) -> object:
    """A pipeline's result as a value: nothing, one object, or an array."""
    if not outputs:
        return AUTOMATION_NULL
    if len(outputs) == 1:
        return outputs[0]
    return list(outputs)


def plain(value: object) -> object:
    """A value with AutomationNull read as ``$null`` (what variables and properties give)."""
    return None if value is AUTOMATION_NULL else value


def enum_name(value: IntEnum) -> str:
    """The name PowerShell prints (members named after Python keywords end with ``_``)."""
    return value.name.rstrip("_")


def format_datetime(moment: datetime) -> str:
    """``[string]`` of a DateTime: the invariant culture's ``MM/dd/yyyy HH:mm:ss``."""
    return moment.strftime("%m/%d/%Y %H:%M:%S")


def to_string(value: object) -> str:
    """PowerShell's ``[string]`` conversion."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, IntEnum):
        return enum_name(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, list):
        return " ".join(to_string(item) for item in value)
    if isinstance(value, PSObject):
        return _psobject_text(value)
    if isinstance(value, Hashtable):
        return "System.Collections.Hashtable"
    if isinstance(value, bytes):
        return " ".join(str(byte) for byte in value)
    return str(value)


def _psobject_text(value: PSObject) -> str:
    if value.type_name != "System.Management.Automation.PSCustomObject":
        return value.type_name
    pairs = "; ".join(f"{key}={to_string(item)}" for key, item in value.properties.items())
    return "@{" + pairs + "}"


def is_true(value: object) -> bool:
    """PowerShell's truthiness (``LanguagePrimitives.IsTrue``)."""
    value = plain(value)
    if isinstance(value, list):
        if len(value) == 1:
            return is_true(value[0])
        return len(value) > 1
    if isinstance(value, str):
        return value != ""
    if isinstance(value, bool | int):
        return bool(value)
    return value is not None


def type_label(value: object) -> str:
    """The .NET type name shown in conversion errors."""
    names: list[tuple[type, str]] = [
        (bool, "System.Boolean"),
        (int, "System.Int32"),
        (str, "System.String"),
        (list, "System.Object[]"),
        (Hashtable, "System.Collections.Hashtable"),
        (ScriptBlockValue, "System.Management.Automation.ScriptBlock"),
        (uuid.UUID, "System.Guid"),
        (datetime, "System.DateTime"),
    ]
    for kind, name in names:
        if isinstance(value, kind):
            return name
    if isinstance(value, PSObject):
        return value.type_name
    return "System.Object"


def from_timestamp(seconds: float) -> datetime:
    """A virtual-clock time as the DateTime a Hyper-V property holds (UTC on fake hosts)."""
    return datetime.fromtimestamp(seconds, tz=UTC)
