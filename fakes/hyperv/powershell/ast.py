"""The syntax tree of the PowerShell subset: statements, pipelines, commands, expressions.

Every node keeps the ``start``/``end`` offsets of its text so runtime errors
can show PowerShell's ``At line:L char:C`` position.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Node:
    start: int
    end: int


# -- expressions -----------------------------------------------------------------------


@dataclass(frozen=True)
class StringConstant(Node):
    value: str


@dataclass(frozen=True)
class NumberConstant(Node):
    value: int


@dataclass(frozen=True)
class BareWord(Node):
    """A bare word used as a command argument: a string, as in PowerShell's argument mode."""

    value: str


@dataclass(frozen=True)
class Variable(Node):
    name: str


@dataclass(frozen=True)
class ArrayLiteral(Node):
    """``a, b, c``: the comma operator."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class ArrayExpression(Node):
    """``@( ... )``: always an array of everything the statements output."""

    statements: tuple[Node, ...]


@dataclass(frozen=True)
class ParenExpression(Node):
    """``( pipeline )``."""

    pipeline: Node


@dataclass(frozen=True)
class HashtableLiteral(Node):
    """``@{ key = value; ... }`` in source order."""

    entries: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class ScriptBlock(Node):
    """``{ statements }``."""

    statements: tuple[Node, ...]
    text: str


@dataclass(frozen=True)
class TypeLiteral(Node):
    name: str


@dataclass(frozen=True)
class Cast(Node):
    type_name: str
    operand: Node


@dataclass(frozen=True)
class MemberAccess(Node):
    target: Node
    member: str
    static: bool


@dataclass(frozen=True)
class MethodCall(Node):
    target: Node
    method: str
    arguments: tuple[Node, ...]
    static: bool


@dataclass(frozen=True)
class BinaryOperation(Node):
    operator: str
    left: Node
    right: Node


@dataclass(frozen=True)
class NotOperation(Node):
    operand: Node


# -- commands and statements -----------------------------------------------------------


@dataclass(frozen=True)
class CommandParameter(Node):
    """``-Name`` or ``-Name:value`` (then ``argument`` is set)."""

    name: str
    argument: Node | None


@dataclass(frozen=True)
class Command(Node):
    name: str
    elements: tuple[Node, ...]


@dataclass(frozen=True)
class Pipeline(Node):
    """``first | command | command``; ``first`` may be an expression."""

    elements: tuple[Node, ...]


@dataclass(frozen=True)
class Assignment(Node):
    variable: str
    value: Node


@dataclass(frozen=True)
class Script(Node):
    statements: tuple[Node, ...]
