"""Write a zip with worker processes: each compresses runs of entries (shards) into its own
segment file; the parent joins the segments in archive order with copy_file_range and writes
one central directory with the offsets moved to where each shard landed.

Threads share one GIL: the writing thread's per-file Python work and every read's return
wait for it, and on a loaded machine each wait can last a switch interval. Processes do not.
A shard's bytes are the thread writer's bytes for the same entries (local headers hold no
offsets), so the package is the same whichever way and with however many workers.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import queue
import select
import signal
import struct
import tempfile
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor
from typing import BinaryIO

from packer.archive.zip.writer import Member, ZipEntry, ZipStats, ZipWriter, _Deferred
from packer.model import errors

SHARD_BYTES = 8 << 20
SHARD_FILES = 2048
QUEUED = 2  # shards queued per worker, so none waits for the parent between shards
# what the workers may hold at once, all together, whatever their number: a shard counts its
# biggest member's read and deflate buffers, plus a little for batches and the write queue
MEMORY_BUDGET = 48 << 20
SHARD_OVERHEAD = 3 << 20
_HEADER = struct.Struct("<I")


class _Inline(Executor):
    """Run a worker's tasks on its own thread, when their results are needed."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        return _Deferred(fn, *args)


def write_zip_sharded(
    out: BinaryIO, entries: Iterable[ZipEntry], level: str, *, workers: int,
    folder: str | None = None, digest: bool = False, **options,
) -> ZipStats:  # fmt: skip
    """Write `entries` as a zip to `out` (a real file) with `workers` processes; segment
    files go to `folder` (best: the package's, so that copies stay in one file system)."""
    out.flush()
    start = out.seek(0, os.SEEK_END)
    pool = _Workers(workers, level, options, folder)
    joiner = ZipWriter(out, level, digest=digest, **options)
    whole_limit, chunk = joiner.codec.whole_limit, joiner.chunk_size
    hasher = _Hasher(out.fileno(), start) if digest else None
    try:
        pool.run(_shards(entries, whole_limit, chunk),
                 lambda shard: _join(out, joiner, hasher, *shard))  # fmt: skip
    except BaseException:
        joiner.abort()
        raise
    finally:
        pool.close()
        if hasher is not None:
            joiner.hashed = hasher.close()
    out.seek(0, os.SEEK_END)  # the file object does not see what copy_file_range moved
    joiner.finish()
    return joiner.stats


def _shards(
    entries: Iterable[ZipEntry], whole_limit: int, chunk: int
) -> Iterator[tuple[list[tuple], int]]:
    """Runs of entries of about SHARD_BYTES, in order, each with the memory it needs."""
    shard: list[tuple] = []
    size = peak = 0
    for entry in entries:
        shard.append(tuple(entry))
        length = len(entry.data) if entry.data is not None else entry.size
        size += length
        peak = max(peak, 2 * length if length <= whole_limit else 2 * chunk + (64 << 10))
        if size >= SHARD_BYTES or len(shard) >= SHARD_FILES:
            yield shard, peak + SHARD_OVERHEAD
            shard, size, peak = [], 0, 0
    if shard:
        yield shard, peak + SHARD_OVERHEAD


class _Hasher:
    """Hash the package's bytes on a thread as shards are joined (reading them back from the
    page cache), so that the digest is nearly done when the last shard is."""

    def __init__(self, fd: int, start: int) -> None:
        self.fd, self.done = fd, 0
        self.sha = hashlib.sha256()
        self.regions: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self.region(start)
        self.thread = threading.Thread(target=self._run, name="zip-hash", daemon=True)
        self.thread.start()

    def region(self, end: int) -> None:
        """Bytes up to `end` are in the file: hash them."""
        self.regions.put(end)

    def _run(self) -> None:
        while (end := self.regions.get()) is not None:
            while self.done < end:
                block = os.pread(self.fd, min(end - self.done, 1 << 20), self.done)
                if not block:
                    return  # the file is shorter than told: the writer's catch-up hashes it
                self.sha.update(block)
                self.done += len(block)

    def close(self) -> tuple[object, int]:
        self.regions.put(None)
        self.thread.join()
        return self.sha, self.done


def _join(out: BinaryIO, joiner: ZipWriter, hasher: _Hasher | None, fd: int, start: int,
          length: int, members: list[Member]) -> None:  # fmt: skip
    """Append one shard's bytes from its segment file and note its members' offsets."""
    base = joiner._offset
    target = out.fileno()
    done = 0
    while done < length:
        try:
            copied = os.copy_file_range(fd, target, length - done, start + done)
        except OSError:  # another file system, or no such call: copy through memory
            copied = os.write(target, os.pread(fd, min(length - done, 1 << 20), start + done))
        if copied <= 0:
            raise errors.OperationFailed("could not copy a shard into the package")
        done += copied
    joiner.skip_to(base + length)
    if hasher is not None:
        hasher.region(base + length)
    joiner.add_members([(*m[:8], base + m[8] - start) for m in members])


class _Workers:
    """Forked workers, each with a task pipe, a result pipe and a segment file."""

    def __init__(self, count: int, level: str, options: dict, folder: str | None) -> None:
        self.count, self.level, self.options, self.folder = count, level, options, folder
        self.procs: list[tuple[int, int, int, int]] = []  # pid, task fd, result fd, segment fd

    def _start(self) -> None:
        """Fork one more worker (on demand: a small tree needs only one)."""
        segment = tempfile.TemporaryFile(dir=self.folder)  # unlinked: nothing is left behind
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                os.close(task_w)
                os.close(result_r)
                _serve(task_r, result_w, segment, self.level, self.options)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(task_r)
        os.close(result_w)
        self.procs.append((pid, task_w, result_r, os.dup(segment.fileno())))
        segment.close()

    def run(self, shards: Iterator[tuple[list[tuple], int]], join) -> None:
        """Hand out shards, the next to the least busy worker, while the memory budget
        allows; join the results in order."""
        queued: list[deque[tuple[int, int]]] = []  # (shard number, memory) per worker
        results: dict[int, tuple] = {}
        sent = joined = in_flight = 0
        more = True
        by_fd: dict[int, int] = {}
        held: tuple[list[tuple], int] | None = None
        while True:
            while more:
                held = held or next(shards, None)
                if held is None:
                    more = False
                    break
                shard, memory = held
                if sent > joined + len(results) and in_flight + memory > MEMORY_BUDGET:
                    break  # wait until a worker has finished a shard
                held = None
                busy = [len(q) for q in queued]
                if len(self.procs) < self.count and (not busy or min(busy) > 0):
                    self._start()
                    queued.append(deque())
                    by_fd[self.procs[-1][2]] = len(self.procs) - 1
                worker = min(range(len(self.procs)), key=lambda i: len(queued[i]))
                _send(self.procs[worker][1], (sent, shard))
                queued[worker].append((sent, memory))
                in_flight += memory
                sent += 1
                if len(self.procs) == self.count and min(len(q) for q in queued) >= QUEUED:
                    break
            if joined == sent and not more:
                return
            ready, _, _ = select.select(list(by_fd), [], [])
            for fd in ready:
                worker = by_fd[fd]
                reply = _receive(fd)
                if reply[0] == "error":
                    raise _error(reply[1], reply[2])
                number, memory = queued[worker].popleft()
                in_flight -= memory
                results[number] = (self.procs[worker][3], *reply[1:])
            while joined in results:
                join(results.pop(joined))
                joined += 1

    def close(self) -> None:
        """Stop every worker (they may be mid-shard after a failure) and reap them."""
        for pid, task_w, result_r, segment in self.procs:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            for fd in (task_w, result_r, segment):
                os.close(fd)


def _serve(task_fd: int, result_fd: int, segment: BinaryIO, level: str, options: dict) -> None:
    """A worker: write each shard's members at the end of the segment file; say where."""
    tasks: deque = deque()
    arrived = threading.Condition()

    def read_tasks() -> None:  # drain the pipe at once: the parent never blocks on a send
        while True:
            try:
                task = _receive(task_fd)
            except errors.OperationFailed:  # the parent is gone: stop, do not wait forever
                task = None
            with arrived:
                tasks.append(task)
                arrived.notify()
            if task is None:
                return

    threading.Thread(target=read_tasks, daemon=True).start()
    while True:
        with arrived:
            while not tasks:
                arrived.wait()
            task = tasks.popleft()
        if task is None:
            return
        number, shard = task
        start = segment.seek(0, os.SEEK_END)
        writer = ZipWriter(segment, level, workers=1, executor=_Inline(), inline_below=1 << 62,
                           **options)  # fmt: skip
        writer.members = []
        try:
            writer.write_members(ZipEntry(*fields) for fields in shard)
            writer.close_members()
        except errors.PackerError as error:
            _send(result_fd, ("error", type(error).__name__, str(error)))
            return
        segment.flush()
        end = segment.seek(0, os.SEEK_END)
        _send(result_fd, ("done", start, end - start, writer.members))


def _send(fd: int, message: object) -> None:
    data = marshal.dumps(message)
    data = _HEADER.pack(len(data)) + data
    while data:
        data = data[os.write(fd, data) :]


def _receive(fd: int) -> object:
    head = _read(fd, _HEADER.size)
    if not head:
        raise errors.OperationFailed("a packing worker process stopped")
    return marshal.loads(_read(fd, _HEADER.unpack(head)[0]))


def _read(fd: int, size: int) -> bytes:
    parts, left = [], size
    while left:
        part = os.read(fd, left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _error(name: str, message: str) -> errors.PackerError:
    """Rebuild a worker's error (BadInput and friends) with its message."""
    kind = getattr(errors, name, None)
    if isinstance(kind, type) and issubclass(kind, errors.PackerError):
        return kind(message)
    return errors.OperationFailed(message)
