"""Our own zip writer: raw deflate per entry on a thread pool, byte-for-byte deterministic.

Python's zipfile and Info-ZIP compress on one core with zlib. Here entries are compressed in
parallel (isal, libdeflate and zlib-ng release the GIL), small files are batched so per-file
overhead stays low, large files are cut into chunks compressed independently (each primed
with the 32 KiB before it, pigz style) so memory stays flat, and results are written in the
order given, whichever thread finishes first.
"""

from __future__ import annotations

import functools
import os
import struct
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

import deflate
from isal import isal_zlib
from zlib_ng import zlib_ng

from packer.errors import BadInput, OperationFailed
from packer.writesink import WriteSink

LEVELS = ("none", "fast", "optimal")
ZIP64_LIMIT = 0xFFFFFFFF
ZIP64_COUNT_LIMIT = 0xFFFF
WINDOW = 32 * 1024
INLINE_BELOW = 16 << 10
ENTRY_COST = 16 << 10  # budget charged per pending entry, so tiny files cannot pile up
FAST_ISAL_LEVEL = 1
FAST_SMALL = 4096
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


def _isal_whole(data: bytes) -> bytes:
    """ISA-L level 1; files under 4 KiB at level 0, which skips building Huffman tables per
    file (five times faster on them, about a third larger, 3% on a typical tree)."""
    return isal_zlib.compress(data, FAST_ISAL_LEVEL if len(data) >= FAST_SMALL else 0, -15)


def _isal_chunk(data: bytes, zdict: bytes, final: bool) -> bytes:
    args = (FAST_ISAL_LEVEL, isal_zlib.DEFLATED, -15, isal_zlib.DEF_MEM_LEVEL, 0)
    comp = isal_zlib.compressobj(*args, zdict) if zdict else isal_zlib.compressobj(*args)
    return comp.compress(data) + comp.flush(isal_zlib.Z_FINISH if final else isal_zlib.Z_SYNC_FLUSH)


def _libdeflate_whole(data: bytes) -> bytes:
    return deflate.deflate_compress(data, OPTIMAL_LIBDEFLATE_LEVEL)


def _zlib_ng_chunk(data: bytes, zdict: bytes, final: bool) -> bytes:
    args = (OPTIMAL_ZLIB_NG_LEVEL, zlib_ng.DEFLATED, -15, 8, zlib_ng.Z_DEFAULT_STRATEGY)
    comp = zlib_ng.compressobj(*args, zdict) if zdict else zlib_ng.compressobj(*args)
    return comp.compress(data) + comp.flush(zlib_ng.Z_FINISH if final else zlib_ng.Z_SYNC_FLUSH)


def codec_for(level: str, optimal_whole_limit: int = 16 << 20) -> _Codec:
    """Pick the deflate implementations for a compression level name."""
    if level == "none":
        return _Codec(None, None, 4 << 20)
    if level == "fast":
        return _Codec(_isal_whole, _isal_chunk, 4 << 20)
    if level == "optimal":
        return _Codec(_libdeflate_whole, _zlib_ng_chunk, optimal_whole_limit)
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


def _chunk_job(codec: _Codec, entry: ZipEntry, offset: int, length: int) -> tuple[_Piece, bytes]:
    """Compress one chunk of a large file primed with the window before it."""
    assert entry.path is not None
    if codec.chunk is None:
        chunk = _read_exact(entry.path, offset, length, entry.size)
        return _Piece(isal_zlib.crc32(chunk), length, b"", STORED), chunk
    start = max(0, offset - WINDOW)
    data = _read_exact(entry.path, start, offset + length - start, entry.size)
    zdict, chunk = data[: offset - start], data[offset - start :]
    final = offset + length >= entry.size
    packed = codec.chunk(chunk, zdict, final)
    return _Piece(isal_zlib.crc32(chunk), length, packed, DEFLATED), (
        chunk if len(packed) >= len(chunk) else b""
    )


@dataclass
class _Unit:
    """One task for the pool, in archive order: a batch of entries or a chunk of one entry."""

    cost: int
    entries: list[ZipEntry]
    chunk: tuple[int, int, int] | None = None  # (index, offset, length) of a large entry
    chunks: int = 0


class _Deferred:
    """A task the writing thread runs itself once it needs the result."""

    def __init__(self, fn: Callable, *args: object) -> None:
        self._call: tuple[Callable, tuple] | None = (fn, args)
        self._value: object = None

    def result(self) -> object:
        if self._call is not None:
            fn, args = self._call
            self._call = None
            self._value = fn(*args)
        return self._value

    def cancel(self) -> bool:
        self._call = None
        return True


def default_pool(workers: int) -> Executor:
    """Threads: isal, libdeflate and zlib-ng release the GIL while they compress.

    Worker processes (fork) were measured too: pickling tasks and sending every compressed
    byte back through a pipe cost 0.3 to 0.6 CPU seconds more per 300 MB, and on a shared
    machine CPU seconds decide the wall time.
    """
    return ThreadPoolExecutor(workers, thread_name_prefix="zip")


@dataclass
class ZipStats:
    """What was written: entry count, archive size, and its SHA-256 when asked for."""

    entries: int = 0
    size: int = 0
    sha256: str | None = None


class ZipWriter:
    """Write a deterministic zip of the given entries, in the given order, to a seekable file."""

    def __init__(
        self,
        out: BinaryIO,
        level: str = "fast",
        *,
        workers: int | None = None,
        chunk_size: int = 4 << 20,
        batch_bytes: int = 1 << 20,
        batch_files: int = 256,
        budget: int = 32 << 20,
        zip64_threshold: int = ZIP64_LIMIT,
        zip64_count_threshold: int = ZIP64_COUNT_LIMIT,
        optimal_whole_limit: int = 16 << 20,
        executor: Executor | None = None,
        digest: bool = False,
        central_in_memory: int = 4 << 20,
        inline_below: int | None = None,
    ) -> None:
        self.out = out
        self.digest = digest
        # batches of files this small on average are done by the writing thread itself, when
        # it gets to them: handing tiny tasks to threads costs more GIL traffic than it saves
        self.inline_below = (
            (INLINE_BELOW if executor is None else 0) if inline_below is None else inline_below
        )
        self.codec = codec_for(level, optimal_whole_limit)
        self.workers = workers or os.cpu_count() or 1
        self.chunk_size = chunk_size
        self.batch_bytes = batch_bytes
        self.batch_files = batch_files
        self.budget = budget
        self.zip64 = zip64_threshold
        self.zip64_count = zip64_count_threshold
        self.stats = ZipStats()
        # finished central directory records, in order, spilled to disk past a few MiB
        self._central = tempfile.SpooledTemporaryFile(max_size=central_in_memory)
        self._count = 0
        self._offset = out.tell()
        self._sink: WriteSink | None = None
        self._executor = executor
        self._stream: _Stream | None = None

    # planning -------------------------------------------------------------------------

    def _plan(self, entries: Iterable[ZipEntry]) -> Iterator[_Unit]:
        """Group entries into pool tasks: batches of small entries, chunks of large ones."""
        batch: list[ZipEntry] = []
        batch_size = 0
        whole_limit, batch_bytes, batch_files = (
            self.codec.whole_limit,
            self.batch_bytes,
            self.batch_files,
        )
        weight = 2 if self.codec.whole is _libdeflate_whole else 1
        for entry in entries:
            data = entry.data
            size = len(data) if data is not None else entry.size
            chunked = size > whole_limit and entry.path is not None
            if chunked or (batch and batch_size + size > batch_bytes):
                if batch:
                    yield _Unit(batch_size + ENTRY_COST * len(batch), batch)
                batch, batch_size = [], 0
            if chunked:
                count = -(-size // self.chunk_size)
                for index in range(count):
                    offset = index * self.chunk_size
                    length = min(self.chunk_size, size - offset)
                    yield _Unit(length + WINDOW, [entry], (index, offset, length), count)
                continue
            batch.append(entry)
            batch_size += size * weight
            if len(batch) >= batch_files:
                yield _Unit(batch_size + ENTRY_COST * len(batch), batch)
                batch, batch_size = [], 0
        if batch:
            yield _Unit(batch_size + ENTRY_COST * len(batch), batch)

    def _submit(self, pool: Executor, unit: _Unit) -> Future | _Deferred:
        if unit.chunk is not None:
            _, offset, length = unit.chunk
            return pool.submit(_chunk_job, self.codec, unit.entries[0], offset, length)
        count = len(unit.entries)
        if (unit.cost - ENTRY_COST * count) < self.inline_below * count:
            return _Deferred(_batch_job, self.codec, unit.entries, self.zip64)
        return pool.submit(_batch_job, self.codec, unit.entries, self.zip64)

    def write(self, entries: Iterable[ZipEntry]) -> ZipStats:
        """Compress and write every entry, then the central directory; return the stats."""
        pending: deque[tuple[_Unit, Future | _Deferred]] = deque()
        in_flight = 0
        units = self._plan(entries)
        pool = self._executor or default_pool(self.workers)
        with pool:
            try:
                for unit in units:
                    while pending and in_flight + unit.cost > self.budget:
                        done, future = pending.popleft()
                        in_flight -= done.cost
                        self._consume(done, future.result())
                    pending.append((unit, self._submit(pool, unit)))
                    in_flight += unit.cost
                while pending:
                    done, future = pending.popleft()
                    self._consume(done, future.result())
            except BaseException:
                for _, future in pending:
                    future.cancel()
                if self._sink is not None:
                    self._sink.abort()
                self._central.close()
                raise
        try:
            self._finish()
        except BaseException:
            self._open_sink().abort()
            raise
        finally:
            self._central.close()
        self.stats.sha256 = self._open_sink().close()
        return self.stats

    # writing ----------------------------------------------------------------------------

    def _consume(self, unit: _Unit, result: object) -> None:
        """Write one finished task: a whole batch in a single write, or one chunk."""
        if unit.chunk is not None:
            piece, raw = result  # type: ignore[misc]
            self._write_chunk(unit, piece, raw)
            return
        blob, metas = result  # type: ignore[misc]
        base, limit = self._offset, self.zip64
        central: list[bytes] = []
        pack = _CENTRAL.pack
        for name, flags, method, dos, crc, csize, usize, attr, rel in metas:
            offset = base + rel
            if offset >= limit or csize >= limit or usize >= limit:
                central.append(self._central_record(name, flags, method, dos, crc, csize, usize,
                                                    attr, offset))  # fmt: skip
            else:
                central.append(
                    pack(0x02014B50, _MADE_BY_UNIX | 20, 20, flags, method, dos[0], dos[1], crc,
                         csize, usize, len(name), 0, 0, 0, 0, attr, offset) + name
                )  # fmt: skip
        self._write(blob)
        self._central.write(b"".join(central))
        self._count += len(metas)

    def _open_sink(self) -> WriteSink:
        """Start the sink thread on first use: after the pool has forked its workers."""
        if self._sink is None:
            self._sink = WriteSink(self.out, digest=self.digest,
                                   max_pending=max(self.budget // 4, 1 << 20))  # fmt: skip
        return self._sink

    def _write(self, data: bytes) -> None:
        self._open_sink().write(data)
        self._offset += len(data)

    def _write_chunk(self, unit: _Unit, piece: _Piece, raw: bytes) -> None:
        """Stream one chunk of a large entry; patch its header after the last chunk."""
        entry = unit.entries[0]
        index, offset, length = unit.chunk  # type: ignore[misc]
        if index == 0:
            name, flags, dos, attr = _entry_meta(entry)
            force64 = entry.size >= self.zip64 - (self.zip64 >> 6)
            method = STORED if raw else DEFLATED
            header_at = self._offset
            self._open_sink().hold()  # the header is patched once the entry is complete
            self._write(_local_header(name, flags, method, dos, 0, 0, 0, force64, self.zip64))
            self._stream = _Stream(entry, header_at, self._offset, method, force64, name, flags,
                                   dos, attr)  # fmt: skip
        stream = self._stream
        assert stream is not None
        if stream.method == STORED:
            self._write(raw or _read_exact(entry.path or "", offset, length, entry.size))
        else:
            self._write(piece.payload)
        stream.crc = isal_zlib.crc32_combine(stream.crc, piece.crc, length) if index else piece.crc
        if index == unit.chunks - 1:
            self._close_stream(stream)

    def _close_stream(self, stream: _Stream) -> None:
        """Patch the local header of a streamed entry; store it if deflate did not shrink it."""
        entry = stream.entry
        sink = self._sink
        assert sink is not None
        csize = self._offset - stream.data_at
        if stream.method == DEFLATED and csize >= entry.size:
            sink.truncate(stream.data_at)
            self._offset = stream.data_at
            for offset in range(0, entry.size, self.chunk_size):
                length = min(self.chunk_size, entry.size - offset)
                self._write(_read_exact(entry.path or "", offset, length, entry.size))
            stream.method = STORED
            csize = entry.size
        header = _local_header(
            stream.name, stream.flags, stream.method, stream.dos, stream.crc, csize, entry.size,
            stream.force64, self.zip64,
        )  # fmt: skip
        if len(header) != stream.data_at - stream.header_at:
            raise OperationFailed(f"{entry.name}: compressed size crossed the zip64 limit")
        sink.patch(stream.header_at, header)
        sink.release()
        self._central.write(
            self._central_record(stream.name, stream.flags, stream.method, stream.dos, stream.crc,
                                 csize, entry.size, stream.attr, stream.header_at)
        )  # fmt: skip
        self._count += 1

    def _central_record(
        self,
        name: bytes,
        flags: int,
        method: int,
        dos: tuple[int, int],
        crc: int,
        csize: int,
        usize: int,
        attr: int,
        offset: int,
    ) -> bytes:
        """Build one central directory record; large values move to a zip64 extra field."""
        extra_fields = []
        if usize >= self.zip64:
            extra_fields.append(usize)
            usize = ZIP64_LIMIT
        if csize >= self.zip64:
            extra_fields.append(csize)
            csize = ZIP64_LIMIT
        if offset >= self.zip64:
            extra_fields.append(offset)
            offset = ZIP64_LIMIT
        extra = b""
        if extra_fields:
            extra = struct.pack(f"<HH{len(extra_fields)}Q", 1, 8 * len(extra_fields),
                                *extra_fields)  # fmt: skip
        version = 45 if extra_fields else 20
        header = _CENTRAL.pack(
            0x02014B50, _MADE_BY_UNIX | version, version, flags, method, dos[0], dos[1], crc,
            csize, usize, len(name), len(extra), 0, 0, 0, attr, offset,
        )  # fmt: skip
        return header + name + extra

    def _finish(self) -> None:
        """Write the central directory and the end records (zip64 ones when needed)."""
        central_at = self._offset
        self._central.seek(0)
        while block := self._central.read(256 << 10):
            self._write(block)
        central_size = self._offset - central_at
        count = self._count
        if count >= self.zip64_count or central_at >= self.zip64 or central_size >= self.zip64:
            eocd64_at = self._offset
            self._write(_EOCD64.pack(0x06064B50, 44, _MADE_BY_UNIX | 45, 45, 0, 0, count, count,
                                     central_size, central_at))  # fmt: skip
            self._write(_LOCATOR64.pack(0x07064B50, 0, eocd64_at, 1))
            self._write(_EOCD.pack(0x06054B50, 0, 0, 0xFFFF, 0xFFFF, ZIP64_LIMIT, ZIP64_LIMIT, 0))
        else:
            self._write(_EOCD.pack(0x06054B50, 0, 0, count, count, central_size, central_at, 0))
        self.stats.entries = count
        self.stats.size = self._offset


@dataclass
class _Stream:
    """The state of a large entry being written chunk by chunk."""

    entry: ZipEntry
    header_at: int
    data_at: int
    method: int
    force64: bool
    name: bytes
    flags: int
    dos: tuple[int, int]
    attr: int
    crc: int = 0


def write_zip(
    out: BinaryIO, entries: Iterable[ZipEntry], level: str = "fast", **options
) -> ZipStats:
    """Write `entries` (already in archive order) as a zip to `out`; see ZipWriter options."""
    return ZipWriter(out, level, **options).write(entries)
