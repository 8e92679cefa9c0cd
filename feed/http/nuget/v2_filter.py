"""NuGet v2's OData `$filter` and `$orderby`: the small subset NuGet clients send, parsed safely.

A filter compiles to a predicate over a dict of entry properties (`Id`, `Version`,
`IsLatestVersion`, ...). Anything outside the subset is refused with a message that names
the text, never guessed at: a wrong guess would hide or show packages silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from feed.core.errors import BadRequest

MAX_FILTER_LENGTH = 4096
MAX_DEPTH = 32

Entry = Mapping[str, Any]
Predicate = Callable[[Entry], bool]
_Value = Callable[[Entry], Any]

PROPERTIES = (
    "Id",
    "Version",
    "NormalizedVersion",
    "Title",
    "Description",
    "Summary",
    "Tags",
    "Authors",
    "IsLatestVersion",
    "IsAbsoluteLatestVersion",
    "IsPrerelease",
    "Listed",
    "Published",
    "DownloadCount",
)
_PROPERTY_BY_LOWER = {name.lower(): name for name in PROPERTIES}

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<punct>[(),]))"
)
_OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le")
_STRING_FUNCTIONS = {
    "tolower": lambda s: s.lower(),
    "toupper": lambda s: s.upper(),
    "trim": lambda s: s.strip(),
}
_TEST_FUNCTIONS = {
    # OData v2's substringof(needle, haystack) takes its arguments in this order
    "substringof": lambda needle, hay: needle in hay,
    "startswith": lambda hay, prefix: hay.startswith(prefix),
    "endswith": lambda hay, suffix: hay.endswith(suffix),
}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    """Split a filter into strings, numbers, names and punctuation; refuse anything else."""
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _error(text, position, "unexpected character")
        kind = match.lastgroup or ""
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


def _error(text: str, position: int, reason: str) -> BadRequest:
    """Build the error that names the filter and where it went wrong."""
    return BadRequest(
        f"$filter {text!r} is not supported: {reason} at position {position} "
        f"({text[position : position + 20]!r}); this feed understands eq/ne, and/or/not, "
        "parentheses, tolower/toupper/trim, substringof/startswith/endswith and the "
        "properties " + ", ".join(PROPERTIES)
    )


class _Parser:
    """Recursive descent over the tokens: or > and > not > comparison > operand."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.properties: set[str] = set()  # the properties the filter reads

    def parse(self) -> Predicate:
        """Parse the whole filter; every token must be used."""
        value = self._or()
        if self.index < len(self.tokens):
            raise self._fail("unexpected text")
        return _as_predicate(value)

    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "name" and token.text.lower() == word:
            self.index += 1
            return True
        return False

    def _punct(self, char: str) -> None:
        token = self._peek()
        if token is None or token.text != char:
            raise self._fail(f"expected {char!r}")
        self.index += 1

    def _fail(self, reason: str) -> BadRequest:
        token = self._peek()
        return _error(self.text, token.position if token else len(self.text), reason)

    def _nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._fail(f"nested deeper than {MAX_DEPTH} levels")

    def _or(self) -> _Value:
        self._nested()
        parts = [self._and()]
        while self._keyword("or"):
            parts.append(self._and())
        self.depth -= 1
        if len(parts) == 1:
            return parts[0]
        tests = [_as_predicate(p) for p in parts]
        return lambda entry: any(test(entry) for test in tests)

    def _and(self) -> _Value:
        parts = [self._not()]
        while self._keyword("and"):
            parts.append(self._not())
        if len(parts) == 1:
            return parts[0]
        tests = [_as_predicate(p) for p in parts]
        return lambda entry: all(test(entry) for test in tests)

    def _not(self) -> _Value:
        if self._keyword("not"):
            self._nested()
            inner = _as_predicate(self._not())
            self.depth -= 1
            return lambda entry: not inner(entry)
        return self._comparison()

    def _comparison(self) -> _Value:
        left = self._operand()
        token = self._peek()
        if token is None or token.kind != "name" or token.text.lower() not in _OPERATORS:
            return left
        self.index += 1
        right = self._operand()
        return _compare(token.text.lower(), left, right)

    def _operand(self) -> _Value:
        token = self._peek()
        if token is None:
            raise self._fail("the filter ends too early")
        self.index += 1
        if token.text == "(":
            inner = self._or()
            self._punct(")")
            return inner
        if token.kind == "string":
            literal = token.text[1:-1].replace("''", "'")
            return lambda entry: literal
        if token.kind == "number":
            number = int(token.text)
            return lambda entry: number
        if token.kind != "name":
            self.index -= 1
            raise self._fail("expected a value")
        return self._name(token)

    def _name(self, token: _Token) -> _Value:
        word = token.text.lower()
        if word in ("true", "false"):
            constant = word == "true"
            return lambda entry: constant
        if word == "null":
            return lambda entry: None
        following = self._peek()
        if following is not None and following.text == "(":
            return self._call(token)
        name = _PROPERTY_BY_LOWER.get(word)
        if name is None:
            self.index -= 1
            raise self._fail(f"unknown property {token.text!r}")
        self.properties.add(name)
        return lambda entry: entry.get(name)

    def _call(self, token: _Token) -> _Value:
        word = token.text.lower()
        self._punct("(")
        self._nested()
        args = [self._or()]
        while self._peek() is not None and self._peek().text == ",":  # type: ignore[union-attr]
            self.index += 1
            args.append(self._or())
        self._punct(")")
        self.depth -= 1
        if word in _STRING_FUNCTIONS and len(args) == 1:
            function, (arg,) = _STRING_FUNCTIONS[word], args
            return lambda entry: _text_or_none(function, arg(entry))
        if word in _TEST_FUNCTIONS and len(args) == 2:
            test, (first, second) = _TEST_FUNCTIONS[word], args
            return lambda entry: _test(test, first(entry), second(entry))
        if word == "length" and len(args) == 1:
            (arg,) = args
            return lambda entry: len(arg(entry) or "")
        self.index -= 1
        raise self._fail(f"unknown function {token.text}() with {len(args)} argument(s)")


def _text(value: Any) -> str:
    """Turn a property value into the text string functions work on (lists joined by spaces)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def _text_or_none(function: Callable[[str], str], value: Any) -> str | None:
    return None if value is None else function(_text(value))


def _test(test: Callable[[str, str], bool], first: Any, second: Any) -> bool:
    return test(_text(first), _text(second))


def _compare(operator: str, left: _Value, right: _Value) -> Predicate:
    """Compare two operands: text as text (lists joined), booleans and numbers as they are."""

    def normal(value: Any) -> Any:
        return _text(value) if isinstance(value, list | tuple) else value

    def check(entry: Entry) -> bool:
        a, b = normal(left(entry)), normal(right(entry))
        if operator == "eq":
            return a == b
        if operator == "ne":
            return a != b
        if a is None or b is None or type(a) is not type(b):
            return False
        return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[operator]

    return check


def _as_predicate(value: _Value) -> Predicate:
    """Use a value as a test: a boolean property alone (`IsLatestVersion`) means `eq true`."""
    return lambda entry: value(entry) is True


def parse_filter(text: str | None) -> Predicate:
    """Compile `$filter` into a predicate over entry properties; empty means everything."""
    return parse_filter_reading(text)[0]


def parse_filter_reading(text: str | None) -> tuple[Predicate, frozenset[str]]:
    """Compile `$filter`, and say which properties it reads (some need no record)."""
    if text is None or not text.strip():
        return (lambda entry: True), frozenset()
    if len(text) > MAX_FILTER_LENGTH:
        raise BadRequest(
            f"$filter is {len(text)} characters long; the limit is {MAX_FILTER_LENGTH}"
        )
    parser = _Parser(text)
    return parser.parse(), frozenset(parser.properties)


ORDERABLE = ("Id", "Version", "Published", "DownloadCount")


def parse_orderby(text: str | None) -> list[tuple[str, bool]]:
    """Read `$orderby` as [(property, descending)]; Id, Version, Published, DownloadCount."""
    if text is None or not text.strip():
        return []
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        name = _PROPERTY_BY_LOWER.get(words[0].lower()) if words else None
        direction = words[1].lower() if len(words) == 2 else "asc"
        if name not in ORDERABLE or len(words) > 2 or direction not in ("asc", "desc"):
            raise BadRequest(
                f"$orderby {text!r} is not supported: use one or more of "
                f"{', '.join(ORDERABLE)}, each optionally followed by asc or desc"
            )
        keys.append((name, direction == "desc"))  # type: ignore[arg-type]
    return keys
