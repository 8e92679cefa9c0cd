"""A spool for a raw request body: written as large pieces arrive, hashed on threads.

The raw push reads its body in pieces of several MiB; each piece is written to the spool
file at once and handed to a SHA-256 thread (hashlib releases the GIL on large buffers),
so reading, writing and hashing overlap. SHA-1 and SHA-512 are left empty for later
(`feed.core.hashfill`): only some dialects need them. Every WRITEBACK_BYTES a background
`fdatasync` starts the disk writing what has arrived, so the store's fsync at the end
has little left to do (without it the kernel throttles the writer once too much is
dirty). The finished upload is `movable`: the store may rename the file into place.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from feed.core.spool import create_spool, spool_failure
from feed.core.uploads import DigestThread, SpooledUpload, too_large

WRITEBACK_BYTES = 64 * 1024 * 1024


class BodySpool:
    """A locked spool file that counts, hashes and writes back pieces as they come."""

    def __init__(self, directory: str | None, max_bytes: int) -> None:
        self._fd, self.path = create_spool(directory)  # the descriptor holds the spool's lock
        self.max_bytes = max_bytes
        self.size = 0
        self._workers = [DigestThread("sha256")]
        self._unsynced = 0
        self._sync: threading.Thread | None = None

    def write(self, piece: Any) -> None:
        """Append one piece (bytes-like, not reused by the caller); refuse past max_bytes."""
        view = memoryview(piece)
        if self.size + len(view) > self.max_bytes:
            raise too_large(self.max_bytes)
        written = 0
        while written < len(view):
            try:
                written += os.write(self._fd, view[written:])
            except OSError as exc:
                raise spool_failure(exc) from exc
        self.size += len(view)
        for worker in self._workers:
            worker.feed([view])
        self._unsynced += len(view)
        if self._unsynced >= WRITEBACK_BYTES:
            self._start_writeback()

    def _start_writeback(self) -> None:
        """Let the disk write what arrived so far, unless the last round is still running."""
        if self._sync is not None and self._sync.is_alive():
            return
        self._unsynced = 0
        self._sync = threading.Thread(target=_datasync_quietly, args=(self._fd,), daemon=True)
        self._sync.start()

    def upload(self) -> SpooledUpload:
        """Wait for SHA-256 and return the finished upload (late hashes empty, file movable)."""
        (sha256,) = self._finish()
        return SpooledUpload(self.path, self.size, "", sha256, "", movable=True)

    def _finish(self) -> list[str]:
        workers, self._workers = self._workers, []
        hexdigests = [worker.finish() for worker in workers]
        if self._sync is not None:
            self._sync.join()
        return hexdigests

    def close(self) -> None:
        """Stop the threads, release the lock and remove the file (unless moved away)."""
        if self._fd < 0:
            return
        try:
            self._finish()
        finally:
            os.close(self._fd)
            self._fd = -1
            Path(self.path).unlink(missing_ok=True)

    def __enter__(self) -> BodySpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _datasync_quietly(fd: int) -> None:
    """Start the disk on the spool's data; the store's own fsync reports any failure."""
    try:
        os.fdatasync(fd)
    except OSError:
        pass
