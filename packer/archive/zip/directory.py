"""Read a zip's central directory and local headers into compact arrays, checking structure.

zipfile keeps a ZipInfo object (with its name, extra and comment) per entry: about 1 KiB,
so over 100 MiB for 100k entries. We read the few fields the checks need into typed
arrays instead, following zipfile's own parsing (offsets of prefixed archives, zip64).
"""

from __future__ import annotations

import os
import struct
import time
import zipfile
from array import array

from packer.archive.rules import refuse as refuse_entry

MAX_CENTRAL_DIRECTORY = 256 << 20  # read whole into memory, as zipfile does
_CENTRAL = struct.Struct(zipfile.structCentralDir)  # type: ignore[attr-defined]
_CENTRAL_MAGIC = zipfile.stringCentralDir  # type: ignore[attr-defined]
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_MAGIC = b"PK\x03\x04"
_LOCAL_SLACK = 64  # read this much past the name at once: most extra fields fit
_MAX_EXTRACT_VERSION = 63
_ZIP64_LIMIT = 0xFFFFFFFF


class CentralDirectory:
    """Every central record of a zip, one slot per record in each array (archive order)."""

    __slots__ = (
        "names",
        "flags",
        "methods",
        "crcs",
        "csizes",
        "usizes",
        "offsets",
        "modes",
        "mtimes",
        "starts",
        "start_dir",
    )

    def __init__(self, start_dir: int) -> None:
        """Start empty; the central directory begins at `start_dir` (prefix included)."""
        self.start_dir = start_dir
        self.names: list[str] = []  # as written, decoded as zipfile decodes them
        self.flags = array("H")
        self.methods = array("H")
        self.crcs = array("L")
        self.csizes = array("Q")
        self.usizes = array("Q")
        self.offsets = array("Q")  # local header offsets, prefix included
        self.modes = array("L")  # unix mode bits (0 unless made on unix)
        self.mtimes = array("d")
        self.starts = array("Q")  # first byte of each entry's data (from its local header)

    def __len__(self) -> int:
        """Return the number of central records."""
        return len(self.names)


def read_central_directory(fd: int, end: list) -> CentralDirectory:  # type: ignore[type-arg]
    """Parse the central directory that zipfile's end record `end` describes.

    Raises zipfile.BadZipFile, NotImplementedError or UnicodeDecodeError as zipfile would.
    """
    start_dir, size_cd, concat = directory_span(end)
    return parse_central_directory(os.pread(fd, size_cd, start_dir), start_dir, concat)


def directory_span(end: list) -> tuple[int, int, int]:  # type: ignore[type-arg]
    """Return (first byte, size, prefix length) of the central directory `end` describes."""
    size_cd, offset_cd = end[zipfile._ECD_SIZE], end[zipfile._ECD_OFFSET]  # type: ignore[attr-defined]
    concat = end[zipfile._ECD_LOCATION] - size_cd - offset_cd  # type: ignore[attr-defined]
    if end[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:  # type: ignore[attr-defined]
        concat -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator  # type: ignore[attr-defined]
    start_dir = offset_cd + concat
    if start_dir < 0:
        raise zipfile.BadZipFile("Bad offset for central directory")
    return start_dir, size_cd, concat


def parse_central_directory(data: bytes, start_dir: int, concat: int = 0) -> CentralDirectory:
    """Parse central directory bytes read from `start_dir` (a file's, or fetched by Range).

    `concat` is the length of any prefix before the zip (offsets are shifted by it).
    """
    size_cd = len(data)
    found = CentralDirectory(start_dir)
    position = 0
    while position < size_cd:
        if len(data) - position < _CENTRAL.size:
            raise zipfile.BadZipFile("Truncated central directory")
        record = _CENTRAL.unpack_from(data, position)
        if record[0] != _CENTRAL_MAGIC:
            raise zipfile.BadZipFile("Bad magic number for central directory")
        name_end = position + _CENTRAL.size + record[12]
        extra_end = name_end + record[13]
        raw_name = data[position + _CENTRAL.size : name_end]
        name = raw_name.decode("utf-8" if record[5] & 0x800 else "cp437")
        extra = data[name_end:extra_end]
        if record[3] > _MAX_EXTRACT_VERSION:
            raise NotImplementedError(f"zip file version {record[3] / 10:.1f}")
        usize, csize, offset = _zip64_fields(extra, record[11], record[10], record[18])
        if offset + concat < 0:
            raise zipfile.BadZipFile(f"local header offset {offset} is before the archive")
        found.names.append(name)
        found.flags.append(record[5])
        found.methods.append(record[6])
        found.crcs.append(record[9])
        found.csizes.append(csize)
        found.usizes.append(usize)
        found.offsets.append(offset + concat)
        found.modes.append(record[17] >> 16 if record[2] == 3 else 0)
        found.mtimes.append(_mtime(extra, record[8], record[7]))
        position = extra_end + record[14]
    return found


TAIL_BYTES = 66 << 10
"""Enough of a zip's end to hold its end records: a 64 KiB comment, the zip64 records."""


def read_end_record(fd: int) -> list | None:  # type: ignore[type-arg]
    """Return zipfile's end record of the zip open as `fd`, or None when there is none."""
    with open(fd, "rb", closefd=False) as raw:
        return zipfile._EndRecData(raw)  # type: ignore[attr-defined]


def end_record_from_tail(tail: bytes, size: int) -> list | None:  # type: ignore[type-arg]
    """Return zipfile's end record of a `size`-byte zip whose last bytes are `tail`, or None.

    zipfile's own search runs over the tail, so remote zips parse exactly as local ones.
    """
    return zipfile._EndRecData(_Tail(tail, size))  # type: ignore[attr-defined]


class _Tail:
    """The last bytes of a file, seekable at the file's own offsets (for zipfile's search)."""

    def __init__(self, tail: bytes, size: int) -> None:
        self._tail, self._size, self._base, self._position = tail, size, size - len(tail), 0

    def seek(self, offset: int, whence: int = 0) -> int:
        """Move as a file would; OSError before the start, as a file gives."""
        position = {0: 0, 1: self._position, 2: self._size}[whence] + offset
        if position < 0:
            raise OSError("seek before the start of the file")
        self._position = position
        return position

    def tell(self) -> int:
        """Return the position."""
        return self._position

    def read(self, count: int = -1) -> bytes:
        """Read from the tail; BadZipFile when asked for bytes before it."""
        if self._position < self._base:
            raise zipfile.BadZipFile("the end records reach before the bytes fetched")
        start = self._position - self._base
        stop = len(self._tail) if count < 0 else start + count
        data = self._tail[start:stop]
        self._position += len(data)
        return data


def _zip64_fields(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    """Apply a central record's zip64 extra field, exactly as zipfile's _decodeExtra does."""
    while len(extra) >= 4:
        kind, length = struct.unpack("<HH", extra[:4])
        if length + 4 > len(extra):
            raise zipfile.BadZipFile(f"Corrupt extra field {kind:04x} (size={length})")
        if kind == 0x0001:
            data = extra[4 : length + 4]
            field = ""
            try:
                if usize in (0xFFFF_FFFF_FFFF_FFFF, _ZIP64_LIMIT):
                    field = "File size"
                    (usize,) = struct.unpack("<Q", data[:8])
                    data = data[8:]
                if csize == _ZIP64_LIMIT:
                    field = "Compress size"
                    (csize,) = struct.unpack("<Q", data[:8])
                    data = data[8:]
                if offset == _ZIP64_LIMIT:
                    field = "Header offset"
                    (offset,) = struct.unpack("<Q", data[:8])
            except struct.error:
                raise zipfile.BadZipFile(f"Corrupt zip64 extra field. {field} not found.") from None
        extra = extra[length + 4 :]
    return usize, csize, offset


def _mtime(extra: bytes, date: int, dos_time: int) -> float:
    """Return the UTC mtime from the extended timestamp field, else the DOS time as local."""
    while len(extra) >= 4:
        kind, length = struct.unpack("<HH", extra[:4])
        body = extra[4 : 4 + length]
        if kind == 0x5455 and len(body) >= 5 and body[0] & 1:
            return float(struct.unpack("<i", body[1:5])[0])
        extra = extra[4 + length :]
    fields = (
        (date >> 9) + 1980,
        (date >> 5) & 0xF,
        date & 0x1F,
        dos_time >> 11,
        (dos_time >> 5) & 0x3F,
        (dos_time & 0x1F) * 2,
    )
    try:
        return time.mktime(fields + (0, 0, -1))
    except (OverflowError, ValueError):
        return 0.0


def read_local_headers(fd: int, found: CentralDirectory) -> tuple[int, Exception] | None:
    """Fill `found.starts` from each local header; return the first disagreement, unraised.

    A missing local header is refused at once; a header that disagrees with the central
    record is returned with its index, so the caller refuses it in archive order after the
    span check, as the rules of the entries before it come first.
    """
    first_error: tuple[int, Exception] | None = None
    names = found.names
    for index, offset in enumerate(found.offsets):
        name = names[index]
        guess = _LOCAL.size + 4 * len(name) + _LOCAL_SLACK
        block = os.pread(fd, guess, offset)
        if len(block) < _LOCAL.size or block[:4] != _LOCAL_MAGIC:
            raise refuse_entry(name, "no valid local header at its offset")
        fields = _LOCAL.unpack_from(block)
        name_length, extra_length = fields[9], fields[10]
        wanted = _LOCAL.size + name_length + extra_length
        if wanted > len(block):
            block += os.pread(fd, wanted - len(block), offset + len(block))
        found.starts.append(offset + wanted)
        if first_error is None:
            local_name = block[_LOCAL.size : _LOCAL.size + name_length]
            extra = block[_LOCAL.size + name_length : wanted]
            error = _disagreement(found, index, fields, local_name, extra)
            if error is not None:
                first_error = (index, error)
    return first_error


def _disagreement(
    found: CentralDirectory, index: int, fields: tuple, raw_name: bytes, extra: bytes
) -> Exception | None:  # type: ignore[type-arg]
    """Return the refusal for a local header that disagrees with its central record."""
    flags, method, crc, csize, usize = fields[2], fields[3], fields[6], fields[7], fields[8]
    local_name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "surrogateescape")
    central = found.names[index]
    if local_name != central:
        return refuse_entry(
            central, f"local header name {local_name!r} disagrees with the central directory"
        )
    if method != found.methods[index]:
        return refuse_entry(
            central, "local header compression method disagrees with the central one"
        )
    if flags & 0x08:
        return None  # sizes and CRC follow the data in a data descriptor
    if csize == _ZIP64_LIMIT or usize == _ZIP64_LIMIT:
        usize, csize = _local_zip64_sizes(extra, usize, csize)
    if (crc, csize, usize) != (found.crcs[index], found.csizes[index], found.usizes[index]):
        return refuse_entry(
            central,
            "local header CRC or sizes disagree with the central directory "
            f"(local crc={crc:08x} compressed={csize} size={usize}; "
            f"central crc={found.crcs[index]:08x} compressed={found.csizes[index]} "
            f"size={found.usizes[index]})",
        )
    return None


def _local_zip64_sizes(extra: bytes, usize: int, csize: int) -> tuple[int, int]:
    """Read the zip64 sizes of a local header's extra field (uncompressed, compressed)."""
    while len(extra) >= 4:
        kind, length = struct.unpack("<HH", extra[:4])
        body = extra[4 : 4 + length]
        if kind == 0x0001 and len(body) >= 16:
            return struct.unpack("<QQ", body[:16])
        extra = extra[4 + length :]
    return usize, csize


def check_spans(found: CentralDirectory) -> None:
    """Refuse entries whose bytes overlap each other or the central directory."""
    offsets, starts, csizes, names = found.offsets, found.starts, found.csizes, found.names
    ends = array("Q", (start + size for start, size in zip(starts, csizes, strict=True)))
    order = sorted(range(len(names)), key=lambda i: (offsets[i], ends[i], names[i]))
    for here, after in zip(order, order[1:], strict=False):
        if ends[here] > offsets[after]:
            raise refuse_entry(
                names[here],
                f"its data overlaps entry {names[after]!r} (overlapping entries: a zip bomb)",
            )
    for here in order:
        if ends[here] > found.start_dir:
            raise refuse_entry(
                names[here], "its data overlaps the central directory (zip bomb or corrupt)"
            )
