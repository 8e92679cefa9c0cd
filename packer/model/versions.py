"""NuGet versions: parse, normalise, compare by value.

Versions are SemVer 2.0 plus NuGet's legacy 1 to 4 part forms. Two versions are equal when
their numbers and (case-insensitive) labels are equal; metadata never counts. Ranges live
in `packer.model.ranges`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packer.model.errors import InvalidVersion

__all__ = [
    "MAX_PART",
    "LABEL_RE",
    "MAX_VERSION_LENGTH",
    "NuGetVersion",
    "parse_version",
    "try_parse_version",
]

MAX_PART = 2_147_483_647
"""NuGet stores each number as a signed 32-bit int; larger numbers no NuGet client can read."""
MAX_VERSION_LENGTH = 128
"""Longest version text accepted: it names a directory in storage (nuget.org allows 64)."""

_IDENT = r"[0-9A-Za-z-]+"
_VERSION_RE = re.compile(
    rf"(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?"
    rf"(?:-({_IDENT}(?:\.{_IDENT})*))?(?:\+({_IDENT}(?:\.{_IDENT})*))?",
    re.ASCII,
)
LABEL_RE = re.compile(_IDENT, re.ASCII)
_DIGITS_RE = re.compile(r"\d+", re.ASCII)
_EXPECTED = "expected a version such as 1.2.3, 1.2.3.4 or 1.2.3-beta.1+build.5"


def _label_key(label: str) -> tuple[int, int, str]:
    """Order one release label: numeric labels by value and below alphanumeric ones.

    Numeric labels have no leading zeros, so (length, text) orders them by value without
    converting arbitrarily long digit strings to int.
    """
    if label.isdigit():
        return (0, len(label), label)
    return (1, 0, label.lower())


@dataclass(frozen=True, eq=False, slots=True)
class NuGetVersion:
    """A NuGet/SemVer version compared by value; `original` keeps the text as given."""

    major: int
    minor: int = 0
    patch: int = 0
    revision: int = 0
    release_labels: tuple[str, ...] = ()
    metadata: str | None = None
    original: str = ""
    _key: tuple = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Check the parts and compute the ordering key once."""
        for name in ("major", "minor", "patch", "revision"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= MAX_PART:
                raise InvalidVersion(f"invalid version: {name} {value!r} is not in 0..{MAX_PART}")
        if self.metadata == "":
            object.__setattr__(self, "metadata", None)
        labels = tuple(self.release_labels)
        for label in labels:
            shown = self.original or f"{self.major}.{self.minor}.{self.patch}-{'.'.join(labels)}"
            _check_label(label, shown)
        object.__setattr__(self, "release_labels", labels)
        if not self.original:
            text = self.normalized + (f"+{self.metadata}" if self.metadata else "")
            object.__setattr__(self, "original", text)
        stable = (1, ()) if not labels else (0, tuple(_label_key(x) for x in labels))
        object.__setattr__(
            self, "_key", (self.major, self.minor, self.patch, self.revision) + stable
        )

    @classmethod
    def parse(cls, text: str) -> NuGetVersion:
        """Parse a version string, raising InvalidVersion with the reason when it is not one."""
        if not isinstance(text, str):
            raise InvalidVersion(f"invalid version {text!r}: not a string")
        if len(text) > MAX_VERSION_LENGTH:
            raise InvalidVersion(
                f"invalid version {text[:40]!r}...: it is {len(text)} characters long, "
                f"at most {MAX_VERSION_LENGTH} are allowed"
            )
        match = _VERSION_RE.fullmatch(text)
        if match is None:
            raise InvalidVersion(f"invalid version {text!r}: {_explain(text)}; {_EXPECTED}")
        major, minor, patch, revision, labels, metadata = match.groups()
        numbers = []
        for part in (major, minor, patch, revision):
            value = int(part) if part is not None and len(part) <= 10 else 0
            if part is not None and (len(part) > 10 or value > MAX_PART):
                raise InvalidVersion(
                    f"invalid version {text!r}: number {part} is larger than {MAX_PART}"
                )
            numbers.append(value)
        label_tuple = tuple(labels.split(".")) if labels else ()
        return cls(*numbers, release_labels=label_tuple, metadata=metadata, original=text)

    @property
    def normalized(self) -> str:
        """Return NuGet's normalised form: 3 parts (4 when revision > 0), labels, no metadata."""
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.revision:
            text += f".{self.revision}"
        if self.release_labels:
            text += "-" + ".".join(self.release_labels)
        return text

    @property
    def key(self) -> str:
        """Return the identity of this version as a string: normalised and lower case."""
        return self.normalized.lower()

    @property
    def release(self) -> str:
        """Return the release labels joined with dots (empty for a stable version)."""
        return ".".join(self.release_labels)

    @property
    def is_prerelease(self) -> bool:
        """True when the version has release labels."""
        return bool(self.release_labels)

    @property
    def is_semver2(self) -> bool:
        """True when NuGet v2 clients cannot see it: dotted labels or metadata (NuGet's rule)."""
        return len(self.release_labels) > 1 or self.metadata is not None

    @property
    def is_legacy(self) -> bool:
        """True when the version needs a fourth number."""
        return self.revision != 0

    def __str__(self) -> str:
        """Return the version as it was given."""
        return self.original

    def __repr__(self) -> str:
        """Show the original text."""
        return f"NuGetVersion({self.original!r})"

    def __hash__(self) -> int:
        """Hash by value, consistent with ==."""
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        """Compare by value: numbers and case-insensitive labels; metadata ignored."""
        if not isinstance(other, NuGetVersion):
            return NotImplemented
        return self._key == other._key

    def __lt__(self, other: NuGetVersion) -> bool:
        if not isinstance(other, NuGetVersion):
            return NotImplemented
        return self._key < other._key

    def __le__(self, other: NuGetVersion) -> bool:
        if not isinstance(other, NuGetVersion):
            return NotImplemented
        return self._key <= other._key

    def __gt__(self, other: NuGetVersion) -> bool:
        if not isinstance(other, NuGetVersion):
            return NotImplemented
        return self._key > other._key

    def __ge__(self, other: NuGetVersion) -> bool:
        if not isinstance(other, NuGetVersion):
            return NotImplemented
        return self._key >= other._key


def _check_label(label: str, text: str) -> None:
    """Refuse a release label that SemVer does not allow."""
    if not isinstance(label, str) or not LABEL_RE.fullmatch(label):
        raise InvalidVersion(
            f"invalid version {text!r}: release label {label!r} must be letters, digits or '-'"
        )
    if len(label) > 1 and label[0] == "0" and label.isdigit():
        raise InvalidVersion(
            f"invalid version {text!r}: numeric label {label!r} has a leading zero"
        )


def _explain(text: str) -> str:
    """Say why `text` is not a version (only called once the fast parse has failed)."""
    if not text:
        return "it is empty"
    if text != text.strip():
        return "it has leading or trailing whitespace"
    if text[0] in "vV":
        return "it starts with a letter (write 1.0, not v1.0)"
    core, _, metadata = text.partition("+")
    core, dash, labels = core.partition("-")
    parts = core.split(".")
    if not all(_DIGITS_RE.fullmatch(p) for p in parts):
        bad = next(p for p in parts if not _DIGITS_RE.fullmatch(p))
        return f"part {bad!r} is not a number"
    if len(parts) > 4:
        return f"it has {len(parts)} numbers (1 to 4 allowed)"
    if dash:
        for label in labels.split("."):
            if not LABEL_RE.fullmatch(label):
                return f"release label {label!r} must be non-empty letters, digits or '-'"
    if "+" in text:
        for item in metadata.split("."):
            if not LABEL_RE.fullmatch(item):
                return f"metadata {item!r} must be non-empty letters, digits or '-'"
    return "it is not in NuGet's version syntax"


def parse_version(text: str) -> NuGetVersion:
    """Parse a version string (see NuGetVersion.parse)."""
    return NuGetVersion.parse(text)


def try_parse_version(text: str) -> NuGetVersion | None:
    """Parse a version string, or return None when it is not one."""
    try:
        return NuGetVersion.parse(text)
    except InvalidVersion:
        return None
