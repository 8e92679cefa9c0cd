"""NuGet version ranges: interval notation and floating forms, matched against versions.

Ranges use NuGet's interval notation (`[1.0,2.0)`, `(,1.5]`, `[1.0]`) and floating forms
(`1.*`, `1.2.*-*`, `*`, `1.0.0-beta.*`); see `VersionRange` for which prereleases match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from packer.model.errors import InvalidRange, InvalidVersion
from packer.model.versions import LABEL_RE, MAX_PART, MAX_VERSION_LENGTH, NuGetVersion

__all__ = ["MAX_RANGE_LENGTH", "FloatSpec", "VersionRange", "parse_range"]

MAX_RANGE_LENGTH = 2 * MAX_VERSION_LENGTH + 8


@dataclass(frozen=True, slots=True)
class FloatSpec:
    """The floating part of a range: fixed leading numbers and an optional label prefix.

    `numbers` are the fixed parts (`1.2.*` -> (1, 2); `*` -> (); `1.0.0-beta*` -> (1, 0, 0, 0)).
    `label_prefix` is None when prereleases do not float, else the text before the last `*`.
    """

    numbers: tuple[int, ...]
    label_prefix: str | None
    text: str

    def matches(self, version: NuGetVersion) -> bool:
        """True when the version has the fixed numbers and, if prerelease, the label prefix."""
        parts = (version.major, version.minor, version.patch, version.revision)
        if parts[: len(self.numbers)] != self.numbers:
            return False
        if self.label_prefix and version.is_prerelease:
            return version.release.lower().startswith(self.label_prefix.lower())
        return True

    @property
    def lowest(self) -> NuGetVersion:
        """Return the lowest version the pattern can match (NuGet's MinVersion of the float)."""
        numbers = self.numbers + (0,) * (4 - len(self.numbers))
        if self.label_prefix is None:
            return NuGetVersion(*numbers)
        label = self.label_prefix
        if label == "" or label.endswith("."):
            label += "0"
        elif label.endswith("-"):
            label += "-"
        return NuGetVersion(*numbers, release_labels=tuple(label.split(".")))


_FLOAT_NUMBERS_RE = re.compile(r"(?:(\d+(?:\.\d+){0,2})\.)?\*", re.ASCII)
_FLOAT_EXACT_RE = re.compile(r"\d+(?:\.\d+){0,3}", re.ASCII)


def _parse_float(text: str, whole: str) -> FloatSpec:
    """Parse a floating bound such as `1.*`, `1.2.*-rc.*`, `*-*` or `1.0.0-beta*`."""

    def fail(reason: str) -> InvalidRange:
        return InvalidRange(f"invalid version range {whole!r}: {reason}")

    if "+" in text:
        raise fail(f"floating version {text!r} cannot have metadata")
    numbers_text, dash, label_text = text.partition("-")
    label_prefix: str | None = None
    if dash:
        if not label_text.endswith("*") or label_text.count("*") != 1:
            raise fail(f"in {text!r} the release label may only float at its end, as in 1.0.0-rc.*")
        label_prefix = label_text[:-1]
        _check_label_prefix(label_prefix, text, fail)
    if "*" in numbers_text:
        match = _FLOAT_NUMBERS_RE.fullmatch(numbers_text)
        if match is None:
            raise fail(f"{text!r} may float only its last number, as in 1.*, 1.2.* or 1.2.3.*")
        fixed = match.group(1)
    else:
        if label_prefix is None:
            raise fail(f"{text!r} is not a floating version")
        if _FLOAT_EXACT_RE.fullmatch(numbers_text) is None:
            raise fail(f"{numbers_text!r} in {text!r} is not 1 to 4 numbers")
        fixed = numbers_text
    pieces = fixed.split(".") if fixed else []
    if any(len(p) > 10 or int(p) > MAX_PART for p in pieces):
        raise fail(f"a number in {text!r} is larger than {MAX_PART}")
    numbers = tuple(int(p) for p in pieces)
    if "*" not in numbers_text:
        numbers += (0,) * (4 - len(numbers))
    return FloatSpec(numbers=numbers, label_prefix=label_prefix, text=text)


def _check_label_prefix(prefix: str, text: str, fail: Callable[[str], InvalidRange]) -> None:
    """Refuse a floating label prefix that no valid label could start with."""
    if prefix == "":
        return
    pieces = prefix.split(".")
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        if piece == "" and last:
            continue
        if not LABEL_RE.fullmatch(piece):
            raise fail(
                f"release label prefix {prefix!r} in {text!r} is not letters, digits, '-', '.'"
            )
        if len(piece) > 1 and piece[0] == "0" and piece.isdigit():
            raise fail(f"numeric label {piece!r} in {text!r} has a leading zero")


def _bound(text: str, whole: str, side: str) -> NuGetVersion:
    """Parse one bound of an interval, naming the range when it is not a version."""
    try:
        return NuGetVersion.parse(text)
    except InvalidVersion as error:
        raise InvalidRange(f"invalid version range {whole!r}: {side} bound {error}") from None


@dataclass(frozen=True, slots=True)
class VersionRange:
    """A NuGet version range; `original` keeps the text as given.

    `contains` is set membership: the bounds, and for a floating range its pattern too
    (unlike NuGet's Satisfies, `1.*` does not contain 2.0). Which prereleases a query
    returns is decided by `admits`: only when asked, or when the range names a prerelease
    bound or floats the label (`-*`), as NuGet and Octopus do.
    """

    min_version: NuGetVersion | None
    min_inclusive: bool
    max_version: NuGetVersion | None
    max_inclusive: bool
    floating: FloatSpec | None = None
    original: str = ""

    @classmethod
    def parse(cls, text: str) -> VersionRange:
        """Parse NuGet range syntax, raising InvalidRange that names the range and the reason."""
        if not isinstance(text, str):
            raise InvalidRange(f"invalid version range {text!r}: not a string")
        if not text:
            raise InvalidRange("invalid version range '': it is empty")
        if len(text) > MAX_RANGE_LENGTH:
            raise InvalidRange(
                f"invalid version range {text[:40]!r}...: it is {len(text)} characters long, "
                f"at most {MAX_RANGE_LENGTH} are allowed"
            )
        if text != text.strip():
            raise InvalidRange(
                f"invalid version range {text!r}: it has leading or trailing whitespace"
            )
        if text[0] not in "[(":
            if text[-1] in "])" or "," in text:
                raise InvalidRange(
                    f"invalid version range {text!r}: an interval must start with '[' or '('"
                )
            if "*" in text:
                spec = _parse_float(text, text)
                return cls(spec.lowest, True, None, False, spec, text)
            return cls(_bound(text, text, "lower"), True, None, False, None, text)
        if text[-1] not in "])":
            raise InvalidRange(f"invalid version range {text!r}: it must end with ']' or ')'")
        return cls._parse_interval(text)

    @classmethod
    def _parse_interval(cls, text: str) -> VersionRange:
        """Parse the bracketed forms `[a,b]`, `(a,b)`, `(,b]`, `[a,)`, `[a]`."""
        min_inclusive = text[0] == "["
        max_inclusive = text[-1] == "]"
        inner = text[1:-1]
        parts = [p.strip() for p in inner.split(",")]
        if len(parts) > 2:
            raise InvalidRange(f"invalid version range {text!r}: more than two bounds")
        if not any(parts):
            raise InvalidRange(f"invalid version range {text!r}: it has no bounds")
        if len(parts) == 1:
            if not (min_inclusive and max_inclusive):
                raise InvalidRange(
                    f"invalid version range {text!r}: a single version needs "
                    f"square brackets, as in [{parts[0]}]"
                )
            if "*" in parts[0]:
                raise InvalidRange(f"invalid version range {text!r}: an exact version cannot float")
            exact = _bound(parts[0], text, "exact")
            return cls(exact, True, exact, True, None, text)
        low_text, high_text = parts
        spec = None
        low = None
        if "*" in low_text:
            spec = _parse_float(low_text, text)
            low = spec.lowest
        elif low_text:
            low = _bound(low_text, text, "lower")
        if "*" in high_text:
            raise InvalidRange(f"invalid version range {text!r}: the upper bound cannot float")
        high = _bound(high_text, text, "upper") if high_text else None
        if low is not None and high is not None:
            if low > high:
                raise InvalidRange(
                    f"invalid version range {text!r}: lower bound {low_text} "
                    f"is above upper bound {high_text}"
                )
            if low == high and not (min_inclusive and max_inclusive):
                raise InvalidRange(
                    f"invalid version range {text!r}: it contains no version "
                    f"(write [{low_text}] for exactly that version)"
                )
        return cls(low, min_inclusive, high, max_inclusive, spec, text)

    @property
    def is_floating(self) -> bool:
        """True for `*`, `1.*`, `1.0.0-beta*` and such: the newest match is wanted."""
        return self.floating is not None

    @property
    def allows_prerelease(self) -> bool:
        """True when the range itself asks for prereleases: a prerelease bound or a `-*` float."""
        if self.floating is not None and self.floating.label_prefix is not None:
            return True
        return any(v is not None and v.is_prerelease for v in (self.min_version, self.max_version))

    def contains(self, version: NuGetVersion | str) -> bool:
        """True when the version lies within the bounds and fits the floating pattern."""
        if isinstance(version, str):
            version = NuGetVersion.parse(version)
        if self.floating is not None:
            # The pattern stands for the lower bound, so `1.*` with prereleases asked for
            # also finds 1.0.0-beta; `(1.*, ...)` still excludes the pattern's lowest version.
            if not self.floating.matches(version):
                return False
            if not self.min_inclusive and version == self.min_version:
                return False
        elif self.min_version is not None:
            if version < self.min_version or (
                not self.min_inclusive and version == self.min_version
            ):
                return False
        if self.max_version is not None:
            if version > self.max_version or (
                not self.max_inclusive and version == self.max_version
            ):
                return False
        return True

    def admits(self, version: NuGetVersion | str, include_prerelease: bool = False) -> bool:
        """True when a query should return the version: contained, and stable unless allowed."""
        if isinstance(version, str):
            version = NuGetVersion.parse(version)
        if version.is_prerelease and not (include_prerelease or self.allows_prerelease):
            return False
        return self.contains(version)

    def filter(
        self, versions: Iterable[NuGetVersion], include_prerelease: bool = False
    ) -> list[NuGetVersion]:
        """Return the admitted versions, in the order given."""
        return [v for v in versions if self.admits(v, include_prerelease)]

    def highest_match(
        self, versions: Iterable[NuGetVersion], include_prerelease: bool = False
    ) -> NuGetVersion | None:
        """Return the newest admitted version (what deploy and the versions query want)."""
        return max(self.filter(versions, include_prerelease), default=None)

    def find_best_match(
        self, versions: Iterable[NuGetVersion], include_prerelease: bool = False
    ) -> NuGetVersion | None:
        """Return NuGet's pick: the newest match when floating, else the lowest that fits."""
        candidates = self.filter(versions, include_prerelease)
        if self.is_floating:
            return max(candidates, default=None)
        return min(candidates, default=None)

    @property
    def normalized(self) -> str:
        """Return NuGet's normalised text, e.g. `[1.0.0, 2.0.0)`, `[1.0.0]` or `1.*`."""
        if self.floating is not None and self.original[0] not in "[(":
            return self.floating.text
        if self.min_version is not None and self.min_version == self.max_version:
            return f"[{self.min_version.normalized}]"
        if self.floating is not None:
            low = self.floating.text
        else:
            low = self.min_version.normalized if self.min_version is not None else ""
        high = self.max_version.normalized if self.max_version is not None else ""
        opening = "[" if self.min_inclusive and low else "("
        closing = "]" if self.max_inclusive and high else ")"
        return f"{opening}{low}, {high}{closing}"

    def __str__(self) -> str:
        """Return the range as it was given."""
        return self.original


def parse_range(text: str) -> VersionRange:
    """Parse a NuGet version range (see VersionRange.parse)."""
    return VersionRange.parse(text)
