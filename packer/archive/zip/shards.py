"""Write a zip with worker processes: each compresses runs of entries (shards) into its own
segment file; the parent joins the segments in archive order with copy_file_range and writes
one central directory with the offsets moved to where each shard landed.

Threads share one GIL: the writing thread's per-file Python work and every read's return
wait for it, and on a loaded machine each wait can last a switch interval. Processes do not.
A shard's bytes are the thread writer's bytes for the same entries (local headers hold no
offsets), so the package is the same whichever way and with however many workers.
"""

from __future__ import annotations

import marshal
import os
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
    out.seek(0, os.SEEK_END)
    pool = _Workers(workers, level, options, folder)
    joiner = ZipWriter(out, level, digest=digest, **options)
    try:
        pool.run(_shards(entries), lambda shard: _join(out, joiner, *shard))
    except BaseException:
        joiner.abort()
        raise
    finally:
        pool.close()
    out.seek(0, os.SEEK_END)  # the file object does not see what copy_file_range moved
    joiner.finish()
    return joiner.stats


def _shards(entries: Iterable[ZipEntry]) -> Iterator[list[tuple]]:
    """Runs of entries of about SHARD_BYTES, in order; a big file closes the run it is in."""
    shard: list[tuple] = []
    size = 0
    for entry in entries:
        shard.append(tuple(entry))
        size += len(entry.data) if entry.data is not None else entry.size
        if size >= SHARD_BYTES or len(shard) >= SHARD_FILES:
            yield shard
            shard, size = [], 0
    if shard:
        yield shard


def _join(out: BinaryIO, joiner: ZipWriter, fd: int, start: int, length: int,
          members: list[Member]) -> None:  # fmt: skip
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

    def run(self, shards: Iterator[list[tuple]], join) -> None:
        """Hand out shards, the next to the least busy worker; join results in order."""
        queued: list[deque[int]] = []  # shard numbers per worker, in the order sent
        results: dict[int, tuple] = {}
        sent = joined = 0
        more = True
        by_fd: dict[int, int] = {}
        while True:
            while more:
                shard = next(shards, None)
                if shard is None:
                    more = False
                    break
                busy = [len(q) for q in queued]
                if len(self.procs) < self.count and (not busy or min(busy) > 0):
                    self._start()
                    queued.append(deque())
                    by_fd[self.procs[-1][2]] = len(self.procs) - 1
                worker = min(range(len(self.procs)), key=lambda i: len(queued[i]))
                _send(self.procs[worker][1], (sent, shard))
                queued[worker].append(sent)
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
                number = queued[worker].popleft()
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
            task = _receive(task_fd)
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
