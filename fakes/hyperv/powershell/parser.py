"""Parser of the PowerShell subset: tokens in, :mod:`~fakes.hyperv.powershell.ast` out.

Grammar (what the hyperv contract allows, and nothing else)::

    script     := statement ((';' | NEWLINE) statement)*
    statement  := VARIABLE '=' pipeline | pipeline
    pipeline   := (command | expression) ('|' command)*
    command    := WORD (PARAMETER | argument)*
    argument   := primary (',' primary)*            (bare words are strings)
    expression := logical ; logical := compare (('-and'|'-or') compare)*
    compare    := comma (('-eq'|'-ne'|...) comma)?
    comma      := unary (',' unary)*
    unary      := '-not' unary | TYPE unary | postfix
    postfix    := primary ('.' MEMBER ['(' args ')'] | '::' MEMBER ['(' args ')'])*
    primary    := STRING | NUMBER | VARIABLE | '@(' script ')' | '@{' hash '}'
                | '(' pipeline ')' | '{' script '}' | TYPE

Keywords (``if``, ``foreach``, ``function``...) are refused with a parser
error naming them, as is any token the grammar does not expect.
"""

from __future__ import annotations

from fakes.hyperv.powershell import ast
from fakes.hyperv.powershell.errors import PSError, parse_error, unsupported_construct
from fakes.hyperv.powershell.lexer import Kind, Token, position_of, tokenize

_KEYWORDS = frozenset(
    [
        *("begin", "break", "catch", "class", "continue", "data", "define", "do"),
        *("dynamicparam", "else", "elseif", "end", "exit", "filter", "finally", "for"),
        *("foreach", "from", "function", "if", "in", "param", "process", "return"),
        *("switch", "throw", "trap", "try", "until", "using", "var", "while", "workflow"),
    ]
)
_COMPARISONS = frozenset(["-eq", "-ne", "-ieq", "-ine", "-ceq", "-cne"])
_LOGICAL = frozenset(["-and", "-or"])
_STATEMENT_ENDS = frozenset([Kind.NEWLINE, Kind.SEMI, Kind.EOF, Kind.RPAREN, Kind.RBRACE])
_COMMAND_ENDS = _STATEMENT_ENDS | {Kind.PIPE}
_PRIMARY_STARTS = frozenset(
    [
        Kind.STRING,
        Kind.NUMBER,
        Kind.VARIABLE,
        Kind.AT_PAREN,
        Kind.AT_BRACE,
        Kind.LPAREN,
        Kind.LBRACE,
        Kind.TYPE,
    ]
)


class Parser:
    """Recursive-descent parser over the token list of one script."""

    def __init__(self, script: str) -> None:
        self.script = script
        self._tokens = tokenize(script)
        self._index = 0

    # -- token helpers -----------------------------------------------------------------

    @property
    def _token(self) -> Token:
        return self._tokens[self._index]

    def _peek(self, offset: int = 1) -> Token:
        return self._tokens[min(self._index + offset, len(self._tokens) - 1)]

    def _advance(self) -> Token:
        token = self._token
        self._index = min(self._index + 1, len(self._tokens) - 1)
        return token

    def _at(self, *kinds: Kind) -> bool:
        """Whether the current token is of one of ``kinds`` (a call, so mypy does not narrow)."""
        return self._token.kind in kinds

    def _expect(self, kind: Kind, text: str, error_id: str) -> Token:
        if self._token.kind is not kind:
            raise self._error(f"Missing closing '{text}' in expression.", error_id, self._token)
        return self._advance()

    def _error(self, message: str, error_id: str, token: Token) -> PSError:
        end = max(token.end, token.start + 1)
        return parse_error(message, error_id, position_of(self.script, token.start, end))

    def _unexpected(self, token: Token) -> PSError:
        if token.kind is Kind.EOF:
            return self._error(
                "You must provide a value expression following this operator.",
                "ExpectedValueExpression",
                self._tokens[max(self._index - 1, 0)],
            )
        return self._error(
            f"Unexpected token '{token.value}' in expression or statement.",
            "UnexpectedToken",
            token,
        )

    def _refuse(self, construct: str, token: Token) -> PSError:
        end = max(token.end, token.start + 1)
        return unsupported_construct(construct, position_of(self.script, token.start, end))

    def _skip_newlines(self) -> None:
        while self._token.kind is Kind.NEWLINE:
            self._advance()

    # -- statements --------------------------------------------------------------------

    def parse_script(self) -> ast.Script:
        statements = self._statements(Kind.EOF)
        return ast.Script(0, len(self.script), tuple(statements))

    def _statements(self, closing: Kind) -> list[ast.Node]:
        statements: list[ast.Node] = []
        while True:
            while self._token.kind in (Kind.NEWLINE, Kind.SEMI):
                self._advance()
            if self._token.kind is closing or self._token.kind is Kind.EOF:
                return statements
            statements.append(self._statement())
            if self._token.kind not in (Kind.NEWLINE, Kind.SEMI, closing):
                raise self._unexpected(self._token)

    def _statement(self) -> ast.Node:
        token = self._token
        if token.kind is Kind.VARIABLE and self._peek().kind is Kind.EQUALS:
            self._advance()
            self._advance()
            self._skip_newlines()
            value = self._pipeline()
            return ast.Assignment(token.start, value.end, token.value, value)
        return self._pipeline()

    def _pipeline(self) -> ast.Node:
        first = self._pipeline_element(first=True)
        elements = [first]
        while self._token.kind is Kind.PIPE:
            self._advance()
            self._skip_newlines()
            elements.append(self._pipeline_element(first=False))
        if len(elements) == 1 and not isinstance(first, ast.Command):
            return first
        return ast.Pipeline(first.start, elements[-1].end, tuple(elements))

    def _pipeline_element(self, *, first: bool) -> ast.Node:
        token = self._token
        if token.kind is Kind.WORD and not token.is_parameter:
            return self._command()
        ends = token.kind in _STATEMENT_ENDS or token.kind is Kind.PIPE
        if ends and not first:
            raise self._error("An empty pipe element is not allowed.", "EmptyPipeElement", token)
        if ends:
            raise self._unexpected(token)
        if not first:
            raise self._error(
                "Expressions are only allowed as the first element of a pipeline.",
                "ExpressionsMustBeFirstInPipeline",
                token,
            )
        return self._expression()

    # -- commands ----------------------------------------------------------------------

    def _command(self) -> ast.Command:
        name_token = self._advance()
        if not name_token.quoted and name_token.value.lower() in _KEYWORDS:
            raise self._refuse(f"the '{name_token.value}' keyword", name_token)
        if name_token.value == "-":
            raise self._unexpected(name_token)
        elements: list[ast.Node] = []
        end = name_token.end
        while self._token.kind not in _COMMAND_ENDS:
            element = self._command_element()
            elements.append(element)
            end = element.end
        return ast.Command(name_token.start, end, name_token.value, tuple(elements))

    def _command_element(self) -> ast.Node:
        token = self._token
        if not token.is_parameter:
            return self._command_argument()
        self._advance()
        name = token.value[1:]
        if not name.endswith(":"):
            return ast.CommandParameter(token.start, token.end, name, None)
        if self._token.kind in _COMMAND_ENDS:
            raise self._error(
                f"Missing an argument for parameter '{name[:-1]}'.", "MissingArgument", token
            )
        argument = self._command_argument()
        return ast.CommandParameter(token.start, argument.end, name[:-1], argument)

    def _command_argument(self) -> ast.Node:
        items = [self._argument_primary()]
        while self._token.kind is Kind.COMMA:
            self._advance()
            self._skip_newlines()
            items.append(self._argument_primary())
        if len(items) == 1:
            return items[0]
        return ast.ArrayLiteral(items[0].start, items[-1].end, tuple(items))

    def _argument_primary(self) -> ast.Node:
        token = self._token
        if token.kind is Kind.WORD and not token.is_parameter:
            self._advance()
            return ast.BareWord(token.start, token.end, token.value)
        if token.kind is Kind.TYPE:
            raise self._refuse("type literals as command arguments", token)
        if token.kind not in _PRIMARY_STARTS:
            raise self._unexpected(token)
        return self._postfix()

    # -- expressions -------------------------------------------------------------------

    def _expression(self) -> ast.Node:
        left = self._comparison()
        while self._is_operator(_LOGICAL):
            operator = self._advance().value.lower()
            self._skip_newlines()
            right = self._comparison()
            left = ast.BinaryOperation(left.start, right.end, operator, left, right)
        return left

    def _is_operator(self, operators: frozenset[str]) -> bool:
        token = self._token
        return token.kind is Kind.WORD and not token.quoted and token.value.lower() in operators

    def _comparison(self) -> ast.Node:
        left = self._comma()
        if self._is_operator(_COMPARISONS):
            operator = self._advance().value.lower()
            self._skip_newlines()
            right = self._comma()
            left = ast.BinaryOperation(left.start, right.end, operator, left, right)
        token = self._token
        if token.is_parameter and token.value.lower() not in _LOGICAL:
            raise self._refuse(f"the '{token.value}' operator", token)
        return left

    def _comma(self) -> ast.Node:
        items = [self._unary()]
        while self._token.kind is Kind.COMMA:
            self._advance()
            self._skip_newlines()
            items.append(self._unary())
        if len(items) == 1:
            return items[0]
        return ast.ArrayLiteral(items[0].start, items[-1].end, tuple(items))

    def _unary(self) -> ast.Node:
        token = self._token
        if self._is_operator(frozenset(["-not"])):
            self._advance()
            operand = self._unary()
            return ast.NotOperation(token.start, operand.end, operand)
        if token.kind is Kind.TYPE and self._peek().kind is not Kind.DCOLON:
            self._advance()
            if self._token.kind not in _PRIMARY_STARTS:
                return ast.TypeLiteral(token.start, token.end, token.value)
            operand = self._unary()
            return ast.Cast(token.start, operand.end, token.value, operand)
        if token.kind not in _PRIMARY_STARTS:
            raise self._unexpected(token)
        return self._postfix()

    def _postfix(self) -> ast.Node:
        node = self._primary()
        while self._token.kind in (Kind.DOT, Kind.DCOLON):
            static = self._advance().kind is Kind.DCOLON
            member = self._advance()
            if self._at(Kind.LPAREN) and not self._token.space_before:
                node = self._method_call(node, member.value, static)
            else:
                node = ast.MemberAccess(node.start, member.end, node, member.value, static)
        return node

    def _method_call(self, target: ast.Node, method: str, static: bool) -> ast.Node:
        self._advance()
        arguments: list[ast.Node] = []
        self._skip_newlines()
        while not self._at(Kind.RPAREN):
            arguments.append(self._comparison_without_comma())
            self._skip_newlines()
            if self._at(Kind.COMMA):
                self._advance()
                self._skip_newlines()
            elif not self._at(Kind.RPAREN):
                raise self._unexpected(self._token)
        end = self._advance().end
        return ast.MethodCall(target.start, end, target, method, tuple(arguments), static)

    def _comparison_without_comma(self) -> ast.Node:
        left = self._unary()
        if self._is_operator(_COMPARISONS):
            operator = self._advance().value.lower()
            right = self._unary()
            left = ast.BinaryOperation(left.start, right.end, operator, left, right)
        return left

    def _primary(self) -> ast.Node:
        token = self._advance()
        if token.kind is Kind.STRING:
            return ast.StringConstant(token.start, token.end, token.value)
        if token.kind is Kind.NUMBER:
            return ast.NumberConstant(token.start, token.end, int(token.value))
        if token.kind is Kind.VARIABLE:
            return ast.Variable(token.start, token.end, token.value)
        if token.kind is Kind.TYPE:
            return ast.TypeLiteral(token.start, token.end, token.value)
        if token.kind is Kind.AT_PAREN:
            statements = self._statements(Kind.RPAREN)
            end = self._expect(Kind.RPAREN, ")", "MissingEndParenthesisInSubexpression").end
            return ast.ArrayExpression(token.start, end, tuple(statements))
        if token.kind is Kind.LPAREN:
            return self._paren(token)
        if token.kind is Kind.LBRACE:
            return self._script_block(token)
        return self._hashtable(token)

    def _paren(self, opening: Token) -> ast.Node:
        self._skip_newlines()
        inner = self._statement()
        self._skip_newlines()
        end = self._expect(Kind.RPAREN, ")", "MissingEndParenthesisInExpression").end
        if isinstance(inner, ast.Assignment):
            raise self._refuse("assignments inside parentheses", opening)
        return ast.ParenExpression(opening.start, end, inner)

    def _script_block(self, opening: Token) -> ast.ScriptBlock:
        statements = self._statements(Kind.RBRACE)
        closing = self._expect(Kind.RBRACE, "}", "MissingEndCurlyBrace")
        text = self.script[opening.end : closing.start]
        return ast.ScriptBlock(opening.start, closing.end, tuple(statements), text)

    def _hashtable(self, opening: Token) -> ast.HashtableLiteral:
        entries: list[tuple[str, ast.Node]] = []
        seen: set[str] = set()
        while True:
            while self._token.kind in (Kind.NEWLINE, Kind.SEMI):
                self._advance()
            if self._token.kind is Kind.RBRACE:
                break
            key_token, value = self._hash_entry()
            if key_token.value.lower() in seen:
                raise self._error(
                    f"Duplicate keys '{key_token.value}' are not allowed in hash literals.",
                    "DuplicateKeyInHashLiteral",
                    key_token,
                )
            seen.add(key_token.value.lower())
            entries.append((key_token.value, value))
        end = self._expect(Kind.RBRACE, "}", "MissingEndCurlyBrace").end
        return ast.HashtableLiteral(opening.start, end, tuple(entries))

    def _hash_entry(self) -> tuple[Token, ast.Node]:
        key_token = self._advance()
        if key_token.kind not in (Kind.WORD, Kind.STRING, Kind.NUMBER) or key_token.is_parameter:
            raise self._error(
                "Missing key before '=' in hash literal.", "MissingEqualsInHashLiteral", key_token
            )
        if self._token.kind is not Kind.EQUALS:
            raise self._error(
                "Missing '=' operator after key in hash literal.",
                "MissingEqualsInHashLiteral",
                self._token,
            )
        self._advance()
        self._skip_newlines()
        value = self._statement()
        if isinstance(value, ast.Assignment):
            raise self._refuse("assignments inside hash literals", key_token)
        if self._token.kind not in (Kind.NEWLINE, Kind.SEMI, Kind.RBRACE):
            raise self._unexpected(self._token)
        return key_token, value


def parse(script: str) -> ast.Script:
    """Parse a whole script; raise :class:`PSError` (a parser error) if it is not valid."""
    return Parser(script).parse_script()
