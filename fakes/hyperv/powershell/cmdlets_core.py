"""The PowerShell utility cmdlets the contract uses: Select-Object, Where-Object, ConvertTo-Json."""

from __future__ import annotations

from fakes.hyperv.powershell import errors
from fakes.hyperv.powershell.commands import (
    CORE_MODULE,
    UTILITY_MODULE,
    CmdletSpec,
    Invocation,
    Param,
)
from fakes.hyperv.powershell.errors import ErrorRecord, PSError
from fakes.hyperv.powershell.interpreter import member_of
from fakes.hyperv.powershell.output import convert_to_json
from fakes.hyperv.powershell.values import (
    Hashtable,
    PSObject,
    ScriptBlockValue,
    collapse,
    enumerate_value,
    is_true,
    plain,
    to_string,
)

_CUSTOM_OBJECT = "System.Management.Automation.PSCustomObject"
_NAME_KEYS = ("name", "label")
_EXPRESSION_KEY = "expression"


def _select_error(message: str, error_id: str) -> PSError:
    return PSError(
        ErrorRecord(
            message=message,
            category="InvalidArgument",
            error_id=error_id,
            exception="NotSupportedException",
        )
    )


# -- Select-Object ---------------------------------------------------------------------


def _calculated(table: Hashtable) -> tuple[str, object]:
    """``@{n='X';e={...}}`` -> (name, expression); keys: prefixes of Name/Label/Expression."""
    name: str | None = None
    expression: object = None
    for key, value in table.items():
        lowered = key.lower()
        if any(full.startswith(lowered) for full in _NAME_KEYS):
            name = to_string(value)
        elif _EXPRESSION_KEY.startswith(lowered):
            expression = value
        else:
            raise _select_error(f"The {key} key is not valid.", "DictionaryKeyIllegal")
    if expression is None:
        raise _select_error("The Expression key is missing.", "DictionaryKeyMissing")
    if name is None:
        name = (
            expression.block.text
            if isinstance(expression, ScriptBlockValue)
            else to_string(expression)
        )
    return name, expression


def _property_names(item: object) -> list[str]:
    if isinstance(item, PSObject):
        return list(item.properties)
    return []


def _select_one(invocation: Invocation, item: object, properties: list[object]) -> PSObject:
    selected: dict[str, object] = {}
    for entry in properties:
        if isinstance(entry, Hashtable):
            name, expression = _calculated(entry)
            selected[name] = _evaluate(invocation, expression, item)
        elif to_string(entry) == "*":
            for name in _property_names(item):
                selected[name] = member_of(item, name)
        else:
            written = to_string(entry)
            real = item.resolve(written) if isinstance(item, PSObject) else None
            selected[real or written] = plain(member_of(item, written))
    return PSObject(_CUSTOM_OBJECT, selected)


def _evaluate(invocation: Invocation, expression: object, item: object) -> object:
    if isinstance(expression, ScriptBlockValue):
        return plain(collapse(invocation.session.run_block(expression, item)))
    return plain(member_of(item, to_string(expression)))


def select_object(invocation: Invocation) -> list[object]:
    items = _input_items(invocation)
    first = invocation.get("First")
    if isinstance(first, int):
        items = items[:first]
    expand = invocation.get("ExpandProperty")
    if isinstance(expand, str):
        return [value for item in items for value in enumerate_value(member_of(item, expand))]
    properties = invocation.get("Property")
    if not isinstance(properties, list):
        return items
    return [_select_one(invocation, item, properties) for item in items]


def _input_items(invocation: Invocation) -> list[object]:
    if invocation.input is not None:
        return invocation.input
    if invocation.has("InputObject"):
        return [invocation.get("InputObject")]
    return []


# -- Where-Object ----------------------------------------------------------------------


def where_object(invocation: Invocation) -> list[object]:
    block = invocation.get("FilterScript")
    return [
        item
        for item in _input_items(invocation)
        if is_true(collapse(invocation.session.run_block(block, item)))
    ]


# -- ConvertTo-Json --------------------------------------------------------------------


def convert_to_json_cmdlet(invocation: Invocation) -> list[object]:
    if not invocation.switch("Compress"):
        raise errors.unsupported_runtime("ConvertTo-Json without -Compress (indented output)")
    depth = invocation.number("Depth", 2)
    if invocation.input is not None:
        items = invocation.input
        value: object = items[0] if len(items) == 1 else list(items)
        if not items:
            return []
    else:
        value = invocation.get("InputObject")
    return [convert_to_json(value, depth)]


SPECS = (
    CmdletSpec(
        "Select-Object",
        UTILITY_MODULE,
        "Microsoft.PowerShell.Commands.SelectObjectCommand",
        (
            Param("Property", "objects", position=0),
            Param("ExpandProperty", "string"),
            Param("First", "int", minimum=0),
            Param("InputObject", "object", pipeline=True),
        ),
        select_object,
        aliases=("select",),
    ),
    CmdletSpec(
        "Where-Object",
        CORE_MODULE,
        "Microsoft.PowerShell.Commands.WhereObjectCommand",
        (
            Param("FilterScript", "scriptblock", mandatory=True, position=0),
            Param("InputObject", "object", pipeline=True),
        ),
        where_object,
        aliases=("where", "?"),
    ),
    CmdletSpec(
        "ConvertTo-Json",
        UTILITY_MODULE,
        "Microsoft.PowerShell.Commands.ConvertToJsonCommand",
        (
            Param("InputObject", "object", position=0, pipeline=True),
            Param("Depth", "int", minimum=1, maximum=100),
            Param("Compress", "switch"),
        ),
        convert_to_json_cmdlet,
    ),
)
