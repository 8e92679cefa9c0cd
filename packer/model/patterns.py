"""Package patterns: a feed-wide default plus overrides by id or glob.

One rule for retention policies, lifecycles and channels: an exact id beats a glob;
among globs the one with the most literal characters wins, then the first by name.
Ids and patterns match case-insensitively, like ids themselves.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from typing import TypeVar

from packer.model.errors import BadInput

__all__ = ["best_match", "check_pattern", "is_glob", "matches"]

_PATTERN_RE = re.compile(r"[A-Za-z0-9._*?-]+")
_EXACT = 10_000

T = TypeVar("T")


def check_pattern(pattern: str) -> str:
    """Return a package id or id glob (`*`, `?`) unchanged; raise BadInput naming it."""
    if not isinstance(pattern, str) or not _PATTERN_RE.fullmatch(pattern):
        raise BadInput(
            f"package pattern {pattern!r} must be an id or a glob of letters, digits, "
            "'.', '-', '_', '*' and '?'"
        )
    return pattern


def is_glob(pattern: str) -> bool:
    """True when the pattern has a wildcard."""
    return "*" in pattern or "?" in pattern


def matches(pattern: str, package_id: str) -> bool:
    """Match a package id against an id or glob, case-insensitively."""
    return fnmatch.fnmatchcase(package_id.lower(), pattern.lower())


def best_match(overrides: Iterable[tuple[str, T]], package_id: str, default: T) -> T:
    """Return the value of the override that applies to `package_id`, else `default`."""
    best: tuple[int, str] | None = None
    chosen = default
    for pattern, value in overrides:
        if not matches(pattern, package_id):
            continue
        literal = _EXACT if not is_glob(pattern) else len(pattern.replace("*", ""))
        rank = (-literal, pattern.lower())
        if best is None or rank < best:
            best, chosen = rank, value
    return chosen
