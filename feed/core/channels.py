"""Stored channels (`channels.json`): named version rules, optionally for some packages.

A channel is `packer.model.channels.Channel` (name, NuGet range and/or a regex on the
prerelease label, optional package id or glob), shared with the targets that apply it.
One name may have a feed-wide entry and entries for ids or globs; for one package the
entry that applies is `packer.model.patterns.best_match` (exact id, then the longest glob,
then the feed-wide one), as for retention and lifecycles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from feed.core.errors import BadRequest, PackageNotFound
from feed.core.jsonrecords import Codec, JsonRecords, json_codec
from packer.model.channels import Channel
from packer.model.patterns import best_match, is_glob
from storage import Storage

CHANNELS_KEY = "channels.json"
MAX_TAG = 200  # a longer regex is no branch rule; this bounds what every target compiles

Channels = tuple[Channel, ...]


def _codec() -> Codec[Channels]:
    document = json_codec(indent=1)
    return Codec(
        lambda channels: document.encode({"channels": [c.to_json() for c in channels]}),
        lambda data: tuple(Channel.from_json(c) for c in document.decode(data)["channels"]),
    )


def _same(a: Channel, name: str, package: str | None) -> bool:
    """True when `a` is the entry of this name and package (case-insensitively)."""
    return a.name.lower() == name.lower() and (a.package or "").lower() == (package or "").lower()


def _order(channel: Channel) -> tuple[str, int, int, str]:
    """Sort by name, then the most specific entry first (exact id, longest glob, feed-wide)."""
    package = channel.package or ""
    rank = 2 if not package else (1 if is_glob(package) else 0)
    return channel.name.lower(), rank, -len(package.replace("*", "")), package.lower()


def check_channel(body: Any) -> Channel:
    """Read a posted channel; BadRequest naming what is wrong."""
    if not isinstance(body, dict):
        raise BadRequest('send a JSON object like {"name": "beta", "tag": "^beta"}')
    tag = body.get("tag")
    if isinstance(tag, str) and len(tag) > MAX_TAG:
        raise BadRequest(f"tag: a regular expression of at most {MAX_TAG} characters, please")
    return Channel.from_json(body)


class ChannelStore:
    """The channels of one feed, shared by every feed process through storage."""

    def __init__(self, storage: Storage) -> None:
        self._records = JsonRecords(storage, _codec())

    def all(self) -> list[Channel]:
        """Return every stored entry, by name, most specific first."""
        found = self._records.read(CHANNELS_KEY)
        return sorted(found.value if found is not None else (), key=_order)

    def for_package(self, package_id: str, name: str | None = None) -> list[Channel]:
        """Return, per channel name, the entry that applies to one package."""
        by_name: dict[str, list[Channel]] = {}
        for channel in self.all():
            if name is None or channel.name.lower() == name.lower():
                by_name.setdefault(channel.name.lower(), []).append(channel)
        chosen = []
        for entries in by_name.values():
            default = next((c for c in entries if c.package is None), None)
            overrides = [(c.package, c) for c in entries if c.package is not None]
            best = best_match(overrides, package_id, default)
            if best is not None and best.applies_to(package_id):
                chosen.append(best)
        return chosen

    def set(self, channel: Channel) -> Channel:
        """Create or replace the entry of this name and package."""
        if channel.tag is not None and len(channel.tag) > MAX_TAG:
            raise BadRequest(f"tag: a regular expression of at most {MAX_TAG} characters, please")

        def change(channels: Channels) -> Channels:
            others = tuple(c for c in channels if not _same(c, channel.name, channel.package))
            return tuple(sorted(others + (channel,), key=_order))

        self._update(change)
        return channel

    def delete(self, name: str, package: str | None = None) -> list[Channel]:
        """Delete the entry of `name` for `package`, or without a package every entry of
        that name; return what was deleted (PackageNotFound when nothing was)."""
        removed: list[Channel] = []

        def gone(channel: Channel) -> bool:
            if package is None:
                return channel.name.lower() == name.lower()
            return _same(channel, name, package)

        def change(channels: Channels) -> Channels:
            removed[:] = [c for c in channels if gone(c)]
            if not removed:
                where = f" for {package!r}" if package else ""
                raise PackageNotFound(f"no channel {name!r}{where}")
            return tuple(c for c in channels if not gone(c))

        self._update(change)
        return removed

    def _update(self, change: Callable[[Channels], Channels]) -> None:
        """Apply a change by compare-and-swap, retrying on a race."""
        self._records.update(
            CHANNELS_KEY,
            lambda current: change(current if current is not None else ()),
            "the channels kept changing; try again",
        )
