"""The hostile-input rules every archive entry must pass, whatever the archive format.

Readers (archive_zip, archive_tar) turn their members into `ArchiveEntry` values and hand
them to an `EntryChecker`; it alone decides whether a name, link, size or count is allowed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from packer.model.errors import UnsafeArchive
from packer.model.nuspec import NuspecMetadata

GIB = 1 << 30
MAX_SEGMENT_BYTES = 255
MAX_NAME_BYTES = 4095  # PATH_MAX less its NUL: what Linux opens relative to the release
MAX_LINK_HOPS = 40
MAX_WARNINGS = 100  # name collisions listed one by one; more are not listed
NAME_COLLISION = "name-collision"

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile("[\x01-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\udc80-\udcff]")
# Characters the full check below must look at; a name without them (and without `//`,
# `.` or `..` segments, a leading `/` or `X:`) is already clean.
_SUSPECT_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\\\\\udc80-\udcff]")
_SHORT_SEGMENT = MAX_SEGMENT_BYTES // 4  # at most 4 UTF-8 bytes per character


@dataclass(frozen=True)
class Limits:
    """Ceilings on a package; defaults are the feed's and the target's documented limits."""

    max_package_bytes: int = 8 * GIB
    max_uncompressed_bytes: int = 32 * GIB
    max_entries: int = 250_000
    max_ratio: float = 500.0
    max_nuspec_bytes: int = 1 << 20
    max_name_bytes: int = MAX_NAME_BYTES


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    """One validated member: `name` is the relative POSIX path it extracts to."""

    name: str
    kind: str  # "file" | "dir" | "symlink" | "hardlink"
    size: int = 0
    mode: int = 0o644
    mtime: float = 0.0
    link_target: str | None = None


@dataclass(frozen=True)
class ArchiveWarning:
    """Something allowed but risky somewhere: `kind` says what, `names` the entries involved.

    NAME_COLLISION: two names equal only after case folding or Unicode normalisation; one
    file on a file system that folds names (Windows, macOS), two files elsewhere.
    """

    kind: str
    message: str
    names: tuple[str, ...] = ()


@dataclass
class ArchiveInfo:
    """What inspection found: the entries in archive order and, for a nupkg, its nuspec."""

    format: str
    entries: list[ArchiveEntry] = field(default_factory=list)
    uncompressed_size: int = 0
    nuspec: NuspecMetadata | None = None
    nuspec_name: str | None = None
    warnings: list[ArchiveWarning] = field(default_factory=list)

    @property
    def collisions(self) -> list[ArchiveWarning]:
        """Return the name-collision warnings (refused where the destination folds names)."""
        return [w for w in self.warnings if w.kind == NAME_COLLISION]


def fold_name(name: str) -> str:
    """Return the key under which names collide on a folding file system (case, NFC, NFKC)."""
    if name.isascii():
        return name.lower()
    folded = unicodedata.normalize("NFKC", name).casefold()
    return unicodedata.normalize("NFKC", folded)


def refuse(name: str, rule: str) -> UnsafeArchive:
    """Build the error for an entry that broke a rule; the message names both."""
    return UnsafeArchive(f"refusing entry {name!r}: {rule}")


def normalize_name(raw: str) -> str | None:
    """Check a member name and return its clean relative form (None for the root itself).

    Leading `./` segments (as `tar -C dir .` writes) and a trailing `/` are dropped.
    """
    name = raw.rstrip("/") if raw.endswith("/") else raw
    if _looks_clean(name):
        return name  # the common case: nothing to refuse, nothing to drop
    return _normalize_slowly(raw)


def _looks_clean(name: str) -> bool:
    """Cheaply tell a name the full check would return unchanged (False: ask it)."""
    if not name or name[0] == "/" or name[1:2] == ":" or "//" in name:
        return False
    if _SUSPECT_CHARACTER.search(name) is not None:
        return False
    segments = None
    if name[0] == "." or "/." in name:
        segments = name.split("/")
        if "." in segments or ".." in segments:
            return False
    if len(name) <= _SHORT_SEGMENT:
        return True
    segments = segments or name.split("/")
    return max(map(len, segments)) <= _SHORT_SEGMENT or all(
        len(s.encode("utf-8")) <= MAX_SEGMENT_BYTES for s in segments
    )


def _normalize_slowly(raw: str) -> str | None:
    """Apply every name rule in turn, so the refusal names the first one broken."""
    if raw == "":
        raise refuse(raw, "empty name")
    if "\x00" in raw:
        raise refuse(raw, "name contains a NUL character")
    if _CONTROL.search(raw):
        raise refuse(raw, "name contains a control character")
    if _SURROGATE.search(raw):
        raise refuse(raw, "name is not valid UTF-8")
    if raw.startswith("/"):
        raise refuse(raw, "absolute path")
    if _DRIVE.match(raw):
        raise refuse(raw, "path starts with a drive letter")
    if "\\" in raw:
        raise refuse(raw, "name contains a backslash (Windows path separator)")
    segments = raw.rstrip("/").split("/") if raw.rstrip("/") else []
    clean = []
    for index, segment in enumerate(segments):
        if segment == "..":
            raise refuse(raw, "path contains a '..' segment")
        if segment == ".":
            continue
        if segment == "":
            raise refuse(raw, "path contains an empty segment ('//')")
        if _DRIVE.match(segment) and index == 0:
            raise refuse(raw, "path starts with a drive letter")
        if len(segment.encode("utf-8", "surrogateescape")) > MAX_SEGMENT_BYTES:
            raise refuse(raw, f"a path segment is longer than {MAX_SEGMENT_BYTES} bytes")
        clean.append(segment)
    return "/".join(clean) if clean else None


class EntryChecker:
    """Accumulate entries in archive order, refusing each rule as soon as it is broken.

    One dict (exact name -> position in `entries`) is the state per entry, plus one more
    (folded name -> first spelling) for the few names that do not fold to themselves, so
    a package of 100k entries costs a few MiB. Exact duplicates are refused; names equal
    only after folding are recorded as warnings (the first MAX_WARNINGS pairs).
    """

    def __init__(self, limits: Limits, package_size: int) -> None:
        """Start an empty check of a package of `package_size` bytes."""
        self.limits = limits
        self.package_size = max(package_size, 1)
        self.entries: list[ArchiveEntry] = []
        self.total = 0
        self.warnings: list[ArchiveWarning] = []
        self._index: dict[str, int] = {}  # exact name -> position in entries
        self._spellings: dict[str, str] = {}  # folded -> first spelling folding elsewhere

    def check_count(self, count: int) -> None:
        """Refuse a declared or running entry count over the limit."""
        if count > self.limits.max_entries:
            raise UnsafeArchive(
                f"too many entries: {count} (the limit is {self.limits.max_entries})"
            )

    def add(self, entry: ArchiveEntry) -> None:
        """Check one entry (name already normalised) against the rules seen so far."""
        self.check_count(len(self.entries) + 1)
        name = entry.name
        if len(name) * 4 > self.limits.max_name_bytes:  # else no UTF-8 spelling can be over
            self._check_length(name)
        found = self._index.get(name)
        if found is not None:
            other = self.entries[found]
            raise refuse(name, f"duplicate name {other.name!r} (a {entry.kind} and a {other.kind})")
        if entry.kind == "hardlink":
            # A hard link is written as a copy: it costs its target's size.
            entry = replace(entry, size=self._check_hardlink(entry))
        elif entry.kind != "file" and entry.size:
            entry = replace(entry, size=0)
        self._note_spelling(name)
        self._index[name] = len(self.entries)
        self.entries.append(entry)
        self.add_bytes(entry.size, name)

    def _check_length(self, name: str) -> None:
        """Refuse a path longer than a target can open (PATH_MAX), however legal its parts."""
        limit = self.limits.max_name_bytes
        if len(name.encode("utf-8", "surrogateescape")) > limit:
            raise refuse(name[:200] + "...", f"path is longer than {limit} bytes (too deep)")

    def _note_spelling(self, name: str, folder: bool = False) -> None:
        """Warn when `name` folds to the same key as an earlier entry or folder.

        Only names that do not fold to themselves (and implicit folders) are remembered:
        a name that does is found in the exact index, so most entries cost nothing here.
        """
        key = fold_name(name)
        if key == name:
            key = name  # share the string
        first = self._spellings.get(key)
        if first is None and key != name and key in self._index:
            first = key  # an entry spelled exactly as the folded form
        if first is None:
            if key != name or folder:
                self._spellings[key] = name
        elif first != name:
            self._warn_collision(first, name)

    def _warn_collision(self, first: str, second: str) -> None:
        """Record (at most MAX_WARNINGS listed) two names that fold together.

        Each name is noted once (entries as added, folders once verified), so no pair
        comes twice.
        """
        if len(self.warnings) >= MAX_WARNINGS:
            return
        how = "case folding" if first.casefold() == second.casefold() else "Unicode normalisation"
        message = (
            f"names {first!r} and {second!r} are equal after {how}: one file on a file system "
            "that folds names (Windows, macOS), so deploying there is refused"
        )
        self.warnings.append(ArchiveWarning(NAME_COLLISION, message, (first, second)))

    def add_bytes(self, size: int, name: str) -> None:
        """Add inflated bytes to the total, refusing totals and ratios over the limits."""
        if size < 0:
            raise refuse(name, f"negative size {size}")
        self.total += size
        limit = self.limits.max_uncompressed_bytes
        if self.total > limit:
            raise UnsafeArchive(
                f"uncompressed size {self.total} bytes is over the limit of {limit} bytes "
                f"(at entry {name!r})"
            )
        ratio = self.total / self.package_size
        if ratio > self.limits.max_ratio:
            raise UnsafeArchive(
                f"compression ratio {ratio:.0f}:1 is over the limit of "
                f"{self.limits.max_ratio:g}:1 (at entry {name!r}; possible zip bomb)"
            )

    def finish(self) -> None:
        """Check the rules that need every entry: parents that are not dirs, symlink targets."""
        verified: set[str] = set()  # folders as written whose every ancestor passed
        for entry in self.entries:
            name = entry.name
            cut = name.rfind("/")
            pending = []
            while cut > 0 and name[:cut] not in verified:
                pending.append(name[:cut])
                cut = name.rfind("/", 0, cut)
            for written in reversed(pending):  # shallowest first, as the message expects
                self._check_folder(name, written)
                verified.add(written)
        links = {e.name: e.link_target or "" for e in self.entries if e.kind == "symlink"}
        folded = {fold_name(name): target for name, target in links.items()}
        for entry in self.entries:
            if entry.kind == "symlink":
                self._check_symlink(entry, links, folded)

    def _check_folder(self, name: str, written: str) -> None:
        """Refuse `name` when its folder `written` is not a dir; warn when spelled two ways."""
        found = self._index.get(written)
        if found is None:
            self._note_spelling(written, folder=True)
            return
        other = self.entries[found]
        if other.kind != "dir":
            raise refuse(
                name, f"lies below {other.name!r}, which is a {other.kind}, not a directory"
            )

    def _check_hardlink(self, entry: ArchiveEntry) -> int:
        """Allow a hard link only to an earlier regular file of this archive; return its size."""
        target = entry.link_target or ""
        try:
            clean = normalize_name(target)
        except UnsafeArchive as error:
            rule = str(error).split(": ", 1)[-1]
            raise refuse(entry.name, f"hard link target {target!r} is unsafe: {rule}") from None
        found = self._index.get(clean or "")
        if found is None or self.entries[found].kind != "file":
            raise refuse(
                entry.name,
                f"hard link to {target!r}, which is not an earlier regular file of the archive",
            )
        return self.entries[found].size

    def _check_symlink(
        self, entry: ArchiveEntry, links: dict[str, str], folded: dict[str, str]
    ) -> None:
        """Allow a symlink only when it resolves (through other links) inside the destination."""
        target = entry.link_target or ""
        if target == "":
            raise refuse(entry.name, "symlink with an empty target")
        if "\x00" in target or _CONTROL.search(target):
            raise refuse(entry.name, f"symlink target {target!r} contains a control character")
        if target.startswith("/") or "\\" in target or _DRIVE.match(target):
            raise refuse(
                entry.name, f"symlink to absolute path {target!r} points outside the destination"
            )
        parent = entry.name.split("/")[:-1]
        # Resolve as a case-sensitive file system would, and as a folding one would.
        if not (
            _resolves_inside(parent, target, links, str)
            and _resolves_inside(parent, target, folded, fold_name)
        ):
            raise refuse(entry.name, f"symlink to {target!r} points outside the destination")


def _resolves_inside(
    start: list[str], target: str, links: dict[str, str], key: Callable[[str], str]
) -> bool:
    """Walk `target` from directory `start`, following archive symlinks; False on escape.

    `links` maps `key(path)` to a link's target: `str` for exact names, `fold_name` to
    follow links the way a file system that folds names would.
    """
    hops = 0
    pending = [(list(start), target.split("/"))]
    stack: list[str] = []
    while pending:
        base, parts = pending.pop()
        stack = base
        for index, part in enumerate(parts):
            if part in ("", "."):
                continue
            if part == "..":
                if not stack:
                    return False
                stack.pop()
                continue
            stack.append(part)
            link = links.get(key("/".join(stack)))
            if link is None:
                continue
            hops += 1
            if hops > MAX_LINK_HOPS or link.startswith("/") or "\\" in link:
                return False
            stack.pop()
            rest = parts[index + 1 :]
            pending.append((list(stack), link.split("/") + rest))
            break
    return True
