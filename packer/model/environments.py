"""Environment and target names: what the feed stores, the target makes a folder of, and
lifecycles name as phases.

One rule everywhere: letters, digits, ' ', '_', '.', '+', '-', starting with a letter,
digit or '_', at most 100 characters, no '..' and no trailing dot or space (the same
rule as a target's directory names). Names compare case-insensitively.
"""

from __future__ import annotations

import re
from typing import Any

from packer.model.errors import BadInput

__all__ = ["check_name", "is_name", "name_key"]

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9 _.+-]{0,99}")


def is_name(value: Any) -> bool:
    """Say whether `value` keeps the one naming rule (also a target's directory names)."""
    return (
        isinstance(value, str)
        and _NAME.fullmatch(value) is not None
        and value.rstrip(". ") == value
        and ".." not in value
    )


def check_name(value: Any, what: str = "environment") -> str:
    """Return a valid environment (or target, or phase) name unchanged; BadInput naming `what`."""
    if not is_name(value):
        raise BadInput(
            f"{what} {value!r} must be 1-100 letters, digits, ' ', '_', '.', '+' or '-' "
            "(starting with a letter, digit or '_')"
        )
    return value


def name_key(name: str) -> str:
    """Return the case-folded form names are stored and compared under."""
    return name.lower()
