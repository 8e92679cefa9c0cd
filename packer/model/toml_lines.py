"""Where keys and tables sit in a TOML text, so manifest errors can name their line.

tomllib gives values, not positions; this scanner walks the text once and records, for
every table header and key, the lines it spans (a multi-line array spans several). It
understands what a hand-written manifest holds: headers, dotted and quoted keys, strings,
multi-line strings and arrays, comments. Anything it cannot place falls back to the
nearest enclosing table it could.
"""

from __future__ import annotations

from collections.abc import Iterator

Path = tuple[str, ...]


class TomlLines:
    """Line numbers (1-based) of the tables and keys of one TOML text."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.spans: dict[Path, tuple[int, int]] = {}
        self._scan()

    def line_of(self, path: Path) -> int:
        """Return the line of `path`, or of its nearest recorded ancestor (else 1)."""
        for end in range(len(path), 0, -1):
            span = self.spans.get(tuple(path[:end]))
            if span:
                return span[0]
        return 1

    def line_of_item(self, path: Path, item: str) -> int:
        """Return the line of the string `item` inside the array at `path`."""
        start, end = self.spans.get(tuple(path), (0, 0))
        if not start:
            return self.line_of(path)
        for number in range(start, end + 1):
            text = self.lines[number - 1]
            if f'"{item}"' in text or f"'{item}'" in text:
                return number
        return start

    def _scan(self) -> None:
        table: Path = ()
        open_key: Path | None = None  # a key whose array or string goes on below
        depth = 0
        closing: str | None = None  # the delimiter of an open multi-line string
        for number, raw in enumerate(self.lines, start=1):
            if closing is not None:
                if closing in raw:
                    closing = None
                self._extend(open_key, number)
                continue
            if depth > 0:
                depth += _bracket_balance(raw)
                self._extend(open_key, number)
                continue
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                inner = line[2:] if line.startswith("[[") else line[1:]
                table = tuple(split_key(_until_unquoted(inner, "]")))
                self.spans.setdefault(table, (number, number))
                continue
            key_text = _until_unquoted(line, "=")
            if key_text == line:
                continue  # not a key line; tomllib reports it
            open_key = table + tuple(split_key(key_text))
            self.spans.setdefault(open_key, (number, number))
            value = line[len(key_text) + 1 :].strip()
            for delimiter in ('"""', "'''"):
                if value.startswith(delimiter) and delimiter not in value[3:]:
                    closing = delimiter
            if closing is None:
                depth = _bracket_balance(value)

    def _extend(self, key: Path | None, number: int) -> None:
        if key is not None and key in self.spans:
            self.spans[key] = (self.spans[key][0], number)


def split_key(text: str) -> list[str]:
    """Split a (dotted, possibly quoted) TOML key into its parts."""
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote == '"' and index + 1 < len(text):
                index += 1
                current.append(text[index])
            elif char == quote:
                quote = None
            else:
                current.append(char)
        elif char in "\"'":
            quote = char
        elif char == ".":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        index += 1
    parts.append("".join(current).strip())
    return parts


def _unquoted(text: str) -> Iterator[tuple[int, str]]:
    """Yield (index, char) for every character outside a TOML string (quotes included)."""
    quote: str | None = None
    skip = False
    for index, char in enumerate(text):
        if skip:
            skip = False
        elif quote:
            if char == "\\" and quote == '"':
                skip = True
            elif char == quote:
                quote = None
        else:
            if char in "\"'":
                quote = char
            yield index, char


def _until_unquoted(text: str, stop: str) -> str:
    """Return `text` up to the first `stop` outside quotes (all of it when there is none)."""
    for index, char in _unquoted(text):
        if char == stop:
            return text[:index]
    return text


def _bracket_balance(text: str) -> int:
    """Count `[` minus `]` outside strings and comments."""
    balance = 0
    for _, char in _unquoted(text):
        if char == "#":
            break
        if char == "[":
            balance += 1
        elif char == "]":
            balance -= 1
    return balance
