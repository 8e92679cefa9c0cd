"""Delta deploys: build version N+1 from a cached N plus the byte ranges that changed.

Our packages are reproducible: an unchanged file packed at the same level is
byte-identical inside the zip. So a target holding N reads N+1's central directory by
Range, copies every entry whose name, CRC-32, sizes, method, flags, time and span length
match an entry of N (whose local header agrees with its central record), fetches the
other spans (coalesced), and assembles N+1 byte for byte into the cache's `.part` file.
It counts only when its SHA-256 is the feed's; any doubt makes `try_delta` say why not,
and the caller downloads whole. The contract is in docs/delta.md.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from packer.archive.zip.directory import (
    MAX_CENTRAL_DIRECTORY,
    TAIL_BYTES,
    CentralDirectory,
    directory_span,
    end_record_from_tail,
    parse_central_directory,
    read_central_directory,
    read_end_record,
    read_local_headers,
)
from packer.client.feed import FeedClient
from packer.client.ranges import PackageRanges, RangeRefused
from packer.client.transfer import PartFile
from packer.model.errors import PackerError
from packer.model.formats import FORMAT_BY_EXTENSION, archive_format, split_extension
from packer.model.identity import parse_package_filename
from packer.model.versions import NuGetVersion, parse_version

MERGE_GAP = 16 << 10  # fetch a short unchanged run between two changed ones: one request, not two
COPY_BLOCK = 1 << 20
SIGNATURE_PART = ".signature.p7s"  # a signed nupkg: left to a full download
_READ_ERRORS = (zipfile.BadZipFile, NotImplementedError, UnicodeDecodeError, OSError)


class DeltaUnavailable(Exception):
    """This package cannot be built from the cached one; the message says why."""


@dataclass(frozen=True)
class Segment:
    """A run of the new package's bytes: copied from the cached package at `base`, or fetched."""

    start: int
    length: int
    base: int | None = None


@dataclass(frozen=True)
class DeltaPlan:
    """The new package as segments in order, then its central directory and end records."""

    size: int
    segments: list[Segment]
    trailer: bytes
    entries: int
    reused: int

    @property
    def fetch_bytes(self) -> int:
        """Return the bytes the segments still need from the feed."""
        return sum(s.length for s in self.segments if s.base is None)


@dataclass(frozen=True)
class DeltaAttempt:
    """How a delta went: `done` when the verified package is in place; bytes received; why not."""

    done: bool
    bytes: int
    reason: str = ""
    line: str = ""


def try_delta(
    client: FeedClient,
    dest: Path,
    package_id: str,
    version: str,
    sha256: str,
    size: int | None,
    max_bytes: int | None,
) -> DeltaAttempt:
    """Build `dest` from an older cached version and ranges of the new one, verified, if we can."""
    extension = (split_extension(dest.name) or ("", ""))[1]
    fmt = FORMAT_BY_EXTENSION[extension]
    if archive_format(fmt).family != "zip":
        return DeltaAttempt(False, 0, f"{fmt} packages have no central directory")
    base = find_base(dest.parent, package_id, version, extension)
    if base is None:
        return DeltaAttempt(False, 0, "no other version of it in the cache")
    if size is None or (max_bytes is not None and size > max_bytes):
        return DeltaAttempt(False, 0, "the feed records no size, or one over the maximum")
    if TAIL_BYTES > size // 2:
        return DeltaAttempt(False, 0, "the package is too small: its end alone is half of it")
    ranges = PackageRanges(client, package_id, version)
    try:
        with open(base, "rb") as stream:
            plan = plan_delta(ranges, stream.fileno(), size)
            if ranges.received + plan.fetch_bytes > size // 2:
                raise DeltaUnavailable(
                    f"the delta ({ranges.received + plan.fetch_bytes} bytes) is above half "
                    f"the package ({size} bytes)"
                )
            _assemble_verified(plan, ranges, stream.fileno(), dest, sha256, max_bytes)
    except (DeltaUnavailable, RangeRefused, PackerError, *_READ_ERRORS) as error:
        return DeltaAttempt(False, ranges.received, str(error) or type(error).__name__)
    share = 100 * ranges.received / size
    line = (
        f"transfer: delta from cached {base.name}, {ranges.received} of {size} bytes fetched "
        f"({share:.1f}%) in {ranges.requests} ranged requests; "
        f"{plan.reused} of {plan.entries} entries reused"
    )
    return DeltaAttempt(True, ranges.received, line=line)


def find_base(cache_dir: Path, package_id: str, version: str, extension: str) -> Path | None:
    """Return the cached package of the same id and extension nearest below `version`.

    Without an older one, the oldest newer one (a rollback deploys from it as well).
    """
    wanted = parse_version(version)
    older: list[tuple[NuGetVersion, str]] = []
    newer: list[tuple[NuGetVersion, str]] = []
    for entry in os.scandir(cache_dir):
        if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
            continue
        try:
            parsed = parse_package_filename(entry.name)
        except PackerError:
            continue  # a .part file or a stranger
        if parsed.id.lower() != package_id.lower() or parsed.extension.lower() != extension:
            continue
        if parsed.version != wanted:
            (older if parsed.version < wanted else newer).append((parsed.version, entry.path))
    if older:
        return Path(max(older)[1])
    return Path(min(newer)[1]) if newer else None


def plan_delta(ranges: PackageRanges, base_fd: int, size: int) -> DeltaPlan:
    """Fetch the new package's end and central directory; match its entries with the base's."""
    tail = ranges.tail(TAIL_BYTES)
    if ranges.size != size:
        raise DeltaUnavailable(f"the server holds {ranges.size} bytes, the feed records {size}")
    end = end_record_from_tail(tail, size)
    if end is None:
        raise DeltaUnavailable("the new package has no end of central directory record")
    start_dir, size_cd, concat = directory_span(end)
    if size_cd > MAX_CENTRAL_DIRECTORY or start_dir + size_cd > size:
        raise DeltaUnavailable(f"the new package's central directory ({size_cd} bytes) is unusable")
    tail_start = size - len(tail)
    if start_dir < tail_start:
        if size - start_dir > size // 2:
            raise DeltaUnavailable("the central directory alone is above half the package")
        tail = ranges.read(start_dir, tail_start) + tail
        tail_start = start_dir
    trailer = tail[start_dir - tail_start :]
    new = parse_central_directory(trailer[:size_cd], start_dir, concat)
    base = _read_base(base_fd)
    segments = _segments(new, base)
    reused = sum(1 for segment in segments if segment.base is not None)
    return DeltaPlan(size, coalesce(segments), trailer, len(new), reused)


def _read_base(fd: int) -> CentralDirectory:
    """Read the cached package's central directory; refuse one whose local headers disagree."""
    end = read_end_record(fd)
    if end is None:
        raise DeltaUnavailable("the cached package has no end of central directory record")
    base = read_central_directory(fd, end)
    disagreement = read_local_headers(fd, base)
    if disagreement is not None:
        raise DeltaUnavailable(f"the cached package is inconsistent: {disagreement[1]}")
    return base


def _spans(found: CentralDirectory) -> list[tuple[int, int, int]]:
    """Return (index, offset, length) of every entry in archive order, up to the next one."""
    order = sorted(range(len(found)), key=found.offsets.__getitem__)
    ends = [found.offsets[index] for index in order[1:]] + [found.start_dir]
    spans = []
    for index, end in zip(order, ends, strict=True):
        length = end - found.offsets[index]
        if length <= 0:
            raise DeltaUnavailable(f"entry {found.names[index]!r} shares its bytes with another")
        spans.append((index, found.offsets[index], length))
    return spans


def _segments(new: CentralDirectory, base: CentralDirectory) -> list[Segment]:
    """Return one segment per entry span of `new` (and its prefix), copied where `base` matches."""
    if SIGNATURE_PART in new.names:
        raise DeltaUnavailable("a signed nupkg is not rebuilt from parts")
    base_spans = {index: (offset, length) for index, offset, length in _spans(base)}
    base_index = {name: index for index, name in enumerate(base.names)}
    spans = _spans(new)
    first = spans[0][1] if spans else new.start_dir
    segments = [Segment(0, first)] if first > 0 else []
    for index, offset, length in spans:
        match = base_index.get(new.names[index])
        source = None
        if match is not None and _same_entry(new, index, base, match):
            base_offset, base_length = base_spans[match]
            source = base_offset if base_length == length else None
        segments.append(Segment(offset, length, source))
    return segments


def _same_entry(new: CentralDirectory, i: int, base: CentralDirectory, j: int) -> bool:
    """True when two central records describe the same bytes (name matched by the caller)."""
    return (
        new.crcs[i] == base.crcs[j]
        and new.csizes[i] == base.csizes[j]
        and new.usizes[i] == base.usizes[j]
        and new.methods[i] == base.methods[j]
        and new.flags[i] == base.flags[j]
        and new.mtimes[i] == base.mtimes[j]
    )


def coalesce(segments: list[Segment], gap: int = MERGE_GAP) -> list[Segment]:
    """Join neighbouring segments of one kind; fetch a copy of `gap` bytes or less between fetches."""
    joined = _join(segments)
    fetched = [
        Segment(s.start, s.length)
        if s.base is not None
        and s.length <= gap
        and 0 < n < len(joined) - 1
        and joined[n - 1].base is None
        and joined[n + 1].base is None
        else s
        for n, s in enumerate(joined)
    ]
    return _join(fetched)


def _join(segments: list[Segment]) -> list[Segment]:
    """Join fetched neighbours, and copied neighbours that are neighbours in the base too."""
    joined: list[Segment] = []
    for segment in segments:
        last = joined[-1] if joined else None
        if last is not None and (last.base is None) == (segment.base is None):
            if last.base is None or last.base + last.length == segment.base:
                joined[-1] = Segment(last.start, last.length + segment.length, last.base)
                continue
        joined.append(segment)
    return joined


def _assemble_verified(
    plan: DeltaPlan,
    ranges: PackageRanges,
    base_fd: int,
    dest: Path,
    sha256: str,
    max_bytes: int | None,
) -> None:
    """Write the package into `dest.part` in order; rename it to `dest` only if the hash is right."""
    part_path = dest.with_name(dest.name + ".part")
    part = PartFile(part_path, plan.size, max_bytes, f"assembling {dest.name}")
    try:
        for segment in plan.segments:
            if segment.base is None:
                ranges.stream(segment.start, segment.start + segment.length, part.write)
            else:
                _copy(base_fd, segment.base, segment.length, part.write)
        part.write(plan.trailer)
        part.finish()
        digest = part.digest.hexdigest()
        if digest != sha256:
            raise DeltaUnavailable(
                f"the assembled package's SHA-256 {digest} is not the feed's {sha256}"
            )
        os.replace(part_path, dest)
    except BaseException:
        part.close()
        part_path.unlink(missing_ok=True)
        raise


def _copy(fd: int, offset: int, length: int, sink: Callable[[bytes], None]) -> None:
    """Pass `length` bytes of the cached package from `offset` to `sink`."""
    end = offset + length
    while offset < end:
        block = os.pread(fd, min(COPY_BLOCK, end - offset), offset)
        if not block:
            raise DeltaUnavailable("the cached package ended early")
        sink(block)
        offset += len(block)
