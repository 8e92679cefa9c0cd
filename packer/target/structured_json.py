"""Where each value of a JSON text sits, so a replacement rewrites only that value's bytes.

json.loads gives values without positions; this small scanner walks the text once (after
json.loads accepted it) and records the character span of every value by its key path.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring
from typing import Any

Slot = str | int
_SPACE = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")


def value_spans(text: str) -> dict[tuple[Slot, ...], tuple[int, int]]:
    """Map each key path (object keys, array indices) to the (start, end) of its value."""
    spans: dict[tuple[Slot, ...], tuple[int, int]] = {}
    _value(text, _skip(text, 0), (), spans)
    return spans


def replace_values(text: str, replacements: dict[tuple[Slot, ...], Any]) -> str | None:
    """Rewrite the values at the given paths in place; None when spans overlap or are unknown."""
    spans = value_spans(text)
    edits = []
    for path, value in replacements.items():
        if path not in spans:
            return None
        edits.append((*spans[path], json.dumps(value, ensure_ascii=False)))
    edits.sort()
    for (_, end, _), (start, _, _) in zip(edits, edits[1:], strict=False):
        if start < end:
            return None  # a section and a value inside it: let the caller re-dump
    for start, end, new in reversed(edits):
        text = text[:start] + new + text[end:]
    return text


def _skip(text: str, pos: int) -> int:
    return _SPACE.match(text, pos).end()  # type: ignore[union-attr]


def _value(
    text: str, pos: int, path: tuple[Slot, ...], spans: dict[tuple[Slot, ...], tuple[int, int]]
) -> int:
    """Scan the value at `pos`; record its span; return the position after it."""
    char = text[pos]
    if char == "{":
        end = _container(text, pos, path, spans, "}", keyed=True)
    elif char == "[":
        end = _container(text, pos, path, spans, "]", keyed=False)
    elif char == '"':
        end = scanstring(text, pos + 1)[1]
    else:
        match = _SCALAR.match(text, pos)
        if match is None:
            raise ValueError(f"unexpected {char!r} at {pos}")
        end = match.end()
    spans[path] = (pos, end)
    return end


def _container(
    text: str,
    pos: int,
    path: tuple[Slot, ...],
    spans: dict[tuple[Slot, ...], tuple[int, int]],
    close: str,
    keyed: bool,
) -> int:
    """Scan an object or array starting at `pos` (its opening bracket)."""
    pos = _skip(text, pos + 1)
    index = 0
    while text[pos] != close:
        slot: Slot = index
        if keyed:
            slot, pos = scanstring(text, pos + 1)
            pos = _skip(text, pos) + 1  # the colon
        pos = _skip(text, _value(text, _skip(text, pos), (*path, slot), spans))
        index += 1
        if text[pos] == ",":
            pos = _skip(text, pos + 1)
    return pos + 1
