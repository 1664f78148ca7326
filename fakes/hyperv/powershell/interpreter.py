"""Evaluation of a parsed script against one fake host.

The interpreter walks the syntax tree: assignments, pipelines of cmdlets,
the expressions of the contract (arrays, hashtables, script blocks, casts,
member access, ``-eq``) and the fixed epilogue's ``[Convert]::ToBase64String``
/ ``[Text.Encoding]::UTF8.GetBytes``. Errors follow ``$ErrorActionPreference``:
``Stop`` ends the script (exit code 1), otherwise the error is written and the
next statement runs. The result is what ``powershell.exe`` would leave on its
streams: stdout text, CLIXML elements for stderr, and the exit code.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from fakes.hyperv.powershell import ast, errors
from fakes.hyperv.powershell.binding import ArgumentElement, Element, ParameterElement, bind
from fakes.hyperv.powershell.commands import AGENT_MODULE, HYPERV_MODULE, Invocation, Registry
from fakes.hyperv.powershell.errors import ErrorRecord, PSError, VirtualizationError
from fakes.hyperv.powershell.lexer import position_of
from fakes.hyperv.powershell.output import error_elements, progress_records, stream_line
from fakes.hyperv.powershell.parser import parse
from fakes.hyperv.powershell.values import (
    AUTOMATION_NULL,
    Hashtable,
    PSObject,
    ScriptBlockValue,
    TypeValue,
    Utf8Encoding,
    collapse,
    enum_name,
    enumerate_value,
    is_true,
    plain,
    to_string,
)

if TYPE_CHECKING:
    from fakes.hyperv.host import HyperVHost

_STRING_TYPES = frozenset(["string", "system.string"])
_INT_TYPES = frozenset(["int", "int32", "system.int32", "long", "int64", "system.int64"])
_BOOL_TYPES = frozenset(["bool", "boolean", "system.boolean"])
_GUID_TYPES = frozenset(["guid", "system.guid"])
_ENCODING_TYPES = frozenset(["text.encoding", "system.text.encoding"])
_CONVERT_TYPES = frozenset(["convert", "system.convert"])


@dataclass
class ScriptOutcome:
    """What a script left on powershell.exe's streams."""

    stdout: str
    stderr_elements: list[str]
    exit_code: int
    errors: list[ErrorRecord] = field(default_factory=list)


class _Abort(Exception):
    """A terminating error under ``$ErrorActionPreference = 'Stop'``."""


class Interpreter:
    """Runs one script on one host (a fresh ``powershell.exe`` each time, like run_ps)."""

    def __init__(self, host: HyperVHost, registry: Registry, script: str) -> None:
        self.host = host
        self.registry = registry
        self.script = script
        self.variables: dict[str, object] = {
            "progresspreference": "Continue",
            "erroractionpreference": "Continue",
        }
        self._items: list[object] = []
        self._output: list[object] = []
        self._stderr: list[str] = []
        self._errors: list[ErrorRecord] = []
        self._progress_written = False

    # -- entry point -------------------------------------------------------------------

    def run(self) -> ScriptOutcome:
        """Parse and run the script; never raises for script errors."""
        try:
            tree = parse(self.script)
        except PSError as exc:
            self._write_error(exc.record)
            return self._outcome(1)
        failed = False
        try:
            for statement in tree.statements:
                failed = not self._run_statement(statement)
        except _Abort:
            return self._outcome(1)
        return self._outcome(1 if failed else 0)

    def _outcome(self, exit_code: int) -> ScriptOutcome:
        stdout = "".join(line + "\r\n" for line in self._console_lines())
        return ScriptOutcome(stdout, self._stderr, exit_code, self._errors)

    def _console_lines(self) -> list[str]:
        lines: list[str] = []
        for value in self._output:
            lines.extend(console_text(value))
        return lines

    def _run_statement(self, statement: ast.Node) -> bool:
        try:
            self._output.extend(self._statement_outputs(statement))
            return True
        except PSError as exc:
            self._write_error(exc.record)
            if self._preference("erroractionpreference") == "stop":
                raise _Abort from exc
            return False

    def _preference(self, name: str) -> str:
        return to_string(self.variables.get(name)).lower()

    def _write_error(self, record: ErrorRecord) -> None:
        self._errors.append(record)
        if self._preference("erroractionpreference") != "silentlycontinue":
            self._stderr.extend(error_elements(record))

    # -- Session protocol (for handlers) --------------------------------------------------

    def warn(self, text: str) -> None:
        self._stderr.append(stream_line("warning", text))

    def run_block(self, block: object, item: object) -> list[object]:
        """Run a script block with ``$_`` bound to ``item``; return its output."""
        assert isinstance(block, ScriptBlockValue)
        self._items.append(item)
        try:
            outputs: list[object] = []
            for statement in block.block.statements:
                outputs.extend(self._statement_outputs(statement))
            return outputs
        finally:
            self._items.pop()

    # -- statements and pipelines ------------------------------------------------------

    def _statement_outputs(self, node: ast.Node) -> list[object]:
        if isinstance(node, ast.Assignment):
            self.variables[node.variable.lower()] = self._value_of_statement(node.value)
            return []
        if isinstance(node, ast.Pipeline | ast.Command):
            return self._run_pipeline(node)
        return list(enumerate_value(self.evaluate(node)))

    def _value_of_statement(self, node: ast.Node) -> object:
        """Pipelines give their collected output; expressions their value unchanged."""
        if isinstance(node, ast.Pipeline | ast.Command):
            return collapse(self._run_pipeline(node))
        return self.evaluate(node)

    def _run_pipeline(self, node: ast.Node) -> list[object]:
        elements = node.elements if isinstance(node, ast.Pipeline) else (node,)
        current: list[object] | None = None
        for element in elements:
            if isinstance(element, ast.Command):
                current = self._invoke(element, current)
            else:
                current = list(enumerate_value(self.evaluate(element)))
        return current if current is not None else []

    def _invoke(self, command: ast.Command, pipeline_input: list[object] | None) -> list[object]:
        position = position_of(self.script, command.start, command.end)
        spec = self.registry.find(command.name, hyperv_installed=self.host.hyperv_installed)
        if spec is None:
            # PowerShell underlines only the command name of an unknown command.
            name_end = command.start + len(command.name)
            raise errors.command_not_found(command.name).at(
                position_of(self.script, command.start, name_end)
            )
        try:
            elements = [self._element(node) for node in command.elements]
            arguments = bind(spec, elements, has_input=pipeline_input is not None)
            self._note_module(spec.module)
            self.host.log_command(spec.name, arguments)
            invocation = Invocation(self.host, self, arguments, pipeline_input)
            return spec.handler(invocation)
        except VirtualizationError as exc:
            error = exc.to_ps_error()
            raise error.with_command(spec.name, spec.command_class).at(position) from exc
        except PSError as exc:
            raise exc.with_command(spec.name, spec.command_class).at(position) from exc
        except OSError as exc:
            error = errors.io_device_error(str(exc))
            raise error.with_command(spec.name, spec.command_class).at(position) from exc

    def _note_module(self, module: str) -> None:
        """Auto-loading a module shows the "Preparing modules" progress (a host fault switch)."""
        if module not in (HYPERV_MODULE, AGENT_MODULE) or self._progress_written:
            return
        if not self.host.faults.startup_progress:
            return
        self._progress_written = True
        self._stderr.insert(0, progress_records())

    def _element(self, node: ast.Node) -> Element:
        if isinstance(node, ast.CommandParameter):
            if node.argument is None:
                return ParameterElement(node.name, None, has_value=False)
            return ParameterElement(node.name, self.evaluate(node.argument), has_value=True)
        return ArgumentElement(self.evaluate(node))

    # -- expressions -------------------------------------------------------------------

    def evaluate(self, node: ast.Node) -> object:
        """The value of an expression node."""
        handler = _EVALUATORS.get(type(node))
        if handler is None:
            raise errors.unsupported_runtime(f"the expression {type(node).__name__}")
        try:
            return handler(self, node)
        except PSError as exc:
            raise exc.at(position_of(self.script, node.start, node.end)) from exc

    def _variable(self, node: ast.Variable) -> object:
        name = node.name.lower()
        if name == "_":
            return self._items[-1] if self._items else None
        constants: dict[str, object] = {"true": True, "false": False, "null": None}
        if name in constants:
            return constants[name]
        return self.variables.get(name)

    def _array_literal(self, node: ast.ArrayLiteral) -> object:
        return [plain(self.evaluate(item)) for item in node.items]

    def _array_expression(self, node: ast.ArrayExpression) -> object:
        outputs: list[object] = []
        for statement in node.statements:
            outputs.extend(self._statement_outputs(statement))
        return outputs

    def _paren(self, node: ast.ParenExpression) -> object:
        return plain(self._value_of_statement(node.pipeline))

    def _hashtable(self, node: ast.HashtableLiteral) -> object:
        table = Hashtable()
        for key, value in node.entries:
            table[key] = plain(self._value_of_statement(value))
        return table

    def _cast(self, node: ast.Cast) -> object:
        return cast(node.type_name, self.evaluate(node.operand))

    def _member(self, node: ast.MemberAccess) -> object:
        target = self.evaluate(node.target)
        if node.static:
            return static_member(target, node.member)
        return member_of(target, node.member)

    def _method(self, node: ast.MethodCall) -> object:
        target = self.evaluate(node.target)
        arguments = [plain(self.evaluate(argument)) for argument in node.arguments]
        return call_method(target, node.method, arguments, static=node.static)

    def _binary(self, node: ast.BinaryOperation) -> object:
        left = self.evaluate(node.left)
        if node.operator in ("-and", "-or"):
            if node.operator == "-and":
                return is_true(left) and is_true(self.evaluate(node.right))
            return is_true(left) or is_true(self.evaluate(node.right))
        return compare(node.operator, left, self.evaluate(node.right))


def _constant(interpreter: Interpreter, node: ast.Node) -> object:
    assert isinstance(node, ast.StringConstant | ast.NumberConstant | ast.BareWord)
    return node.value


_EVALUATORS: dict[type[ast.Node], Callable[[Interpreter, Any], object]] = {
    ast.StringConstant: _constant,
    ast.NumberConstant: _constant,
    ast.BareWord: _constant,
    ast.Variable: Interpreter._variable,
    ast.ArrayLiteral: Interpreter._array_literal,
    ast.ArrayExpression: Interpreter._array_expression,
    ast.ParenExpression: Interpreter._paren,
    ast.HashtableLiteral: Interpreter._hashtable,
    ast.ScriptBlock: lambda interpreter, node: ScriptBlockValue(node),
    ast.TypeLiteral: lambda interpreter, node: TypeValue(node.name),
    ast.Cast: Interpreter._cast,
    ast.MemberAccess: Interpreter._member,
    ast.MethodCall: Interpreter._method,
    ast.BinaryOperation: Interpreter._binary,
    ast.NotOperation: lambda interpreter, node: not is_true(interpreter.evaluate(node.operand)),
}


# -- operations on values --------------------------------------------------------------


def cast(type_name: str, value: object) -> object:
    """``[type]value`` for the types the fake supports."""
    lowered = type_name.lower()
    value = plain(value)
    if lowered in _STRING_TYPES:
        return to_string(value)
    if lowered in _INT_TYPES:
        return _cast_integer(type_name, value)
    if lowered in _BOOL_TYPES:
        return is_true(value)
    if lowered in _GUID_TYPES:
        return _cast_guid(value)
    raise errors.unsupported_runtime(f"the cast to [{type_name}]")


def _cast_integer(type_name: str, value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return int(value)
    text = to_string(value).strip()
    if text.lstrip("+-").isdigit():
        return int(text)
    raise errors.runtime_error(
        f'Cannot convert value "{text}" to type "System.Int32". Error: "Input string was not '
        'in a correct format."',
        "InvalidCastFromStringToInteger",
        category="InvalidArgument",
    )


def _cast_guid(value: object) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(to_string(value))
    except ValueError:
        raise errors.runtime_error(
            f'Cannot convert value "{to_string(value)}" to type "System.Guid". Error: "Guid '
            'should contain 32 digits with 4 dashes (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)."',
            "InvalidCastParseTargetInvocation",
            category="InvalidArgument",
        ) from None


def member_of(target: object, name: str) -> object:
    """``target.Name``: properties, hashtable keys, member enumeration over arrays."""
    target = plain(target)
    lowered = name.lower()
    if isinstance(target, PSObject):
        return target.get(name)
    if isinstance(target, Hashtable):
        return len(target) if lowered == "count" else target.lookup(name)
    if isinstance(target, list):
        if lowered in ("count", "length"):
            return len(target)
        values = [member_of(item, name) for item in target]
        return collapse([value for value in values if value is not None])
    if isinstance(target, str | bytes) and lowered == "length":
        return len(target)
    return None


def static_member(target: object, name: str) -> object:
    is_encoding = isinstance(target, TypeValue) and target.name.lower() in _ENCODING_TYPES
    if is_encoding and name.lower() == "utf8":
        return Utf8Encoding()
    type_name = target.name if isinstance(target, TypeValue) else to_string(target)
    raise errors.unsupported_runtime(f"the static member [{type_name}]::{name}")


def call_method(target: object, method: str, arguments: list[object], *, static: bool) -> object:
    """The two method calls of the contract's epilogue; anything else is refused."""
    lowered = method.lower()
    is_convert = static and isinstance(target, TypeValue) and target.name.lower() in _CONVERT_TYPES
    if is_convert and lowered == "tobase64string" and len(arguments) == 1:
        return base64.b64encode(_as_bytes(arguments[0])).decode("ascii")
    if isinstance(target, Utf8Encoding) and lowered == "getbytes" and len(arguments) == 1:
        return to_string(arguments[0]).encode("utf-8", errors="surrogatepass")
    if static and isinstance(target, TypeValue):
        raise errors.unsupported_runtime(f"the static method [{target.name}]::{method}()")
    raise errors.runtime_error(
        f"Method invocation failed because [{_type_of(target)}] does not contain a method "
        f"named '{method}'.",
        "MethodNotFound",
    )


def _type_of(value: object) -> str:
    if isinstance(value, Utf8Encoding):
        return "System.Text.UTF8Encoding"
    if isinstance(value, str):
        return "System.String"
    if isinstance(value, PSObject):
        return value.type_name
    return "System.Object"


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, list) and all(isinstance(item, int) for item in value):
        return bytes(item for item in value if isinstance(item, int))
    raise errors.runtime_error(
        f'Cannot convert argument "inArray", with value: "{to_string(value)}", for '
        '"ToBase64String" to type "System.Byte[]".',
        "MethodArgumentConversionInvalidCastArgument",
    )


def compare(operator: str, left: object, right: object) -> object:
    """``-eq``/``-ne`` (and their ``i``/``c`` forms); an array on the left filters."""
    negate = operator.endswith("ne")
    case_sensitive = operator.startswith("-c")
    left = plain(left)
    if isinstance(left, list):
        return [
            item for item in left if equals(item, right, case_sensitive=case_sensitive) != negate
        ]
    return equals(left, right, case_sensitive=case_sensitive) != negate


def equals(left: object, right: object, *, case_sensitive: bool = False) -> bool:
    """PowerShell equality: the right side is converted to the left side's type."""
    left, right = plain(left), plain(right)
    if left is None or right is None:
        return left is right
    if isinstance(left, IntEnum):
        return _enum_equals(left, right)
    if isinstance(left, bool):
        return left == is_true(right)
    if isinstance(left, int):
        return _number_of(right) == left
    if isinstance(left, str | uuid.UUID):
        text = to_string(right)
        if case_sensitive:
            return str(left) == text
        return str(left).casefold() == text.casefold()
    return left == right


def _enum_equals(left: IntEnum, right: object) -> bool:
    if isinstance(right, str) and not right.strip().lstrip("-").isdigit():
        return enum_name(left).lower() == right.strip().lower()
    return _number_of(right) == int(left)


def _number_of(value: object) -> int | None:
    if isinstance(value, int):
        return int(value)
    text = to_string(value).strip()
    return int(text) if text.lstrip("+-").isdigit() else None


def console_text(value: object) -> list[str]:
    """How Out-Default shows a value on the console (a plain list view for objects)."""
    value = plain(value)
    if value is None:
        return []
    if isinstance(value, PSObject | Hashtable):
        items = value.properties if isinstance(value, PSObject) else value
        width = max((len(key) for key in items), default=0)
        body = [f"{key.ljust(width)} : {to_string(item)}" for key, item in items.items()]
        return ["", *body, ""]
    return [to_string(value)]


def run_script(host: HyperVHost, registry: Registry, script: str) -> ScriptOutcome:
    """Run ``script`` on ``host`` with the cmdlets of ``registry``."""
    return Interpreter(host, registry, script).run()


__all__ = ["AUTOMATION_NULL", "Interpreter", "ScriptOutcome", "run_script"]
