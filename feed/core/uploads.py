"""An upload spooled to local disk and hashed: what the repository core accepts.

The HTTP layer spools multipart bodies itself (`feed.http.uploads`) and hands the core a
finished `SpooledUpload`; a stream or a local file (the CLI's `import --storage`) is
spooled or hashed here.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from feed.core.errors import PackageTooLarge
from feed.core.spool import create_spool, flush_spool, write_spool

CHUNK = 1024 * 1024
QUEUE_BATCHES = 8  # batches of about CHUNK waiting per digest thread: memory stays flat
DIGESTS = ("sha1", "sha256", "sha512")


@dataclass(frozen=True)
class SpooledUpload:
    """A complete upload on local disk with its size and the three hashes feeds publish.

    `movable`: the file is a spool of ours, so the store may take it by renaming it.
    """

    path: Path
    size: int
    sha1: str
    sha256: str
    sha512: str
    movable: bool = False


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
            raise too_large(self.max_bytes)
        for digest in self.digests:
            digest.update(chunk)

    def result(self, path: Path) -> SpooledUpload:
        """Return the finished description of the spooled file."""
        sha1, sha256, sha512 = (d.hexdigest() for d in self.digests)
        return SpooledUpload(path, self.size, sha1, sha256, sha512, movable=True)


@contextmanager
def spool_stream(
    stream: BinaryIO, max_bytes: int, directory: str | None = None
) -> Iterator[SpooledUpload]:
    """Copy a stream to a temp file (removed on exit), hashing it and stopping past max_bytes."""
    fd, path = create_spool(directory)  # the descriptor holds the spool's lock
    try:
        hashes = _Hashes(max_bytes)
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                hashes.update(chunk)
                write_spool(out.write, chunk)
            flush_spool(out.flush)
        yield hashes.result(path)
    finally:
        path.unlink(missing_ok=True)


@contextmanager
def hash_file(path: Path, max_bytes: int) -> Iterator[SpooledUpload]:
    """Describe a file that is already on local disk, without copying it (caller owns it)."""
    yield describe_file(path, max_bytes)


def describe_file(path: Path, max_bytes: int) -> SpooledUpload:
    """Hash a local file in one parallel pass; refuse it at once when it is over max_bytes."""
    if path.stat().st_size > max_bytes:
        raise too_large(max_bytes)
    return hash_in_parallel(path)


def check_size(upload: SpooledUpload, max_bytes: int) -> SpooledUpload:
    """Return an upload spooled elsewhere (the HTTP layer) when it is within max_bytes."""
    if upload.size > max_bytes:
        raise too_large(max_bytes)
    return upload


def too_large(max_bytes: int) -> PackageTooLarge:
    """Return the one too-large error every size check raises."""
    return PackageTooLarge(f"package is larger than the feed's maximum of {max_bytes} bytes")


def hash_in_parallel(path: Path) -> SpooledUpload:
    """Hash a file in one pass of CHUNK reads, each digest on its own thread."""
    with path.open("rb", buffering=0) as source:
        size, (sha1, sha256, sha512) = digest_stream(source, DIGESTS)
    return SpooledUpload(path, size, sha1, sha256, sha512)


def digest_stream(source: BinaryIO, names: Sequence[str]) -> tuple[int, list[str]]:
    """Read `source` once in CHUNK reads, each named digest on its own thread; return the
    size read and the hex digests, in the order of `names`."""
    workers = [DigestThread(name) for name in names]
    size = 0
    try:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            for worker in workers:
                worker.feed([chunk])
    finally:
        hexdigests = [worker.finish() for worker in workers]
    return size, hexdigests


class DigestThread:
    """One digest updated on its own thread (hashlib releases the GIL on large buffers)."""

    def __init__(self, name: str) -> None:
        self.digest = hashlib.new(name)
        self.queue: queue.Queue[Sequence[bytes | memoryview] | None] = queue.Queue(QUEUE_BATCHES)
        self.thread = threading.Thread(target=self._run, name=f"octopack-{name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (batch := self.queue.get()) is not None:
            for chunk in batch:
                self.digest.update(chunk)

    def feed(self, batch: Sequence[bytes | memoryview]) -> None:
        """Queue chunks to hash (blocks while QUEUE_BATCHES are waiting)."""
        self.queue.put(batch)

    def finish(self) -> str:
        """Wait for every queued chunk and return the hex digest."""
        self.queue.put(None)
        self.thread.join()
        return self.digest.hexdigest()
