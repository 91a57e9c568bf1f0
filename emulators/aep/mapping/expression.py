"""Tokenizer and recursive-descent parser for Data Prep calculated fields.

Grammar, loosest binding first::

    expr     := or
    or       := and (("||" | "or") and)*
    and      := equality (("&&" | "and") equality)*
    equality := compare (("==" | "!=" | "eq" | "ne") compare)*
    compare  := additive (("<" | ">" | "<=" | ">=" | "lt" | "gt" | "le" | "ge") additive)*
    additive := term (("+" | "-") term)*
    term     := unary (("*" | "/" | "%" | "div" | "mod") unary)*
    unary    := ("!" | "not" | "-" | "+") unary | postfix
    postfix  := primary ("." name | "." name "(" args ")" | "[" expr "]")*
    primary  := number | string | true | false | null | "(" expr ")" | "[" args "]"
              | name "(" args ")" | field
    field    := (name | "${" any text "}")

Function names are checked while parsing, so an unknown function is a validation error of the
mapping, never a failure of a record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WORD_OPERATORS = {
    "and": "&&",
    "or": "||",
    "not": "!",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "div": "/",
    "mod": "%",
}
LITERAL_WORDS = {"true": True, "false": False, "null": None}
# Reserved by the language; a field with one of these names must be written as ${name}.
RESERVED_WORDS = frozenset(
    {"new", "break", "var", "for", "while", "continue", "else", "if", "return"}
)
SYMBOLS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%")
PUNCTUATION = {"(": "LPAREN", ")": "RPAREN", "[": "LBRACKET", "]": "RBRACKET", ",": "COMMA"}
MAX_EXPRESSION_LENGTH = 4096  # the limit of Data Prep's calculated-field editor
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


class ExpressionError(ValueError):
    """The expression cannot be parsed or refers to something unsupported."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class UnsupportedFunctionError(ExpressionError):
    """The expression calls a function the language does not have."""


@dataclass(frozen=True)
class Token:
    kind: str  # NUMBER STRING NAME FIELD OP DOT LPAREN RPAREN LBRACKET RBRACKET COMMA END
    value: Any
    position: int


# -- syntax tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class ArrayLiteral:
    items: tuple


@dataclass(frozen=True)
class FieldRef:
    name: str


@dataclass(frozen=True)
class Member:
    target: Any
    name: str


@dataclass(frozen=True)
class Subscript:
    target: Any
    index: Any


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Any


@dataclass(frozen=True)
class Binary:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Call:
    name: str  # canonical function name
    args: tuple


Node = Literal | ArrayLiteral | FieldRef | Member | Subscript | Unary | Binary | Call


# -- tokenizer ---------------------------------------------------------------------------------


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "\"'":
            value, end = _read_string(text, i)
            tokens.append(Token("STRING", value, i))
            i = end
        elif char.isdigit():
            token, i = _read_number(text, i)
            tokens.append(token)
        elif text.startswith("${", i):
            end = text.find("}", i + 2)
            if end < 0:
                raise ExpressionError("Unclosed '${' field reference", i)
            tokens.append(Token("FIELD", text[i + 2 : end], i))
            i = end + 1
        elif _is_name_start(char):
            end = i + 1
            while end < len(text) and _is_name_part(text[end]):
                end += 1
            tokens.append(Token("NAME", text[i:end], i))
            i = end
        elif char == ".":
            tokens.append(Token("DOT", ".", i))
            i += 1
        elif char in PUNCTUATION:
            tokens.append(Token(PUNCTUATION[char], char, i))
            i += 1
        else:
            symbol = next((s for s in SYMBOLS if text.startswith(s, i)), None)
            if symbol is None:
                raise ExpressionError(f"Unexpected character '{char}' at position {i}", i)
            tokens.append(Token("OP", symbol, i))
            i += len(symbol)
    tokens.append(Token("END", None, len(text)))
    return tokens


def _is_name_start(char: str) -> bool:
    return char.isalpha() or char in "_$"


def _is_name_part(char: str) -> bool:
    return char.isalnum() or char in "_$"


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            chars.append(ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
        elif char == quote:
            return "".join(chars), i + 1
        else:
            chars.append(char)
            i += 1
    raise ExpressionError(f"Unclosed string starting at position {start}", start)


def _number_text(text: str, start: int) -> str:
    i = start
    while i < len(text) and text[i].isdigit():
        i += 1
    if i + 1 < len(text) and text[i] == "." and text[i + 1].isdigit():
        i += 1
        while i < len(text) and text[i].isdigit():
            i += 1
    if i < len(text) and text[i] in "eE":
        j = i + 1
        if j < len(text) and text[j] in "+-":
            j += 1
        if j < len(text) and text[j].isdigit():
            i = j
            while i < len(text) and text[i].isdigit():
                i += 1
    return text[start:i]


def _read_number(text: str, start: int) -> tuple[Token, int]:
    raw = _number_text(text, start)
    end = start + len(raw)
    if end < len(text) and _is_name_part(text[end]):
        raise ExpressionError(f"Invalid number '{raw}{text[end]}' at position {start}", start)
    value = int(raw) if raw.isdigit() else float(raw)
    return Token("NUMBER", value, start), end


# -- parser ------------------------------------------------------------------------------------

FunctionResolver = Callable[[str, int, int], str]
"""(name as written, argument count, position) -> canonical name, or raise ExpressionError."""


def parse(text: str, resolve_function: FunctionResolver) -> Node:
    if not text or not text.strip():
        raise ExpressionError("Expression is empty", 0)
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"Expression is longer than {MAX_EXPRESSION_LENGTH} characters", MAX_EXPRESSION_LENGTH
        )
    parser = _Parser(tokenize(text), resolve_function)
    try:
        node = parser.expression()
    except RecursionError as exc:
        raise ExpressionError("Expression is nested too deeply", 0) from exc
    parser.expect("END")
    return node


class _Parser:
    def __init__(self, tokens: list[Token], resolve_function: FunctionResolver) -> None:
        self.tokens = tokens
        self.index = 0
        self.resolve_function = resolve_function

    # token helpers

    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def expect(self, kind: str) -> Token:
        token = self.peek()
        if token.kind != kind:
            raise _unexpected(token)
        return self.advance()

    def operator(self, *symbols: str) -> str | None:
        """Consume and return the next token if it is one of the (normalised) operators."""
        token = self.peek()
        symbol = None
        if token.kind == "OP":
            symbol = token.value
        elif token.kind == "NAME" and token.value in WORD_OPERATORS:
            symbol = WORD_OPERATORS[token.value]
        if symbol in symbols:
            self.advance()
            return symbol
        return None

    # grammar

    def expression(self) -> Node:
        return self.binary_level(0)

    LEVELS = (("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%"))

    def binary_level(self, level: int) -> Node:
        if level == len(self.LEVELS):
            return self.unary()
        node = self.binary_level(level + 1)
        while symbol := self.operator(*self.LEVELS[level]):
            node = Binary(symbol, node, self.binary_level(level + 1))
        return node

    def unary(self) -> Node:
        symbol = self.operator("!", "-", "+")
        if symbol:
            return Unary(symbol, self.unary())
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            token = self.peek()
            if token.kind == "DOT":
                self.advance()
                name_token = self.advance()
                if name_token.kind not in ("NAME", "FIELD"):
                    raise _unexpected(name_token)
                if name_token.kind == "NAME" and self.peek().kind == "LPAREN":
                    node = self.method_call(node, name_token)
                else:
                    node = Member(node, name_token.value)
            elif token.kind == "LBRACKET":
                self.advance()
                index = self.expression()
                self.expect("RBRACKET")
                node = Subscript(node, index)
            else:
                return node

    def method_call(self, receiver: Node, name_token: Token) -> Node:
        args = self.arguments()
        canonical = self.resolve_function(name_token.value, len(args) + 1, name_token.position)
        return Call(canonical, (receiver, *args))

    def primary(self) -> Node:
        token = self.advance()
        if token.kind in ("NUMBER", "STRING"):
            return Literal(token.value)
        if token.kind == "FIELD":
            return FieldRef(token.value)
        if token.kind == "LPAREN":
            node = self.expression()
            self.expect("RPAREN")
            return node
        if token.kind == "LBRACKET":
            return ArrayLiteral(tuple(self.items_until("RBRACKET")))
        if token.kind == "NAME":
            return self.name(token)
        raise _unexpected(token)

    def name(self, token: Token) -> Node:
        word = token.value
        if word in LITERAL_WORDS:
            return Literal(LITERAL_WORDS[word])
        if self.peek().kind == "LPAREN":
            args = self.arguments()
            return Call(self.resolve_function(word, len(args), token.position), tuple(args))
        if word in RESERVED_WORDS or word in WORD_OPERATORS:
            raise ExpressionError(
                f"'{word}' is a reserved word; write the field as ${{{word}}}", token.position
            )
        return FieldRef(word)

    def arguments(self) -> list[Node]:
        self.expect("LPAREN")
        return self.items_until("RPAREN")

    def items_until(self, closing: str) -> list[Node]:
        items: list[Node] = []
        if self.peek().kind == closing:
            self.advance()
            return items
        while True:
            items.append(self.expression())
            if self.peek().kind == closing:
                self.advance()
                return items
            self.expect("COMMA")


def _unexpected(token: Token) -> ExpressionError:
    if token.kind == "END":
        return ExpressionError("Unexpected end of expression", token.position)
    shown = token.value if token.kind != "STRING" else f'"{token.value}"'
    return ExpressionError(f"Unexpected '{shown}' at position {token.position}", token.position)
