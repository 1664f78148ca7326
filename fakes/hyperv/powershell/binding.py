"""Parameter binding: pair ``-Name value`` and positional arguments with a cmdlet's parameters.

Follows PowerShell's binder closely enough for its errors to be the real
ones: unambiguous prefixes and aliases are accepted, a switch never takes
the next argument (``-Force $true`` leaves ``$true`` as a positional
argument), values are converted to the parameter type and validated
(``ValidateSet``, ``ValidateRange``, mandatory, not null or empty).
"""

from __future__ import annotations

from dataclasses import dataclass

from fakes.hyperv.powershell import errors
from fakes.hyperv.powershell.commands import CmdletSpec, Param
from fakes.hyperv.powershell.values import (
    AUTOMATION_NULL,
    ScriptBlockValue,
    plain,
    to_string,
    type_label,
)

_TYPE_NAMES = {
    "string": "System.String",
    "strings": "System.String[]",
    "int": "System.Int32",
    "long": "System.Int64",
    "bool": "System.Boolean",
    "scriptblock": "System.Management.Automation.ScriptBlock",
    "object": "System.Object",
    "objects": "System.Object[]",
}
_INT_LIMITS = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


@dataclass(frozen=True)
class ParameterElement:
    """``-Name`` as written, with its ``-Name:value`` argument if any."""

    name: str
    value: object
    has_value: bool


@dataclass(frozen=True)
class ArgumentElement:
    value: object


Element = ParameterElement | ArgumentElement


def bind(spec: CmdletSpec, elements: list[Element], *, has_input: bool) -> dict[str, object]:
    """Bind a call to ``spec``; return canonical parameter names to converted values."""
    bound: dict[str, object] = {}
    positional: list[object] = []
    index = 0
    while index < len(elements):
        element = elements[index]
        if isinstance(element, ArgumentElement):
            positional.append(element.value)
        else:
            index = _bind_named(spec, elements, index, bound)
        index += 1
    _bind_positional(spec, positional, bound)
    _check_sets(spec, bound, has_input)
    return bound


def _bind_named(
    spec: CmdletSpec, elements: list[Element], index: int, bound: dict[str, object]
) -> int:
    element = elements[index]
    assert isinstance(element, ParameterElement)
    param = resolve(spec, element.name)
    if param.kind == "switch":
        value: object = element.value if element.has_value else True
    elif element.has_value:
        value = element.value
    else:
        following = elements[index + 1] if index + 1 < len(elements) else None
        if not isinstance(following, ArgumentElement):
            raise errors.missing_argument(param.name, _TYPE_NAMES.get(param.kind, "System.Object"))
        value = following.value
        index += 1
    if param.name in bound:
        raise errors.parameter_already_bound(param.name)
    bound[param.name] = convert(param, value)
    return index


def resolve(spec: CmdletSpec, written: str) -> Param:
    """The parameter a written name means: exact name or alias, else a unique prefix."""
    lowered = written.lower()
    for param in spec.parameters:
        if any(name.lower() == lowered for name in param.names()):
            return param
    matches = [
        param
        for param in spec.parameters
        if any(name.lower().startswith(lowered) for name in param.names())
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise errors.ambiguous_parameter(written, ["-" + param.name for param in matches])
    raise errors.parameter_not_found(written)


def _bind_positional(spec: CmdletSpec, values: list[object], bound: dict[str, object]) -> None:
    slots = sorted(
        (param for param in spec.parameters if param.position is not None),
        key=lambda param: param.position if param.position is not None else 0,
    )
    free = [param for param in slots if param.name not in bound]
    for value in values:
        if not free:
            raise errors.positional_not_found(to_string(value))
        param = free.pop(0)
        bound[param.name] = convert(param, value)


def _check_sets(spec: CmdletSpec, bound: dict[str, object], has_input: bool) -> None:
    for group in spec.exclusive:
        if sum(name in bound for name in group) > 1:
            raise errors.ambiguous_parameter_set()
    # One of the ``one_of`` parameters (or pipeline input) satisfies the whole group.
    group_bound = has_input or any(name in bound for name in spec.one_of)
    missing = [
        param.name
        for param in spec.parameters
        if param.mandatory
        and param.name not in bound
        and not (param.pipeline and has_input)
        and not (param.name in spec.one_of and group_bound)
    ]
    if missing:
        raise errors.missing_mandatory(missing)


# -- conversion ------------------------------------------------------------------------


def convert(param: Param, value: object) -> object:
    """Convert and validate one argument for ``param``."""
    value = plain(value)
    if param.mandatory and value is None:
        raise errors.null_argument(param.name)
    converted = _CONVERTERS[param.kind](param, value)
    _validate(param, converted)
    return converted


def _to_text(param: Param, value: object) -> object:
    if value is None:
        return None
    text = to_string(value)
    if param.mandatory and text == "":
        raise errors.empty_string_argument(param.name)
    return _canonical_choice(param, text)


def _to_texts(param: Param, value: object) -> object:
    items = value if isinstance(value, list) else [value]
    texts = [to_string(item) for item in items if item is not AUTOMATION_NULL]
    if param.mandatory and any(text == "" for text in texts):
        raise errors.empty_string_argument(param.name)
    return [_canonical_choice(param, text) for text in texts]


def _canonical_choice(param: Param, text: str) -> str:
    """ValidateSet is case-insensitive; the handler sees the set's own spelling."""
    if not param.choices:
        return text
    for choice in param.choices:
        if choice.lower() == text.lower():
            return choice
    raise errors.not_in_set(param.name, text, list(param.choices))


def _to_integer(param: Param, value: object) -> object:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        number = int(value.strip())
    else:
        raise errors.cannot_convert(
            param.name,
            to_string(value),
            _TYPE_NAMES[param.kind],
            "Input string was not in a correct format.",
        )
    low, high = _INT_LIMITS[param.kind]
    if not low <= number <= high:
        raise errors.cannot_convert(
            param.name,
            str(number),
            _TYPE_NAMES[param.kind],
            f"Value was either too large or too small for an {_TYPE_NAMES[param.kind][7:]}.",
        )
    return number


def _to_bool(param: Param, value: object) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    raise errors.not_a_boolean(param.name, type_label(value))


def _to_switch(param: Param, value: object) -> object:
    if isinstance(value, bool):
        return value
    return _to_bool(param, value)


def _to_scriptblock(param: Param, value: object) -> object:
    if isinstance(value, ScriptBlockValue):
        return value
    raise errors.cannot_convert(
        param.name,
        to_string(value),
        _TYPE_NAMES["scriptblock"],
        f'Invalid cast from "{type_label(value)}" to "{_TYPE_NAMES["scriptblock"]}".',
    )


def _to_objects(param: Param, value: object) -> object:
    return list(value) if isinstance(value, list) else [value]


def _as_is(param: Param, value: object) -> object:
    return value


_CONVERTERS = {
    "string": _to_text,
    "strings": _to_texts,
    "int": _to_integer,
    "long": _to_integer,
    "bool": _to_bool,
    "switch": _to_switch,
    "scriptblock": _to_scriptblock,
    "object": _as_is,
    "objects": _to_objects,
}


def _validate(param: Param, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        return
    if param.choices and str(value) not in param.choices:
        raise errors.not_in_set(param.name, str(value), list(param.choices))
    if param.maximum is not None and value > param.maximum:
        raise errors.above_range(param.name, value, param.maximum)
    if param.minimum is not None and value < param.minimum:
        raise errors.below_range(param.name, value, param.minimum)
