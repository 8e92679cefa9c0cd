"""Our own zip writer: raw deflate per entry on a thread pool, byte-for-byte deterministic.

Python's zipfile and Info-ZIP compress on one core with zlib. Here entries are compressed in
parallel (libdeflate, zlib-ng and isal release the GIL), small files are batched so per-file
overhead stays low, large files are cut into chunks compressed independently (each primed
with the 32 KiB before it, pigz style) so memory stays flat, and results are written in the
order given, whichever thread finishes first.
"""

from __future__ import annotations

import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from isal import isal_zlib

from packer.archive.zip.jobs import (  # noqa: F401  (LEVELS, dos_datetime, ... are this module's API too)
    _CENTRAL,
    _EOCD,
    _EOCD64,
    _LOCATOR64,
    _MADE_BY_UNIX,
    DEFLATED,
    FAST_LIBDEFLATE_LEVEL,
    FAST_ZLIB_NG_LEVEL,
    LEVELS,
    OPTIMAL_ZLIB_NG_LEVEL,
    STORED,
    WINDOW,
    ZIP64_COUNT_LIMIT,
    ZIP64_LIMIT,
    ZipEntry,
    _batch_job,
    _chunk_job,
    _entry_meta,
    _local_header,
    _Piece,
    _read_exact,
    central_record,
    codec_for,
    dos_datetime,
)
from packer.archive.zip.sink import WriteSink
from packer.model.errors import OperationFailed

INLINE_BELOW = 16 << 10
INLINE_MAX_WORKERS = 2
ENTRY_COST = 16 << 10  # budget charged per pending entry, so tiny files cannot pile up
# bytes in flight (read, compressed, waiting to be written): a fixed part, and a small part
# per thread so that every thread has work queued; memory does not grow with threads beyond it
BUDGET_BASE = 16 << 20
BUDGET_PER_THREAD = 4 << 20
SINK_PENDING = 8 << 20


# a written member: (name, flags, method, dos, crc, csize, usize, attr, local header offset)
Member = tuple[bytes, int, int, tuple[int, int], int, int, int, int, int]


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
    """Threads: libdeflate, zlib-ng and isal release the GIL while they compress.

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
        budget: int | None = None,
        zip64_threshold: int = ZIP64_LIMIT,
        zip64_count_threshold: int = ZIP64_COUNT_LIMIT,
        whole_limit: int | None = None,
        executor: Executor | None = None,
        digest: bool = False,
        central_in_memory: int = 4 << 20,
        inline_below: int | None = None,
    ) -> None:
        self.out = out
        self.digest = digest
        # batches of files this small on average are done by the writing thread itself, when
        # it gets to them: handing tiny tasks to threads costs more GIL traffic than it saves
        # on two cores; with more threads the writing thread would become the bottleneck
        self.workers = workers or 1  # callers pass packer.pack.cpus.usable_cpus()
        if inline_below is None:
            inline = executor is None and self.workers <= INLINE_MAX_WORKERS
            inline_below = INLINE_BELOW if inline else 0
        self.inline_below = inline_below
        self.codec = codec_for(level, whole_limit)
        self.chunk_size = chunk_size
        self.batch_bytes = batch_bytes
        self.batch_files = batch_files
        self.budget = budget or BUDGET_BASE + BUDGET_PER_THREAD * self.workers
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
        # set by a shard worker: members are collected here instead of central records
        self.members: list[Member] | None = None
        # set by the shard joiner: a SHA-256 of the bytes it put in the file, and their count
        self.hashed: tuple[object, int] | None = None

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
        weight = self.codec.weight
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
                    # the read (window too) and its deflate output live at once
                    yield _Unit(2 * length + WINDOW, [entry], (index, offset, length), count)
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
        self.write_members(entries)
        self.finish()
        return self.stats

    def write_members(self, entries: Iterable[ZipEntry]) -> None:
        """Compress and write every entry's local header and data, in order."""
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
                self.abort()
                raise

    def finish(self) -> None:
        """Write the central directory and end records, wait for the writes; set the stats."""
        try:
            self._finish()
        except BaseException:
            self._open_sink().abort()
            raise
        finally:
            self._central.close()
        self.stats.sha256 = self._open_sink().close()

    def close_members(self) -> None:
        """Wait until the members are written (a shard worker's end: no central directory)."""
        self._central.close()
        self._open_sink().close()

    def abort(self) -> None:
        """Stop writing after a failure; what was written is left to the caller to remove."""
        if self._sink is not None:
            self._sink.abort()
        self._central.close()

    def skip_to(self, offset: int) -> None:
        """Continue at `offset`: bytes up to there were put in the file by someone else."""
        self._offset = offset

    # writing ----------------------------------------------------------------------------

    def _consume(self, unit: _Unit, result: object) -> None:
        """Write one finished task: a whole batch in a single write, or one chunk."""
        if unit.chunk is not None:
            piece, raw = result  # type: ignore[misc]
            self._write_chunk(unit, piece, raw)
            return
        blob, metas = result  # type: ignore[misc]
        base = self._offset
        self._write(blob)
        self.add_members([(*meta[:8], base + meta[8]) for meta in metas])

    def add_members(self, metas: list[Member]) -> None:
        """Note members written at the given offsets: their central records, or (when
        collecting, in a shard worker) the members themselves for the parent to place."""
        if self.members is not None:
            self.members.extend(metas)
            return
        limit = self.zip64
        central: list[bytes] = []
        pack = _CENTRAL.pack
        for name, flags, method, dos, crc, csize, usize, attr, offset in metas:
            if offset >= limit or csize >= limit or usize >= limit:
                central.append(central_record(name, flags, method, dos, crc, csize, usize, attr,
                                              offset, limit))  # fmt: skip
            else:
                central.append(
                    pack(0x02014B50, _MADE_BY_UNIX | 20, 20, flags, method, dos[0], dos[1], crc,
                         csize, usize, len(name), 0, 0, 0, 0, attr, offset) + name
                )  # fmt: skip
        self._central.write(b"".join(central))
        self._count += len(metas)

    def _open_sink(self) -> WriteSink:
        """Start the sink thread on first use: after the pool has forked its workers."""
        if self._sink is None:
            self._sink = WriteSink(self.out, digest=self.digest, hashed=self.hashed,
                                   max_pending=min(self.budget // 4, SINK_PENDING))  # fmt: skip
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
        self.add_members([(stream.name, stream.flags, stream.method, stream.dos, stream.crc, csize,
                           entry.size, stream.attr, stream.header_at)])  # fmt: skip

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
