"""One catalog shard as stored: a slim header parsed eagerly, full summaries decoded lazily.

A shard holds, per lower-case id, the summary of its versions (every record field). Feed-
wide queries touch every id but show one page, so the stored bytes come in two parts:

    {"format":3,"ids":{"acme.web":[display id, flags, texts, text of, names, name of,
                                   start, end], ...}}\\n
    zlib([{...record fields...}, ...])\\n    <- one part per id, newest version first

The first line (the header) is parsed when the shard is read: per id the id as list of ids
shows it, one flag character per version newest first (listed, prerelease, SemVer 2,
nupkg), the distinct search texts and record ids with which version has which. Everything
a query sorts or filters on was computed when the shard was written, so reading parses no
version. The parts below are byte ranges of the body, each zlib-compressed JSON (a tenth
of the bytes to read after a restart), decompressed and decoded only for the ids a query
answers with (`IdEntry.records`). Format 2 (uncompressed parts) is read as well. Shards written before this format (a single JSON
document `{"ids": {id: [fields, ...]}}`, octopack f037e0e) are read and converted in
memory; the next write of the shard stores the new format.
"""

from __future__ import annotations

import functools
import json
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from typing import Any

from feed.core.queries import record_text, version_value
from feed.core.records import PackageRecord

FORMAT = 3  # 2: body lines uncompressed (read, rewritten as 3 on the next write)
Summary = list[dict[str, Any]]  # one id's records as plain fields, newest version first
FLAG_LISTED, FLAG_PRERELEASE, FLAG_SEMVER2, FLAG_NUPKG = 1, 2, 4, 8
_FLAG_BASE = 0x40  # flags travel as one printable character per version ('@'..'O')


def summary_of(records: Iterable[PackageRecord]) -> Summary:
    """Return one id's summary: its records as plain fields, newest version first."""
    ordered = sorted(records, key=lambda r: version_value(r.version), reverse=True)
    return [asdict(r) for r in ordered]


def flags_of(fields: Mapping[str, Any]) -> int:
    """Return the query flags of one version's fields."""
    return (
        (FLAG_LISTED if fields.get("listed", True) else 0)
        | (FLAG_PRERELEASE if fields.get("is_prerelease") else 0)
        | (FLAG_SEMVER2 if fields.get("is_semver2") else 0)
        | (FLAG_NUPKG if fields.get("format") == "nupkg" else 0)
    )


class IdEntry:
    """One id's slim part (eager) and its records (decoded on first use, then kept)."""

    __slots__ = (
        "key", "id", "flags", "_texts", "_text_of", "_names", "_name_of", "_full", "_ro",
        "finish",
    )  # fmt: skip

    def __init__(self, key: str, header: list[Any], full: _Full) -> None:
        self.key = key
        self.id: str = header[0]  # the id of the lowest normalised version (as list of ids shows)
        self.flags: str = header[1]
        self._texts, self._text_of, self._names, self._name_of = header[2:6]
        self._full = (full, header[6], header[7])
        self._ro: list[PackageRecord] | None = None
        # completes a decoded record before use (a raw push's late hashes; set by Catalog)
        self.finish: Callable[[PackageRecord], PackageRecord] | None = None

    def __len__(self) -> int:
        return len(self.flags)

    def flag(self, position: int) -> int:
        """Return the flags of the version at `position` (0 = newest)."""
        return ord(self.flags[position]) - _FLAG_BASE

    def positions(self, wanted: int, refused: int = 0) -> tuple[int, ...]:
        """Return positions (newest first) whose flags have every `wanted` bit, no `refused` one."""
        return _positions(self.flags, wanted, refused)

    def texts(self) -> list[str]:
        """Return the distinct search texts of the id's versions (a query may skip the id
        when none matches, without looking at each version)."""
        return self._texts

    def text(self, position: int) -> str:
        """Return the lower-case search text (`queries.record_text`) of one version."""
        return self._texts[self._text_of[position] if self._text_of else 0]

    def name(self, position: int) -> str:
        """Return the record id (as pushed) of one version."""
        return self._names[self._name_of[position] if self._name_of else 0]

    def names(self) -> list[str]:
        """Return the distinct record ids (as pushed) of the id's versions."""
        return self._names

    def records(self) -> list[PackageRecord]:
        """Return the id's records, newest first, decoding them on first use."""
        if self._ro is None:
            full, start, end = self._full
            records = [_record(fields) for fields in full.summary(start, end)]
            self._ro = records if self.finish is None else [self.finish(r) for r in records]
        return self._ro

    def summary(self) -> Summary:
        """Return the stored fields of the id's records, newest first."""
        full, start, end = self._full
        return full.summary(start, end)

    def raw(self) -> bytes:
        """Return the stored (compressed) bytes of the id's summary (re-written as they are)."""
        full, start, end = self._full
        return full.packed(start, end)


@functools.lru_cache(maxsize=4096)
def _positions(flags: str, wanted: int, refused: int) -> tuple[int, ...]:
    """Answer `IdEntry.positions` once per flag string: ids of a feed share few of them."""
    return tuple(
        i
        for i, c in enumerate(flags)
        if (ord(c) - _FLAG_BASE) & wanted == wanted and not (ord(c) - _FLAG_BASE) & refused
    )


class _Full:
    """The body of one shard: summaries as JSON lines, decoded by byte range on demand."""

    decodes = 0  # ids decoded in this process (tests check queries decode only their page)
    _count_lock = threading.Lock()

    def __init__(self, data: bytes, base: int = 0, compressed: bool = True) -> None:
        self._data, self._base = data, base  # no copy of a shard's body: it is most of it
        self._compressed = compressed

    def packed(self, start: int, end: int) -> bytes:
        """Return one id's summary as FORMAT stores it (zlib-compressed JSON)."""
        raw = self._data[self._base + start : self._base + end]
        return raw if self._compressed else zlib.compress(raw)

    def summary(self, start: int, end: int) -> Summary:
        with _Full._count_lock:
            _Full.decodes += 1
        raw = self._data[self._base + start : self._base + end]
        return json.loads(zlib.decompress(raw) if self._compressed else raw)


def decoded_ids() -> int:
    """Return how many id summaries this process decoded in full (tests count them)."""
    return _Full.decodes


class StoredShard:
    """A shard's ids with their slim parts; `changed` makes the shard a write stores."""

    def __init__(self, entries: dict[str, IdEntry]) -> None:
        self.entries = entries

    def summaries(self) -> dict[str, Summary]:
        """Return every id's full summary (fsck compares them; decodes everything)."""
        return {key: entry.summary() for key, entry in self.entries.items()}

    def changed(self, summaries: Mapping[str, Summary | None]) -> StoredShard:
        """Return this shard with some ids' summaries replaced (None or []: removed)."""
        parts: dict[str, tuple[list[Any], bytes]] = {}
        for key, entry in self.entries.items():
            if key not in summaries:
                parts[key] = (_header_of(entry), entry.raw())
        for key, summary in summaries.items():
            if summary:
                parts[key] = _encoded(summary)
        return _from_parts(parts)


def encode(shard: StoredShard) -> bytes:
    """Return the stored bytes of a shard (header line, then one line per id)."""
    header: dict[str, list[Any]] = {}
    body = bytearray()
    for key in sorted(shard.entries):
        entry = shard.entries[key]
        raw = entry.raw()
        header[key] = [*_header_of(entry)[:6], len(body), len(body) + len(raw)]
        body += raw + b"\n"
    head = json.dumps({"format": FORMAT, "ids": header}, separators=(",", ":"), sort_keys=True)
    return head.encode("utf-8") + b"\n" + bytes(body)


def decode(data: bytes) -> StoredShard:
    """Read a stored shard: parse the header, keep the body for lazy decoding."""
    if data.startswith(b'{"ids":'):
        return _from_old(json.loads(data)["ids"])
    cut = data.index(b"\n")
    header = json.loads(data[:cut])
    if header.get("format") not in (2, FORMAT):
        raise ValueError(f"catalog shard format {header.get('format')!r} is not {FORMAT}")
    full = _Full(data, cut + 1, compressed=header["format"] == FORMAT)
    return StoredShard({key: IdEntry(key, slim, full) for key, slim in header["ids"].items()})


def from_summaries(summaries: Mapping[str, Summary]) -> StoredShard:
    """Build a shard from full summaries (newest first) of its ids."""
    return _from_parts({key: _encoded(s) for key, s in summaries.items() if s})


def _from_old(ids: dict[str, list[dict[str, Any]]]) -> StoredShard:
    """Convert a shard of octopack f037e0e (summaries by normalised version) in memory."""
    parts = {}
    for key, fields in ids.items():
        ordered = sorted(fields, key=lambda f: version_value(f["version"]), reverse=True)
        parts[key] = _encoded(ordered, display=fields[0]["id"] if fields else None)
    return _from_parts(parts)


def _encoded(summary: Summary, display: str | None = None) -> tuple[list[Any], bytes]:
    """Return the slim header (without byte range) and the body line of one id's summary."""
    if display is None:
        display = min(summary, key=lambda f: f["normalized_version"].lower())["id"]
    texts, text_of = _distinct([record_text(_record(f)) for f in summary])
    names, name_of = _distinct([f["id"] for f in summary])
    flags = "".join(chr(_FLAG_BASE + flags_of(f)) for f in summary)
    raw = json.dumps(summary, separators=(",", ":"), sort_keys=True).encode("utf-8")
    raw = zlib.compress(raw)  # 7 KB of ten versions' fields become <1 KB: restarts read less
    return [display, flags, texts, text_of, names, name_of], raw


def _distinct(values: list[str]) -> tuple[list[str], list[int]]:
    """Return the distinct values and which one each position has ([] when all the same)."""
    distinct = list(dict.fromkeys(values))
    return distinct, ([] if len(distinct) == 1 else [distinct.index(v) for v in values])


def _header_of(entry: IdEntry) -> list[Any]:
    return [entry.id, entry.flags, entry._texts, entry._text_of, entry._names, entry._name_of]


def _from_parts(parts: Mapping[str, tuple[list[Any], bytes]]) -> StoredShard:
    """Assemble a shard in memory from (slim header, body line) per id."""
    body = bytearray()
    headers = {}
    for key in sorted(parts):
        slim, raw = parts[key]
        headers[key] = [*slim[:6], len(body), len(body) + len(raw)]
        body += raw + b"\n"
    full = _Full(bytes(body))
    return StoredShard({key: IdEntry(key, slim, full) for key, slim in headers.items()})


def _record(fields: Mapping[str, Any]) -> PackageRecord:
    """Build a record from stored fields; keys a newer octopack added are ignored."""
    try:
        return PackageRecord(**fields)
    except TypeError:
        known = PackageRecord.__dataclass_fields__
        return PackageRecord(**{k: v for k, v in fields.items() if k in known})
