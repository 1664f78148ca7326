"""Tokens of the PowerShell subset the fake understands.

The lexer follows the PowerShell tokenizer where it matters for safety:

* single-quoted strings may open and close with ``'`` or any of U+2018,
  U+2019, U+201A, U+201B; two quote characters in a row stand for one (the
  second one is kept, as PowerShell does); nothing is expanded inside;
* en dash, em dash and horizontal bar count as ``-`` at the start of a
  parameter or operator;
* outside quotes a backtick escapes the next character, and a backtick at
  the end of a line continues the line;
* a quote inside a bare word opens a string that is glued to the word, so an
  unquoted ``x'; Remove-VM *`` is an unterminated string, as in PowerShell.

Constructs outside the subset (expandable strings, ``$(...)``, splatting,
redirection, the call operator) are refused with a parser error that names
them, so a plugin that starts using them fails loudly instead of silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto

from fakes.hyperv.powershell.errors import (
    ErrorPosition,
    PSError,
    parse_error,
    unsupported_construct,
)

SINGLE_QUOTES = frozenset("'\u2018\u2019\u201a\u201b")
DOUBLE_QUOTES = frozenset('"\u201c\u201d\u201e')
DASHES = frozenset("-\u2013\u2014\u2015")
_NEWLINES = frozenset("\r\n")
_PUNCTUATION = {
    ";": "SEMI",
    "|": "PIPE",
    "(": "LPAREN",
    ")": "RPAREN",
    "{": "LBRACE",
    "}": "RBRACE",
    ",": "COMMA",
    "=": "EQUALS",
}
#: Characters that end a bare word (besides white space and newlines).
_WORD_STOPS = frozenset(";|(){},=")
_VARIABLE_NAME = re.compile(r"[A-Za-z0-9_?]+")
_MEMBER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TYPE_NAME = re.compile(r"\[([A-Za-z_][A-Za-z0-9_.]*)\]")
_INTEGER = re.compile(r"-?[0-9]+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_REFUSED_STARTS = {
    "&": "the call operator '&'",
    ">": "redirection",
    "<": "redirection",
    "!": "the '!' operator",
    "+": "arithmetic operators",
    "/": "arithmetic operators",
    "%": "the ForEach-Object alias '%'",
}


class Kind(Enum):
    NEWLINE = auto()
    SEMI = auto()
    PIPE = auto()
    LPAREN = auto()
    RPAREN = auto()
    LBRACE = auto()
    RBRACE = auto()
    COMMA = auto()
    EQUALS = auto()
    AT_PAREN = auto()
    AT_BRACE = auto()
    DOT = auto()
    DCOLON = auto()
    VARIABLE = auto()
    STRING = auto()
    NUMBER = auto()
    WORD = auto()
    MEMBER = auto()
    TYPE = auto()
    EOF = auto()


@dataclass(frozen=True)
class Token:
    """One token: its kind, its value (unescaped text), and where it sits in the script."""

    kind: Kind
    value: str
    start: int
    end: int
    space_before: bool
    #: A bare word that contained quotes or escapes: never a parameter, number or keyword.
    quoted: bool = False

    @property
    def is_parameter(self) -> bool:
        """``-Name`` in command mode (a dash followed by a letter)."""
        return (
            self.kind is Kind.WORD
            and not self.quoted
            and len(self.value) > 1
            and self.value[0] == "-"
            and (self.value[1].isalpha() or self.value[1] == "_")
        )


def position_of(script: str, start: int, end: int) -> ErrorPosition:
    """Line, column and span of a script range, as PowerShell's ``At line:L char:C`` shows."""
    breaks = list(_LINE_BREAK.finditer(script, 0, start))
    line_start = breaks[-1].end() if breaks else 0
    following = _LINE_BREAK.search(script, start)
    line_end = following.start() if following else len(script)
    length = max(1, min(end, line_end) - start)
    return ErrorPosition(
        len(breaks) + 1, start - line_start + 1, length, script[line_start:line_end]
    )


class Lexer:
    """Turns a script into tokens; raises :class:`PSError` (a parser error) on bad input."""

    def __init__(self, script: str) -> None:
        self.script = script
        self._pos = 0
        self._tokens: list[Token] = []
        self._space = True

    def tokenize(self) -> list[Token]:
        """Return every token of the script, ending with an ``EOF`` token."""
        while self._pos < len(self.script):
            self._scan_one()
        self._tokens.append(Token(Kind.EOF, "", len(self.script), len(self.script), True))
        return self._tokens

    # -- helpers -----------------------------------------------------------------------

    def _peek(self, offset: int = 0) -> str:
        index = self._pos + offset
        return self.script[index] if index < len(self.script) else ""

    def _error(self, message: str, error_id: str, start: int, end: int) -> PSError:
        return parse_error(message, error_id, position_of(self.script, start, end))

    def _refuse(self, construct: str, start: int, end: int) -> PSError:
        return unsupported_construct(construct, position_of(self.script, start, end))

    def _emit(self, kind: Kind, value: str, start: int, *, quoted: bool = False) -> None:
        self._tokens.append(Token(kind, value, start, self._pos, self._space, quoted))
        self._space = False

    def _attached(self) -> bool:
        """Whether the previous token touches the current position (member access context)."""
        if self._space or not self._tokens:
            return False
        return self._tokens[-1].kind in (Kind.VARIABLE, Kind.RPAREN, Kind.MEMBER, Kind.TYPE)

    # -- scanning ----------------------------------------------------------------------

    def _scan_one(self) -> None:
        char = self._peek()
        if char in _NEWLINES:
            self._scan_newline()
        elif char.isspace():
            self._pos += 1
            self._space = True
        elif char == "`" and self._peek(1) in _NEWLINES:
            self._pos += 2 if self.script.startswith("\r\n", self._pos + 1) else 1
            self._pos += 1
            self._space = True
        elif char == "#":
            self._skip_line_comment()
        elif char == "<" and self._peek(1) == "#":
            self._skip_block_comment()
        else:
            self._scan_token(char)

    def _scan_newline(self) -> None:
        start = self._pos
        self._pos += 2 if self.script.startswith("\r\n", start) else 1
        self._emit(Kind.NEWLINE, "\n", start)
        self._space = True

    def _skip_line_comment(self) -> None:
        while self._pos < len(self.script) and self._peek() not in _NEWLINES:
            self._pos += 1
        self._space = True

    def _skip_block_comment(self) -> None:
        end = self.script.find("#>", self._pos + 2)
        if end == -1:
            raise self._error(
                "Missing closing '#>' for the comment block.",
                "MissingEndOfCommentBlock",
                self._pos,
                self._pos + 2,
            )
        self._pos = end + 2
        self._space = True

    def _scan_token(self, char: str) -> None:
        if char == "." and self._attached():
            self._scan_member_access()
        elif char == ":" and self._peek(1) == ":":
            self._pos += 2
            self._emit(Kind.DCOLON, "::", self._pos - 2)
            self._scan_member_name()
        elif char in _PUNCTUATION:
            self._scan_punctuation(char)
        elif char == "@":
            self._scan_at()
        elif char == "$":
            self._scan_variable()
        elif char in SINGLE_QUOTES:
            start = self._pos
            self._emit_string(self._read_single_quoted(), start)
        elif char in DOUBLE_QUOTES:
            raise self._refuse("expandable (double-quoted) strings", self._pos, self._pos + 1)
        elif char == "[":
            self._scan_type()
        else:
            self._scan_word(char)

    def _emit_string(self, value: str, start: int) -> None:
        following = self._peek()
        if following and not following.isspace() and following not in _WORD_STOPS:
            raise self._refuse("a quoted string glued to other text", start, self._pos + 1)
        self._tokens.append(Token(Kind.STRING, value, start, self._pos, self._space))
        self._space = False

    def _scan_punctuation(self, char: str) -> None:
        start = self._pos
        if char == "|" and self._peek(1) == "|":
            raise self._refuse("the pipeline chain operator '||'", start, start + 2)
        self._pos += 1
        self._emit(Kind[_PUNCTUATION[char]], char, start)

    def _scan_at(self) -> None:
        start = self._pos
        following = self._peek(1)
        if following == "(":
            self._pos += 2
            self._emit(Kind.AT_PAREN, "@(", start)
        elif following == "{":
            self._pos += 2
            self._emit(Kind.AT_BRACE, "@{", start)
        elif following in SINGLE_QUOTES or following in DOUBLE_QUOTES:
            raise self._refuse("here-strings", start, start + 2)
        else:
            raise self._refuse("splatting (@variable)", start, start + 2)

    def _scan_variable(self) -> None:
        start = self._pos
        following = self._peek(1)
        if following == "(":
            raise self._refuse("the subexpression operator $(...)", start, start + 2)
        if following == "{":
            raise self._refuse("braced variable names ${...}", start, start + 2)
        match = _VARIABLE_NAME.match(self.script, start + 1)
        if match is None:
            raise self._refuse("this variable syntax", start, start + 1)
        self._pos = match.end()
        if self._peek() == ":" and self._peek(1) != ":":
            raise self._refuse("scoped or drive-qualified variables", start, self._pos + 1)
        self._emit(Kind.VARIABLE, match.group(), start)

    def _scan_member_access(self) -> None:
        self._pos += 1
        self._emit(Kind.DOT, ".", self._pos - 1)
        self._scan_member_name()

    def _scan_member_name(self) -> None:
        match = _MEMBER_NAME.match(self.script, self._pos)
        if match is None:
            raise self._error(
                "Missing property name after reference operator.",
                "MissingPropertyName",
                self._pos - 1,
                self._pos,
            )
        start = self._pos
        self._pos = match.end()
        self._emit(Kind.MEMBER, match.group(), start)

    def _scan_type(self) -> None:
        match = _TYPE_NAME.match(self.script, self._pos)
        if match is None:
            raise self._refuse("'[' outside a type literal", self._pos, self._pos + 1)
        start = self._pos
        self._pos = match.end()
        self._emit(Kind.TYPE, match.group(1), start)

    def _scan_word(self, char: str) -> None:
        if char in _REFUSED_STARTS and not (char == "%" and self._peek(1).isalnum()):
            raise self._refuse(_REFUSED_STARTS[char], self._pos, self._pos + 1)
        start = self._pos
        value, quoted = self._read_word()
        if not quoted and _INTEGER.fullmatch(value):
            self._emit(Kind.NUMBER, value, start)
        else:
            self._emit(Kind.WORD, value, start, quoted=quoted)

    def _read_word(self) -> tuple[str, bool]:
        """Read a bare word, gluing quoted parts and escaped characters into it."""
        parts: list[str] = []
        quoted = False
        if self._peek() in DASHES:
            parts.append("-")
            self._pos += 1
        while self._pos < len(self.script):
            char = self._peek()
            if char.isspace() or char in _WORD_STOPS:
                break
            if self._word_ends_at_colon(parts, char):
                parts.append(char)
                self._pos += 1
                break
            quoted |= self._read_word_piece(char, parts)
        return "".join(parts), quoted

    @staticmethod
    def _word_ends_at_colon(parts: list[str], char: str) -> bool:
        # ``-Name:value`` ends the parameter token at the colon, as PowerShell does.
        return char == ":" and bool(parts) and parts[0] == "-"

    def _read_word_piece(self, char: str, parts: list[str]) -> bool:
        """Append the next piece of a bare word; return whether it was quoted or escaped."""
        if char in SINGLE_QUOTES:
            parts.append(self._read_single_quoted())
            return True
        if char in DOUBLE_QUOTES:
            raise self._refuse("expandable (double-quoted) strings", self._pos, self._pos + 1)
        if char == "$":
            raise self._refuse("variables inside a bare word", self._pos, self._pos + 1)
        if char == "`":
            parts.append(self._peek(1))
            self._pos += 2
            return True
        parts.append(char)
        self._pos += 1
        return False

    def _read_single_quoted(self) -> str:
        """Read a single-quoted string at the current position; return its value."""
        start = self._pos
        self._pos += 1
        chars: list[str] = []
        while self._pos < len(self.script):
            char = self._peek()
            self._pos += 1
            if char in SINGLE_QUOTES:
                if self._peek() not in SINGLE_QUOTES:
                    return "".join(chars)
                char = self._peek()
                self._pos += 1
            chars.append(char)
        raise self._error(
            "The string is missing the terminator: '.",
            "TerminatorExpectedAtEndOfString",
            start,
            len(self.script),
        )


def tokenize(script: str) -> list[Token]:
    """Tokenize ``script``; raise :class:`PSError` (a parser error) on bad input."""
    return Lexer(script).tokenize()
