"""Java `.properties` files for structured variables: replace a value, keep every other byte.

A variable `a:b:c` names the property `a:b:c` or, as Java spells it, `a.b.c`. Only the value
part of the matched logical lines (continuations included) is rewritten; comments, blank
lines, separators and order stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

_HEX = set("0123456789abcdefABCDEF")
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


@dataclass
class _Entry:
    """One logical `key = value` line: where it is and how its key and value read."""

    first: int  # index of its first physical line
    last: int  # index of its last physical line (continuations)
    key: str
    head: str  # the text up to where the value starts, kept as it is
    value: str


class PropertiesDocument:
    """A parsed `.properties` file whose values can be looked up and replaced by key."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.lines = text.splitlines(keepends=True)
        self.entries = list(_parse(self.lines))

    def _matching(self, keys: list[str]) -> list[_Entry]:
        wanted = {":".join(keys), ".".join(keys)}
        return [entry for entry in self.entries if entry.key in wanted]

    def lookup(self, keys: list[str]) -> str | None:
        """Return the value of the property (the last one, as Java reads it), or None."""
        found = self._matching(keys)
        return found[-1].value if found else None

    def replace(self, keys: list[str], text: str) -> tuple[str, str] | None:
        """Set every line of the property to `text`; return (old, new) or None when absent."""
        found = self._matching(keys)
        if not found:
            return None
        old = found[-1].value
        for entry in reversed(found):  # from the end, so earlier indices stay valid
            ending = _line_ending(self.lines[entry.last])
            self.lines[entry.first : entry.last + 1] = [entry.head + _escape(text) + ending]
        self.entries = list(_parse(self.lines))
        return old, text

    def render(self) -> str:
        """Return the file's text."""
        return "".join(self.lines)


def _parse(lines: list[str]) -> list[_Entry]:
    """Read the logical lines of a properties file (comments and blanks skipped)."""
    entries: list[_Entry] = []
    index = 0
    while index < len(lines):
        first = index
        physical = lines[index].rstrip("\r\n")
        parts = [physical]
        while _continues(physical) and index + 1 < len(lines):
            index += 1
            physical = lines[index].rstrip("\r\n")
            parts.append(physical)
        index += 1
        stripped = parts[0].lstrip()
        if not stripped or stripped[0] in "#!":
            continue
        head, key, raw_value = _split(parts[0])
        continued = [raw_value] + [p.lstrip() for p in parts[1:]]
        value = "".join(part[:-1] if _continues(part) else part for part in continued)
        entries.append(_Entry(first, index - 1, _unescape(key), head, _unescape(value)))
    return entries


def _split(line: str) -> tuple[str, str, str]:
    """Split a first physical line into (head up to the value, raw key, raw value)."""
    start = len(line) - len(line.lstrip())
    pos = start
    while pos < len(line) and line[pos] not in "=: \t\f":
        pos += 2 if line[pos] == "\\" else 1
    key_end = min(pos, len(line))
    while pos < len(line) and line[pos] in " \t\f":
        pos += 1
    if pos < len(line) and line[pos] in "=:":
        pos += 1
        while pos < len(line) and line[pos] in " \t\f":
            pos += 1
    return line[:pos], line[start:key_end], line[pos:]


def _continues(line: str) -> bool:
    """True when a line ends in an odd number of backslashes (the value goes on)."""
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _unescape(text: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            index += 1
            nxt = text[index]
            digits = text[index + 1 : index + 5]
            if nxt == "u" and len(digits) == 4 and all(c in _HEX for c in digits):
                out.append(chr(int(digits, 16)))
                index += 4
            else:
                out.append(_ESCAPES.get(nxt, nxt))
        else:
            out.append(char)
        index += 1
    return "".join(out)


def _escape(text: str) -> str:
    """Escape a value for a properties file: backslashes, line breaks, a leading blank."""
    out = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    out = out.replace("\t", "\\t")
    return "\\" + out if out.startswith(" ") else out


def _line_ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]
