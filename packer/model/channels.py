"""Channels: named version rules (a NuGet range and/or a regex on the prerelease label).

The feed stores them; `deploy --channel` and `versions --channel` apply them on the
client, and the feed may apply the same rule, so it lives here once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from packer.model.errors import BadInput
from packer.model.patterns import check_pattern, matches
from packer.model.ranges import VersionRange, parse_range
from packer.model.versions import NuGetVersion

__all__ = ["Channel", "check_channel_name", "channels_from_json"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}")


def check_channel_name(name: str) -> str:
    """Return a channel name unchanged; BadInput unless it is letters, digits, ' ', '.', '_', '-'."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name != name.strip():
        raise BadInput(
            f"channel name {name!r} must be 1-100 letters, digits, spaces, '.', '_' or '-'"
        )
    return name


def _compile_tag(tag: str) -> re.Pattern[str]:
    """Compile a prerelease-label regex; BadInput naming it when it is not one."""
    try:
        return re.compile(tag)
    except re.error as error:
        raise BadInput(f"channel tag {tag!r} is not a regular expression: {error}") from None


@dataclass(frozen=True)
class Channel:
    """A named version rule; `package` (an id or glob) limits it to some packages.

    `tag` is searched in the prerelease label (empty for a stable version), as Octopus
    does: `^$` means stable only, `^beta` betas only, `^feature-` a feature branch.
    """

    name: str
    range: str | None = None
    tag: str | None = None
    package: str | None = None

    def __post_init__(self) -> None:
        check_channel_name(self.name)
        if not self.range and self.tag is None:
            raise BadInput(f"channel {self.name!r} needs a --range, a --tag, or both")
        if self.range:
            parse_range(self.range)
        if self.tag is not None:
            _compile_tag(self.tag)
        if self.package is not None:
            check_pattern(self.package)

    @property
    def version_range(self) -> VersionRange | None:
        """Return the parsed range, or None when the channel has none."""
        return parse_range(self.range) if self.range else None

    @property
    def wants_prerelease(self) -> bool:
        """True when the rule itself decides about prereleases (a tag is given)."""
        return self.tag is not None

    def applies_to(self, package_id: str) -> bool:
        """True when the channel covers this package (no `package` covers every one)."""
        return self.package is None or matches(self.package, package_id)

    def matches(self, version: NuGetVersion | str) -> bool:
        """True when the version lies in the range and its prerelease label fits the tag."""
        if isinstance(version, str):
            version = NuGetVersion.parse(version)
        wanted = self.version_range
        if wanted is not None and not wanted.contains(version):
            return False
        return self.tag is None or _compile_tag(self.tag).search(version.release) is not None

    def describe(self) -> str:
        """Say the rule in command-line words."""
        parts = [f"--range {self.range}"] if self.range else []
        parts += [f"--tag {self.tag!r}"] if self.tag is not None else []
        parts += [f"--package {self.package}"] if self.package else []
        return f"{self.name}: {' '.join(parts)}"

    def to_json(self) -> dict[str, Any]:
        """Return the channel as the feed stores and serves it."""
        return {"name": self.name, "range": self.range, "tag": self.tag, "package": self.package}

    @classmethod
    def from_json(cls, data: Any) -> Channel:
        """Read one channel object; BadInput when it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise BadInput(f"a channel must be a JSON object with a name, got {data!r:.200}")
        fields = {key: data.get(key) for key in ("range", "tag", "package")}
        for key, value in fields.items():
            if value is not None and not isinstance(value, str):
                raise BadInput(f"channel {data['name']!r}: {key} must be a string")
        return cls(data["name"], **fields)


def channels_from_json(document: Any) -> list[Channel]:
    """Read `{"channels": [...]}` as the feed answers it."""
    items = document.get("channels") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise BadInput("a channel list must be a JSON object with a 'channels' list")
    return [Channel.from_json(item) for item in items]
