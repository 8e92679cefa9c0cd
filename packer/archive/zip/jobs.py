"""What the zip writer's worker threads do: read files, deflate them (libdeflate, zlib-ng,
ISA-L: all release the GIL) and frame them as zip entries; and the record layouts that the
writer shares with them.

ISA-L's dynamic-Huffman levels (1 to 3) are not used: on our machines the same bytes came out
of isal_zlib.compress(data, 1) a byte or two different now and then (a valid stream either
way, with another match picked), in a serial process as much as under threads, so packages
were not reproducible. Its level 0 (static tables, no gathers) has never differed.
"""

from __future__ import annotations

import functools
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import deflate
from isal import isal_zlib
from zlib_ng import zlib_ng

from packer.model.errors import BadInput, OperationFailed

LEVELS = ("none", "fast", "optimal")
ZIP64_LIMIT = 0xFFFFFFFF
ZIP64_COUNT_LIMIT = 0xFFFF
WINDOW = 32 * 1024
FAST_LIBDEFLATE_LEVEL = 1
FAST_ZLIB_NG_LEVEL = 2  # chunks of files past the whole limit, and tar.gz (no dictionary in
# libdeflate); zlib-ng's level 1 is a sixth larger than ISA-L's, its level 2 a little smaller
FAST_SMALL = 16 << 10
# files past this are compressed in chunks (libdeflate has no streaming), so memory stays flat
WHOLE_LIMIT = {"none": 4 << 20, "fast": 16 << 20, "optimal": 16 << 20}
OPTIMAL_LIBDEFLATE_LEVEL = 5
OPTIMAL_ZLIB_NG_LEVEL = 5
STORED, DEFLATED = 0, 8

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_EOCD = struct.Struct("<IHHHHIIH")
_EOCD64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<IIQI")
_MADE_BY_UNIX = 3 << 8
_ATTR_FILE = (0o100000 | 0o644) << 16
_ATTR_EXEC = (0o100000 | 0o755) << 16


class ZipEntry(NamedTuple):
    """One archive member: a directory (name ends with '/'), a file on disk, or bytes.

    A named tuple: tens of thousands are made and pickled to workers per package.
    """

    name: str
    mode: int = 0o644
    mtime: float = 315532800.0
    path: str | None = None
    data: bytes | None = None
    size: int = 0

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/")


@dataclass
class _Piece:
    """The compressed form of a whole entry or of one chunk of a large entry."""

    crc: int
    size: int
    payload: bytes
    method: int


@dataclass
class _Codec:
    """How one compression level compresses whole buffers and chunks of a stream."""

    whole: Callable[[bytes], bytes] | None
    chunk: Callable[[bytes, bytes, bool], bytes] | None
    whole_limit: int
    weight: int = 1  # bytes in flight per input byte: libdeflate wants its whole output room


def _fast_whole(data: bytes) -> bytes:
    """libdeflate level 1; files under 16 KiB at ISA-L level 0 (static tables: twice as fast
    as libdeflate, 2% larger on a tree of source files, under 1.10x zip -6 in all)."""
    if len(data) >= FAST_SMALL:
        return deflate.deflate_compress(data, FAST_LIBDEFLATE_LEVEL)
    return isal_zlib.compress(data, 0, -15)


def _fast_chunk(data: bytes, zdict: bytes, final: bool) -> bytes:
    return _zlib_ng_chunk(data, zdict, final, FAST_ZLIB_NG_LEVEL)


def _libdeflate_whole(data: bytes) -> bytes:
    return deflate.deflate_compress(data, OPTIMAL_LIBDEFLATE_LEVEL)


def _zlib_ng_chunk(
    data: bytes, zdict: bytes, final: bool, level: int = OPTIMAL_ZLIB_NG_LEVEL
) -> bytes:
    """One chunk as raw deflate primed with `zdict`; a fresh compressor each time, so the
    bytes depend on the chunk and its window only."""
    args = (level, zlib_ng.DEFLATED, -15, 8, zlib_ng.Z_DEFAULT_STRATEGY)
    comp = zlib_ng.compressobj(*args, zdict) if zdict else zlib_ng.compressobj(*args)
    return comp.compress(data) + comp.flush(zlib_ng.Z_FINISH if final else zlib_ng.Z_SYNC_FLUSH)


def codec_for(level: str, whole_limit: int | None = None) -> _Codec:
    """Pick the deflate implementations for a compression level name; files past
    `whole_limit` (default: the level's) are compressed in chunks."""
    if level in WHOLE_LIMIT:
        whole_limit = whole_limit or WHOLE_LIMIT[level]
    if level == "none":
        return _Codec(None, None, 4 << 20)
    if level == "fast":
        return _Codec(_fast_whole, _fast_chunk, whole_limit, 2)  # type: ignore[arg-type]
    if level == "optimal":
        return _Codec(_libdeflate_whole, _zlib_ng_chunk, whole_limit, 2)  # type: ignore[arg-type]
    raise BadInput(f"unknown compression level {level!r}: use one of {', '.join(LEVELS)}")


@functools.lru_cache(maxsize=4096)
def dos_datetime(mtime: float) -> tuple[int, int]:
    """Convert epoch seconds to zip's (time, date) fields, in UTC, clamped to 1980..2107."""
    tm = time.gmtime(min(max(mtime, 315532800), 4354819198))
    dos_time = (tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec // 2)
    dos_date = ((tm.tm_year - 1980) << 9) | (tm.tm_mon << 5) | tm.tm_mday
    return dos_time, dos_date


def _read_exact(path: str, offset: int, length: int, total: int) -> bytes:
    """Read `length` bytes at `offset`; fail when the file is not the size it was."""
    want = length + (1 if offset + length >= total else 0)
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            data = os.pread(fd, want, offset)
            while len(data) < want:
                more = os.pread(fd, want - len(data), offset + len(data))
                if not more:
                    break
                data += more
        finally:
            os.close(fd)
    except OSError as error:
        raise BadInput(f"cannot read {path}: {error.strerror or error}") from error
    if len(data) != length:
        raise OperationFailed(f"{path} changed while it was being packed")
    return data


# (name, flags, method, dos, crc, csize, usize, attr, offset from the start of the batch)
_Meta = tuple[bytes, int, int, tuple[int, int], int, int, int, int, int]


def _batch_job(codec: _Codec, entries: list[ZipEntry], zip64: int) -> tuple[bytes, list[_Meta]]:
    """Read, compress and frame a run of small entries in one worker task.

    The worker builds the local headers too, so the writer only appends the blob and adds
    one central record per entry (the only part that needs the entry's final offset). The
    loop is written out flat: it runs once per file, tens of thousands of times a package.
    """
    parts: list[bytes] = []
    metas: list[_Meta] = []
    rel = 0
    whole, crc32, pack = codec.whole, isal_zlib.crc32, _LOCAL.pack
    for entry in entries:
        text, mode, mtime, path, data, size = entry
        if text[-1:] == "/":
            name, flags, dos, attr = _entry_meta(entry)
            crc, payload, method, size = 0, b"", STORED, 0
        else:
            if data is None:
                data = _read_whole(path or "", size)
            size = len(data)
            name = text.encode("utf-8")
            flags = 0 if name.isascii() else 0x800
            dos = dos_datetime(mtime)
            attr = _ATTR_EXEC if mode & 0o111 else _ATTR_FILE
            crc, payload, method = crc32(data), data, STORED
            if whole is not None and data:
                packed = whole(data)
                if len(packed) < size:
                    payload, method = packed, DEFLATED
        csize = len(payload)
        if csize < zip64 and size < zip64:
            header = pack(0x04034B50, 20, flags, method, dos[0], dos[1], crc, csize, size,
                          len(name), 0) + name  # fmt: skip
        else:
            header = _local_header(name, flags, method, dos, crc, csize, size, False, zip64)
        parts += (header, payload)
        metas.append((name, flags, method, dos, crc, csize, size, attr, rel))
        rel += len(header) + csize
    return b"".join(parts), metas


def _read_whole(path: str, size: int) -> bytes:
    """Read a small file in one call; anything unusual goes through _read_exact's checks."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            data = os.pread(fd, size + 1, 0)
        finally:
            os.close(fd)
    except OSError:
        data = b""
    if len(data) == size:
        return data
    return _read_exact(path, 0, size, size)


def _entry_meta(entry: ZipEntry) -> tuple[bytes, int, tuple[int, int], int]:
    """Name bytes, flags (UTF-8 bit), DOS time and Unix attributes of an entry."""
    name = entry.name.encode("utf-8")
    flags = 0 if name.isascii() else 0x800
    if entry.name.endswith("/"):
        attr = ((0o040000 | 0o755) << 16) | 0x10
    else:
        attr = (0o100000 | (0o755 if entry.mode & 0o111 else 0o644)) << 16
    return name, flags, dos_datetime(entry.mtime), attr


def _local_header(
    name: bytes,
    flags: int,
    method: int,
    dos: tuple[int, int],
    crc: int,
    csize: int,
    usize: int,
    force64: bool,
    zip64_threshold: int,
) -> bytes:
    """Build a local file header; sizes move to a zip64 extra field when they need it."""
    zip64 = force64 or usize >= zip64_threshold or csize >= zip64_threshold
    extra = struct.pack("<HHQQ", 1, 16, usize, csize) if zip64 else b""
    header = _LOCAL.pack(
        0x04034B50, 45 if zip64 else 20, flags, method, dos[0], dos[1], crc,
        ZIP64_LIMIT if zip64 else csize, ZIP64_LIMIT if zip64 else usize, len(name),
        len(extra),
    )  # fmt: skip
    return header + name + extra


def central_record(
    name: bytes,
    flags: int,
    method: int,
    dos: tuple[int, int],
    crc: int,
    csize: int,
    usize: int,
    attr: int,
    offset: int,
    zip64_threshold: int,
) -> bytes:
    """Build one central directory record; large values move to a zip64 extra field."""
    extra_fields = []
    if usize >= zip64_threshold:
        extra_fields.append(usize)
        usize = ZIP64_LIMIT
    if csize >= zip64_threshold:
        extra_fields.append(csize)
        csize = ZIP64_LIMIT
    if offset >= zip64_threshold:
        extra_fields.append(offset)
        offset = ZIP64_LIMIT
    extra = b""
    if extra_fields:
        extra = struct.pack(f"<HH{len(extra_fields)}Q", 1, 8 * len(extra_fields), *extra_fields)
    version = 45 if extra_fields else 20
    header = _CENTRAL.pack(
        0x02014B50, _MADE_BY_UNIX | version, version, flags, method, dos[0], dos[1], crc,
        csize, usize, len(name), len(extra), 0, 0, 0, attr, offset,
    )  # fmt: skip
    return header + name + extra


def _chunk_job(codec: _Codec, entry: ZipEntry, offset: int, length: int) -> tuple[_Piece, bytes]:
    """Compress one chunk of a large file primed with the window before it."""
    assert entry.path is not None
    if codec.chunk is None:
        chunk = _read_exact(entry.path, offset, length, entry.size)
        return _Piece(isal_zlib.crc32(chunk), length, b"", STORED), chunk
    start = max(0, offset - WINDOW)
    data = _read_exact(entry.path, start, offset + length - start, entry.size)
    view = memoryview(data)  # slices without copies: one chunk is megabytes, per thread
    zdict, chunk = view[: offset - start], view[offset - start :]
    final = offset + length >= entry.size
    packed = codec.chunk(chunk, zdict, final)  # type: ignore[arg-type]
    return _Piece(isal_zlib.crc32(chunk), length, packed, DEFLATED), (
        bytes(chunk) if len(packed) >= len(chunk) else b""
    )
