"""Spool an upload to a temporary file while hashing and counting, refusing oversize at once."""

from __future__ import annotations

import hashlib
import io
import os
import queue
import tempfile
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from werkzeug.formparser import FormDataParser, MultiPartParser

from feed.core.errors import PackageTooLarge

CHUNK = 1024 * 1024
QUEUE_BATCHES = 8  # batches of about CHUNK waiting per digest thread: memory stays flat
DIGESTS = ("sha1", "sha256", "sha512")


@dataclass(frozen=True)
class SpooledUpload:
    """A complete upload on local disk with its size and the three hashes feeds publish."""

    path: Path
    size: int
    sha1: str
    sha256: str
    sha512: str


class _Hashes:
    """SHA-1, SHA-256 and SHA-512 of one byte stream, plus its length, with a size cap."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.digests = (hashlib.sha1(), hashlib.sha256(), hashlib.sha512())

    def update(self, chunk: bytes) -> None:
        """Count and hash one chunk; raise as soon as the cap is passed."""
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise _too_large(self.max_bytes)
        for digest in self.digests:
            digest.update(chunk)

    def result(self, path: Path) -> SpooledUpload:
        """Return the finished description of the spooled file."""
        sha1, sha256, sha512 = (d.hexdigest() for d in self.digests)
        return SpooledUpload(path, self.size, sha1, sha256, sha512)


@contextmanager
def spool_stream(
    stream: BinaryIO, max_bytes: int, directory: str | None = None
) -> Iterator[SpooledUpload]:
    """Copy a stream to a temp file (removed on exit), hashing it and stopping past max_bytes."""
    fd, name = tempfile.mkstemp(prefix="octopack-upload-", suffix=".part", dir=directory)
    path = Path(name)
    try:
        hashes = _Hashes(max_bytes)
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                hashes.update(chunk)
                out.write(chunk)
        yield hashes.result(path)
    finally:
        path.unlink(missing_ok=True)


@contextmanager
def hash_file(path: Path, max_bytes: int) -> Iterator[SpooledUpload]:
    """Describe a file that is already on local disk, without copying it (caller owns it).

    A file a `HashingSpool` wrote is described from the hashes taken while it was written.
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise _too_large(max_bytes)
    spool = _spool_for(path)
    described = spool.describe() if spool is not None else None
    yield described if described is not None else _hash_in_parallel(path)


def _too_large(max_bytes: int) -> PackageTooLarge:
    """Return the one 413 error every size check raises."""
    return PackageTooLarge(f"package is larger than the feed's maximum of {max_bytes} bytes")


def _hash_in_parallel(path: Path) -> SpooledUpload:
    """Hash a file in one pass of CHUNK reads, each digest on its own thread."""
    workers = [_DigestThread(name) for name in DIGESTS]
    size = 0
    try:
        with path.open("rb", buffering=0) as source:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                for worker in workers:
                    worker.feed([chunk])
    finally:
        hexdigests = [worker.finish() for worker in workers]
    sha1, sha256, sha512 = hexdigests
    return SpooledUpload(path, size, sha1, sha256, sha512)


class _DigestThread:
    """One digest updated on its own thread (hashlib releases the GIL on large buffers)."""

    def __init__(self, name: str) -> None:
        self.digest = hashlib.new(name)
        self.queue: queue.Queue[list[bytes] | None] = queue.Queue(QUEUE_BATCHES)
        self.thread = threading.Thread(target=self._run, name=f"octopack-{name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (batch := self.queue.get()) is not None:
            for chunk in batch:
                self.digest.update(chunk)

    def feed(self, batch: list[bytes]) -> None:
        """Queue chunks to hash (blocks while QUEUE_BATCHES are waiting)."""
        self.queue.put(batch)

    def finish(self) -> str:
        """Wait for every queued chunk and return the hex digest."""
        self.queue.put(None)
        self.thread.join()
        return self.digest.hexdigest()


class UploadFormParser(FormDataParser):
    """werkzeug's form parser, reading a multipart body in larger reads than 64 KiB.

    gunicorn keeps read-ahead beyond each read in a buffer it copies on every read, so
    64 KiB reads of a large body cost far more than big ones. werkzeug refuses (413) a
    decoder buffer above max_form_memory_size, so reads stay at half of that at most.
    """

    def _parse_multipart(  # type: ignore[override]
        self, stream: BinaryIO, mimetype: str, content_length: int | None, options: dict[str, str]
    ) -> tuple[BinaryIO, Any, Any]:
        """Parse as werkzeug does (3.1), with a larger buffer_size."""
        read_size = CHUNK
        if self.max_form_memory_size is not None:
            read_size = max(64 * 1024, min(CHUNK, self.max_form_memory_size // 2))
        parser = MultiPartParser(
            stream_factory=self.stream_factory,
            max_form_memory_size=self.max_form_memory_size,
            max_form_parts=self.max_form_parts,
            cls=self.cls,
            buffer_size=read_size,
        )
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


_LIVE: weakref.WeakValueDictionary[str, HashingSpool] = weakref.WeakValueDictionary()
_LIVE_LOCK = threading.Lock()


def _spool_for(path: Path) -> HashingSpool | None:
    """Return the open HashingSpool that wrote `path`, if any."""
    with _LIVE_LOCK:
        return _LIVE.get(os.fspath(path))


class HashingSpool(io.FileIO):
    """A named temp file for an upload that hashes and counts what is written to it.

    werkzeug's multipart parser writes a file part here (the request's stream factory),
    so the three digests are ready when the part ends: no second pass over the file.
    Writing past `max_bytes` raises PackageTooLarge at once. The file goes on close.
    """

    def __init__(self, directory: str | None = None, max_bytes: int | None = None) -> None:
        fd, name = tempfile.mkstemp(prefix="octopack-upload-", suffix=".part", dir=directory)
        os.close(fd)
        super().__init__(name, "r+b")
        self.max_bytes = max_bytes
        self.size = 0
        self._valid = True  # False once a write did not append at the hashed end
        self._at_end = True  # the position is the end of what was hashed (no tell() per write)
        self._batch: list[bytes] = []
        self._batched = 0
        self._workers: list[_DigestThread] | None = None
        self._described: tuple[tuple[int, int, int], SpooledUpload] | None = None
        with _LIVE_LOCK:
            _LIVE[name] = self

    def write(self, data: Any) -> int:
        """Write, count and queue for hashing; refuse past max_bytes before writing."""
        chunk = bytes(data)
        if self.max_bytes is not None and self.size + len(chunk) > self.max_bytes:
            raise _too_large(self.max_bytes)
        if self._valid and (self._described is not None or not self._at_end):
            self._invalidate()
        written = 0
        view = memoryview(chunk)
        while written < len(chunk):
            written += super().write(view[written:]) or 0
        self.size += len(chunk)
        if self._valid and chunk:
            self._queue(chunk)
        return written

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move, remembering whether the next write would still append."""
        position = super().seek(offset, whence)
        self._at_end = position == self.size
        return position

    def truncate(self, size: int | None = None) -> int:
        """Truncate; the running hashes no longer describe the file."""
        if self._valid:
            self._invalidate()
        return super().truncate(size)

    def _queue(self, chunk: bytes) -> None:
        """Collect chunks into batches of about CHUNK bytes for the digest threads."""
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= CHUNK:
            self._flush_batch()

    def _flush_batch(self) -> None:
        if not self._batch:
            return
        if self._workers is None:
            self._workers = [_DigestThread(name) for name in DIGESTS]
        for worker in self._workers:
            worker.feed(self._batch)
        self._batch, self._batched = [], 0

    def _invalidate(self) -> None:
        """Stop trusting the running hashes (a non-appending write); hash_file reads again."""
        self._valid = False
        self._described = None
        self._batch, self._batched = [], 0
        self._stop_workers()

    def _stop_workers(self) -> list[str]:
        workers, self._workers = self._workers, None
        return [worker.finish() for worker in workers or []]

    def describe(self) -> SpooledUpload | None:
        """Return size and hashes of what was written, or None when they cannot be trusted."""
        if not self._valid or self.closed:
            return None
        st = os.stat(self.name)
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self._described is None:
            self._flush_batch()
            hexdigests = self._stop_workers() or [hashlib.new(n).hexdigest() for n in DIGESTS]
            sha1, sha256, sha512 = hexdigests
            upload = SpooledUpload(Path(self.name), self.size, sha1, sha256, sha512)
            self._described = (stamp, upload)
        if self._described[0] != stamp or st.st_size != self.size:
            return None  # changed behind our back (another handle): read it again
        return self._described[1]

    def close(self) -> None:
        """Close and remove the temp file; stop the digest threads."""
        if self.closed:
            return
        name = self.name
        with _LIVE_LOCK:
            if _LIVE.get(name) is self:
                del _LIVE[name]
        try:
            self._stop_workers()
            super().close()
        finally:
            Path(name).unlink(missing_ok=True)
