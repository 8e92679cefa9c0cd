"""Read zip and nupkg files safely: structure checks the zipfile module does not make.

The central directory is the truth for names and sizes; every local header must agree
with it and no two entries' bytes may overlap (the overlapping-entries zip bomb).
"""

from __future__ import annotations

import stat
import struct
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

import zipfile_deflate64  # noqa: F401  (teaches zipfile to read Deflate64, method 9)

from packer.archive_rules import ArchiveEntry, ArchiveInfo, EntryChecker, Limits, normalize_name
from packer.archive_rules import refuse as refuse_entry
from packer.archive_write import SafeWriter
from packer.errors import UnsafeArchive
from packer.nuspec import parse_nuspec

CHUNK = 1 << 20
MAX_SYMLINK_TARGET = 4096
MAX_CENTRAL_DIRECTORY = 256 << 20  # zipfile reads it whole into memory
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_MAGIC = b"PK\x03\x04"
_METHODS = {0: "stored", 8: "deflate", 9: "deflate64", 12: "bzip2", 14: "lzma"}
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)
_OPC_PREFIXES = ("_rels/", "package/")


class ZipReader:
    """Validate a zip (or nupkg) and, once valid, stream its entries into a SafeWriter."""

    def __init__(self, path: Path, fmt: str, limits: Limits) -> None:
        """Prepare to read `path` as `fmt` ("zip" or "nupkg")."""
        self.path = path
        self.fmt = fmt
        self.limits = limits
        self._members: list[tuple[ArchiveEntry, zipfile.ZipInfo]] = []
        self._data_start: dict[int, int] = {}  # header offset -> first byte of the data

    def inspect(self) -> ArchiveInfo:
        """Check the structure and every entry without writing anything."""
        checker = EntryChecker(self.limits, self.path.stat().st_size)
        with self._open(checker) as archive:
            infos = archive.infolist()
            with open(self.path, "rb") as raw:
                headers = [_read_local_header(raw, info) for info in infos]
            _check_spans(infos, headers, archive.start_dir)
            for info, (fields, _, _) in zip(infos, headers, strict=True):
                start = info.header_offset + _LOCAL.size + fields[9] + fields[10]
                self._data_start[info.header_offset] = start
            for info, header in zip(infos, headers, strict=True):
                _check_local_header(info, header)
                entry = self._entry(archive, info)
                if entry is not None:
                    checker.add(entry)
                    self._members.append((entry, info))
            checker.finish()
            result = ArchiveInfo(self.fmt, checker.entries, checker.total)
            if self.fmt == "nupkg":
                self._read_nuspec(archive, result)
        return result

    def extract(self, writer: SafeWriter, skip_opc: bool) -> None:
        """Stream every validated entry into the writer, trusting no declared size."""
        total = 0
        with self._open(None) as archive, open(self.path, "rb") as raw:
            for entry, info in self._members:
                if skip_opc and self.fmt == "nupkg" and is_opc_part(entry.name):
                    continue
                if entry.kind == "dir":
                    writer.make_dir(entry)
                elif entry.kind == "symlink":
                    writer.add_symlink(entry)
                else:
                    chunks = self._checked(self._decoded(archive, raw, info), info, entry, total)
                    total += writer.write_file(entry, chunks)

    def _checked(
        self, chunks: Iterator[bytes], info: zipfile.ZipInfo, entry: ArchiveEntry, before: int
    ) -> Iterator[bytes]:
        """Pass chunks on, stopping as soon as they exceed the declared size or the limit."""
        seen = 0
        crc = 0
        try:
            for chunk in chunks:
                seen += len(chunk)
                if seen > info.file_size:
                    raise refuse_entry(
                        entry.name,
                        f"holds more data than its declared size of {info.file_size} bytes",
                    )
                if before + seen > self.limits.max_uncompressed_bytes:
                    raise refuse_entry(entry.name, "uncompressed data exceeds the limit")
                crc = zlib.crc32(chunk, crc)
                yield chunk
        except _ZIP_ERRORS as error:
            raise UnsafeArchive(
                f"entry {entry.name!r} of {self.path.name} is corrupt: {error}"
            ) from None
        if seen != info.file_size:
            raise refuse_entry(entry.name, f"holds {seen} bytes, not {info.file_size} as declared")
        if crc != info.CRC:
            raise UnsafeArchive(f"entry {entry.name!r} of {self.path.name} is corrupt: Bad CRC-32")

    def _decoded(
        self, archive: zipfile.ZipFile, raw: BinaryIO, info: zipfile.ZipInfo
    ) -> Iterator[bytes]:
        """Yield an entry's uncompressed bytes; stored and deflate are decoded here, so data
        beyond the declared size is seen (zipfile silently cuts it off)."""
        start = self._data_start[info.header_offset]
        if info.compress_type == zipfile.ZIP_STORED:
            yield from _span(raw, start, info.compress_size)
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            yield from _inflate(_span(raw, start, info.compress_size), info.file_size)
        else:
            with archive.open(info) as member:
                yield from iter(lambda: member.read(CHUNK), b"")

    def _open(self, checker: EntryChecker | None) -> zipfile.ZipFile:
        """Open the zip, refusing a declared entry count over the limit before parsing it."""
        try:
            with open(self.path, "rb") as raw:
                end = zipfile._EndRecData(raw)  # type: ignore[attr-defined]
            if end is None:
                raise zipfile.BadZipFile("no end of central directory record")
            if checker is not None:
                checker.check_count(end[zipfile._ECD_ENTRIES_TOTAL])  # type: ignore[attr-defined]
            directory_size = end[zipfile._ECD_SIZE]  # type: ignore[attr-defined]
            if directory_size > MAX_CENTRAL_DIRECTORY:
                raise UnsafeArchive(
                    f"{self.path.name}: central directory of {directory_size} bytes is over "
                    f"the limit of {MAX_CENTRAL_DIRECTORY} bytes"
                )
            return zipfile.ZipFile(self.path)
        except _ZIP_ERRORS as error:
            raise UnsafeArchive(
                f"{self.path.name} is not a valid zip archive (truncated or corrupt): {error}"
            ) from None

    def _entry(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> ArchiveEntry | None:
        """Turn a central directory record into an entry, refusing what cannot be extracted."""
        raw = info.orig_filename
        name = normalize_name(raw)
        if self.fmt == "nupkg" and name is not None and "%" in name:
            name = normalize_name(unquote(name))
        if name is None:
            return None
        if info.flag_bits & 0x1:
            raise refuse_entry(raw, "encrypted entries are not supported")
        if info.compress_type not in _METHODS:
            raise refuse_entry(raw, f"unsupported compression method {info.compress_type}")
        unix = info.external_attr >> 16 if info.create_system == 3 else 0
        kind = _kind(raw, unix)
        mode = unix & 0o7777 or (0o755 if kind == "dir" else 0o644)
        size = info.file_size if kind == "file" else 0
        target = self._symlink_target(archive, info, raw) if kind == "symlink" else None
        return ArchiveEntry(name, kind, size, mode, _mtime(info), target)

    def _symlink_target(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, raw: str) -> str:
        """Read a unix symlink's target (its data), bounded in size."""
        if info.file_size > MAX_SYMLINK_TARGET:
            raise refuse_entry(raw, f"symlink target longer than {MAX_SYMLINK_TARGET} bytes")
        try:
            with archive.open(info) as member:
                data = member.read(MAX_SYMLINK_TARGET + 1)
        except _ZIP_ERRORS as error:
            raise UnsafeArchive(
                f"symlink {raw!r} of {self.path.name} is corrupt: {error}"
            ) from None
        return data.decode("utf-8", "surrogateescape")

    def _read_nuspec(self, archive: zipfile.ZipFile, result: ArchiveInfo) -> None:
        """Find the one root .nuspec of a nupkg and parse it with the size cap."""
        found = [
            (entry, info)
            for entry, info in self._members
            if entry.kind == "file" and "/" not in entry.name and _is_nuspec(entry.name)
        ]
        if not found:
            raise UnsafeArchive(f"{self.path.name} has no .nuspec at its root (a nupkg needs one)")
        if len(found) > 1:
            names = ", ".join(repr(entry.name) for entry, _ in found)
            raise UnsafeArchive(f"{self.path.name} has more than one .nuspec at its root: {names}")
        entry, info = found[0]
        cap = self.limits.max_nuspec_bytes
        if info.file_size > cap:
            raise UnsafeArchive(f"nuspec {entry.name!r} is {info.file_size} bytes, over {cap}")
        try:
            with archive.open(info) as member:
                data = member.read(cap + 1)
        except _ZIP_ERRORS as error:
            raise UnsafeArchive(f"nuspec {entry.name!r} is corrupt: {error}") from None
        result.nuspec = parse_nuspec(data, cap)
        result.nuspec_name = entry.name


def _span(raw: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    """Yield `length` bytes of the file from `start`, in chunks; refuse a short file."""
    raw.seek(start)
    left = length
    while left > 0:
        chunk = raw.read(min(CHUNK, left))
        if not chunk:
            raise zipfile.BadZipFile("unexpected end of file inside the entry's data")
        left -= len(chunk)
        yield chunk


def _inflate(compressed: Iterator[bytes], declared: int) -> Iterator[bytes]:
    """Inflate raw deflate in bounded steps, yielding at most one byte past `declared`."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    produced = 0
    for chunk in compressed:
        data = chunk
        while data and not inflater.eof:
            out = inflater.decompress(data, CHUNK)
            data = inflater.unconsumed_tail
            produced += len(out)
            yield out
            if produced > declared:
                return  # the caller refuses; never inflate further
        if inflater.eof:
            break
    if not inflater.eof:
        raise zlib.error("the deflate stream ends early (truncated or corrupt)")


def is_opc_part(name: str) -> bool:
    """True for the nupkg packaging parts NuGet never extracts (rels, psmdcp, content types)."""
    folded = name.casefold()
    return (
        folded.startswith(_OPC_PREFIXES)
        or folded in ("_rels", "package", "[content_types].xml")
        or ("/" not in folded and _is_nuspec(folded))
    )


def _is_nuspec(name: str) -> bool:
    """True for a name ending in .nuspec (any case)."""
    return name.casefold().endswith(".nuspec")


def _kind(raw: str, unix: int) -> str:
    """Return file, dir or symlink from the name and unix mode; refuse devices and FIFOs."""
    fmt = stat.S_IFMT(unix)
    if fmt == stat.S_IFLNK:
        return "symlink"
    if fmt in (stat.S_IFCHR, stat.S_IFBLK):
        raise refuse_entry(raw, "device files are not allowed")
    if fmt == stat.S_IFIFO:
        raise refuse_entry(raw, "FIFOs (named pipes) are not allowed")
    if fmt == stat.S_IFSOCK:
        raise refuse_entry(raw, "sockets are not allowed")
    if raw.endswith("/") or fmt == stat.S_IFDIR:
        return "dir"
    return "file"


def _mtime(info: zipfile.ZipInfo) -> float:
    """Return the UTC mtime from the extended timestamp field, else the DOS time as local."""
    extra = info.extra
    while len(extra) >= 4:
        kind, length = struct.unpack("<HH", extra[:4])
        body = extra[4 : 4 + length]
        if kind == 0x5455 and len(body) >= 5 and body[0] & 1:
            return float(struct.unpack("<i", body[1:5])[0])
        extra = extra[4 + length :]
    try:
        return time.mktime(info.date_time + (0, 0, -1))
    except (OverflowError, ValueError):
        return 0.0


def _read_local_header(raw, info: zipfile.ZipInfo) -> tuple:  # type: ignore[no-untyped-def]
    """Read the fixed local header and its name and extra field of one entry."""
    raw.seek(info.header_offset)
    fixed = raw.read(_LOCAL.size)
    if len(fixed) < _LOCAL.size or fixed[:4] != _LOCAL_MAGIC:
        raise refuse_entry(info.orig_filename, "no valid local header at its offset")
    fields = _LOCAL.unpack(fixed)
    name = raw.read(fields[9])
    extra = raw.read(fields[10])
    return fields, name, extra


def _check_spans(infos: list[zipfile.ZipInfo], headers: list[tuple], start_dir: int) -> None:
    """Refuse entries whose bytes overlap each other or the central directory."""
    spans = []
    for info, (fields, _name, _extra) in zip(infos, headers, strict=True):
        data_start = info.header_offset + _LOCAL.size + fields[9] + fields[10]
        spans.append((info.header_offset, data_start + info.compress_size, info.orig_filename))
    spans.sort()
    for (_start, end, name), (next_start, _, next_name) in zip(spans, spans[1:], strict=False):
        if end > next_start:
            raise refuse_entry(
                name,
                f"its data overlaps entry {next_name!r} (overlapping entries: a zip bomb)",
            )
    for _start, end, name in spans:
        if end > start_dir:
            raise refuse_entry(
                name, "its data overlaps the central directory (zip bomb or corrupt)"
            )


def _check_local_header(info: zipfile.ZipInfo, header: tuple) -> None:
    """Refuse a local header whose name, method, CRC or sizes disagree with the central one."""
    fields, raw_name, extra = header
    flags, method, crc, csize, usize = fields[2], fields[3], fields[6], fields[7], fields[8]
    local_name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "surrogateescape")
    central = info.orig_filename
    if local_name != central:
        raise refuse_entry(
            central, f"local header name {local_name!r} disagrees with the central directory"
        )
    if method != info.compress_type:
        raise refuse_entry(
            central, "local header compression method disagrees with the central one"
        )
    if flags & 0x08:
        return  # sizes and CRC follow the data in a data descriptor
    if csize == 0xFFFFFFFF or usize == 0xFFFFFFFF:
        usize, csize = _zip64_sizes(extra, usize, csize)
    if (crc, csize, usize) != (info.CRC, info.compress_size, info.file_size):
        raise refuse_entry(
            central,
            "local header CRC or sizes disagree with the central directory "
            f"(local crc={crc:08x} compressed={csize} size={usize}; central crc={info.CRC:08x} "
            f"compressed={info.compress_size} size={info.file_size})",
        )


def _zip64_sizes(extra: bytes, usize: int, csize: int) -> tuple[int, int]:
    """Read the zip64 sizes of a local header's extra field (uncompressed, compressed)."""
    while len(extra) >= 4:
        kind, length = struct.unpack("<HH", extra[:4])
        body = extra[4 : 4 + length]
        if kind == 0x0001 and len(body) >= 16:
            return struct.unpack("<QQ", body[:16])
        extra = extra[4 + length :]
    return usize, csize
