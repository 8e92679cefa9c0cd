"""Decode one validated zip entry's data, refusing data that disagrees with its headers.

Stored and deflate entries are decoded here (with ISA-L), so data past the declared size
is seen (zipfile silently cuts it off); Deflate64, bzip2 and LZMA go through zipfile's
decoders. Nothing here trusts a declared size: output stops one byte past it.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

import zipfile_deflate64  # noqa: F401  (teaches zipfile to read Deflate64, method 9)

from packer.archive.rules import refuse as refuse_entry
from packer.model.errors import UnsafeArchive

try:  # ISA-L inflates two to three times faster than zlib, and releases the GIL too
    from isal import isal_zlib as _inflater
    from isal.igzip_lib import IsalError
except ImportError:  # pragma: no cover - isal is a declared dependency
    _inflater = zlib  # type: ignore[no-redef]
    IsalError = zlib.error  # type: ignore[misc,assignment]

CHUNK = 1 << 20
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    IsalError,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
)


class Member(NamedTuple):
    """Where one entry's data is and what its headers promise."""

    name: str
    size: int
    start: int  # first byte of the data
    csize: int
    crc: int
    method: int


def member_chunks(fd: int, path: Path, member: Member) -> Iterable[bytes]:
    """Return the checked uncompressed bytes of `member` of the zip `path`, open as `fd`.

    An entry of at most CHUNK bytes is read and checked at once (one pread, one inflate);
    a bigger one is streamed, refused as soon as it passes its declared size. Safe to call
    from several threads.
    """
    if member.csize <= CHUNK and member.size <= CHUNK and member.method < 9:
        data = _small(fd, path.name, member)
        return (data,) if data else ()
    return _checked(_decoded(fd, path, member), path.name, member)


def open_member(raw: BinaryIO, member: Member) -> zipfile.ZipExtFile:
    """Open an entry through zipfile's decoders, which check the CRC at its end."""
    info = zipfile.ZipInfo(member.name)
    info.compress_type = member.method
    info.compress_size = member.csize
    info.file_size = member.size
    info.CRC = member.crc
    raw.seek(member.start)
    return zipfile.ZipExtFile(raw, "r", info)


def _small(fd: int, archive: str, member: Member) -> bytes:
    """Read and check a stored or deflated entry of at most CHUNK bytes in one go."""
    declared = member.size
    try:
        data = _read_exact(fd, member.start, member.csize)
        if member.method == zipfile.ZIP_DEFLATED:
            inflater = _inflater.decompressobj(-zlib.MAX_WBITS)
            data = inflater.decompress(data, declared + 1)
            if len(data) <= declared and not inflater.eof:
                raise zlib.error("the deflate stream ends early (truncated or corrupt)")
        crc = _inflater.crc32(data) if len(data) <= declared else 0
    except ZIP_ERRORS as error:
        raise _corrupt(archive, member, error) from None
    _check(archive, member, len(data), crc)
    return data


def _checked(chunks: Iterator[bytes], archive: str, member: Member) -> Iterator[bytes]:
    """Pass chunks on, stopping as soon as they exceed the declared size.

    The declared sizes were checked against the limits, so staying within each one keeps
    the total within the limit too.
    """
    seen = 0
    crc = 0
    try:
        for chunk in chunks:
            seen += len(chunk)
            if seen > member.size:
                break
            crc = _inflater.crc32(chunk, crc)
            yield chunk
    except ZIP_ERRORS as error:
        raise _corrupt(archive, member, error) from None
    _check(archive, member, seen, crc)


def _check(archive: str, member: Member, seen: int, crc: int) -> None:
    """Refuse data longer or shorter than declared, or failing its CRC."""
    if seen > member.size:
        raise refuse_entry(
            member.name, f"holds more data than its declared size of {member.size} bytes"
        )
    if seen != member.size:
        raise refuse_entry(member.name, f"holds {seen} bytes, not {member.size} as declared")
    if crc != member.crc:
        raise UnsafeArchive(f"entry {member.name!r} of {archive} is corrupt: Bad CRC-32")


def _corrupt(archive: str, member: Member, error: BaseException) -> UnsafeArchive:
    """Describe an entry whose data cannot be decoded."""
    return UnsafeArchive(f"entry {member.name!r} of {archive} is corrupt: {error}")


def _decoded(fd: int, path: Path, member: Member) -> Iterator[bytes]:
    """Yield an entry's uncompressed bytes, at most one byte past its declared size."""
    if member.method == zipfile.ZIP_STORED:
        yield from _span(fd, member.start, member.csize)
    elif member.method == zipfile.ZIP_DEFLATED:
        yield from _inflate(_span(fd, member.start, member.csize), member.size)
    else:
        with open(path, "rb") as raw, open_member(raw, member) as stream:  # own offset
            yield from iter(lambda: stream.read(CHUNK), b"")


def _read_exact(fd: int, start: int, length: int) -> bytes:
    """Read `length` bytes at `start`; refuse a file that ends first."""
    data = os.pread(fd, length, start)
    if len(data) < length:
        raise zipfile.BadZipFile("unexpected end of file inside the entry's data")
    return data


def _span(fd: int, start: int, length: int) -> Iterator[bytes]:
    """Yield `length` bytes of the file from `start`, in chunks; refuse a short file."""
    while length > 0:
        step = min(CHUNK, length)
        chunk = _read_exact(fd, start, step)
        start += step
        length -= step
        yield chunk


def _inflate(compressed: Iterator[bytes], declared: int) -> Iterator[bytes]:
    """Inflate raw deflate in bounded steps, yielding at most one byte past `declared`."""
    inflater = _inflater.decompressobj(-zlib.MAX_WBITS)
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
