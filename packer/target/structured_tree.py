"""JSON and YAML files as trees for structured variables: find a `a:b:0:c` path, set it typed.

JSON changes only the bytes of the replaced values (re-written with its detected indentation
only when a section and a value inside it both change); YAML goes through ruamel.yaml's
round-trip mode, which keeps comments, key order and quoting.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

from packer.model.errors import OperationFailed
from packer.target.structured_json import replace_values

_FIRST_INDENT = re.compile(r"\n([ \t]+)\S")


class TreeDocument:
    """A parsed JSON or YAML file whose values can be looked up and replaced by key path."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.is_yaml = name.lower().endswith((".yaml", ".yml"))
        self.text = text
        self.root = _load_yaml(name, text) if self.is_yaml else _load_json(name, text)
        self.replaced: dict[tuple[Any, ...], Any] = {}  # slot path -> new value

    def lookup(self, keys: list[str]) -> tuple[Any, list[Any]] | None:
        """Return the container of the value at `keys` and the slots leading to it, or None."""
        node = self.root
        slots: list[Any] = []
        for index, key in enumerate(keys):
            slot = _slot(node, key)
            if slot is None:
                return None
            slots.append(slot)
            if index == len(keys) - 1:
                return node, slots
            node = node[slot]
        return None

    def replace(self, keys: list[str], text: str) -> tuple[Any, Any] | None:
        """Set the value at `keys` to `text`, typed like the old value; return (old, new)."""
        found = self.lookup(keys)
        if found is None:
            return None
        container, slots = found
        slot = slots[-1]
        old = container[slot]
        new = typed_like(old, text)
        if new is _REFUSED:
            raise OperationFailed(
                f"{self.name}: {':'.join(keys)} is a section; give it a JSON object or array"
            )
        container[slot] = new
        self.replaced[tuple(slots)] = new
        return old, new

    def render(self) -> str:
        """Write the tree back as text in the file's own style."""
        if self.is_yaml:
            return _dump_yaml(self.root, self.text)
        edited = replace_values(self.text, self.replaced)
        if edited is not None:
            return edited
        match = _FIRST_INDENT.search(self.text)
        indent: str | int | None = match.group(1) if match else None
        if isinstance(indent, str) and set(indent) == {" "}:
            indent = len(indent)
        out = json.dumps(self.root, indent=indent, ensure_ascii=False)
        return out + "\n" if self.text.endswith("\n") else out


_REFUSED = object()


def typed_like(old: Any, text: str) -> Any:
    """Convert `text` to the old value's type where that is a number, boolean or section."""
    if isinstance(old, bool):
        lowered = text.strip().lower()
        return lowered == "true" if lowered in ("true", "false") else text
    if isinstance(old, int | float):
        for kind in (int, float):
            try:
                return kind(text.strip())
            except ValueError:
                continue
        return text
    if isinstance(old, dict | list):
        try:
            parsed = json.loads(text)
        except ValueError:
            return _REFUSED
        return parsed if isinstance(parsed, dict | list) else _REFUSED
    if isinstance(old, str) and type(old) is not str:
        try:
            return type(old)(text)  # ruamel's quoted scalar kinds keep their quotes
        except TypeError:
            return text
    return text


def display(value: Any) -> str:
    """Show a value as a person reads it in the plan: strings as they are, others as JSON."""
    if isinstance(value, str):
        return str(value)
    try:
        return json.dumps(value, ensure_ascii=False)
    except TypeError:
        return str(value)


def _slot(node: Any, key: str) -> Any:
    """Find `key` in a mapping (exact, then any case) or a list (a number); None if absent."""
    if isinstance(node, dict):
        if key in node:
            return key
        folded = key.casefold()
        return next((k for k in node if isinstance(k, str) and k.casefold() == folded), None)
    if isinstance(node, list) and key.isdigit() and int(key) < len(node):
        return int(key)
    return None


def _load_json(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise OperationFailed(f"{name} is not valid JSON: {error}") from None


def _yaml(text: str) -> Any:
    """A round-trip YAML handler indented as `text` is."""
    from ruamel.yaml import YAML

    handler = YAML(typ="rt")
    handler.preserve_quotes = True
    mapping, offset = _yaml_indents(text)
    handler.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    handler.width = 4096  # never fold long values onto new lines
    return handler


def _load_yaml(name: str, text: str) -> Any:
    from ruamel.yaml.error import YAMLError

    try:
        return _yaml(text).load(text)
    except YAMLError as error:
        raise OperationFailed(f"{name} is not valid YAML: {error}") from None


def _dump_yaml(root: Any, text: str) -> str:
    out = io.StringIO()
    _yaml(text).dump(root, out)
    return out.getvalue()


def _yaml_indents(text: str) -> tuple[int, int]:
    """Guess the mapping indent and the offset of `- ` under its key (defaults 2 and 0)."""
    mapping = offset = None
    previous: tuple[int, str] | None = None
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if previous and previous[1].endswith(":") and not previous[1].startswith("- "):
            step = indent - previous[0]
            if stripped.startswith("- ") and offset is None and step >= 0:
                offset = step
            elif not stripped.startswith("- ") and mapping is None and step > 0:
                mapping = step
        previous = (indent, stripped)
    return mapping or 2, offset or 0
