"""A spool for a raw request body: written as large pieces arrive, hashed on threads.

The raw push reads its body in pieces of several MiB; each piece is written to the spool
file at once and handed to a SHA-256 thread (hashlib releases the GIL on large buffers),
so reading, writing and hashing overlap. SHA-1 and SHA-512 are left empty for later
(`feed.core.hashfill`): only some dialects need them. A background `fdatasync`
(`packer.archive.writeback`) writes what has arrived as it comes, so the store's fsync at
the end has little left to do; an error it meets fails the upload, since Linux reports a
writeback error to one fsync only. The finished upload is `movable`: the store may rename
the file into place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from feed.core.spool import create_spool, spool_failure
from feed.core.uploads import DigestThread, SpooledUpload, too_large
from packer.archive.writeback import Writeback


class BodySpool:
    """A locked spool file that counts, hashes and writes back pieces as they come."""

    def __init__(self, directory: str | None, max_bytes: int) -> None:
        self._fd, self.path = create_spool(directory)  # the descriptor holds the spool's lock
        self.max_bytes = max_bytes
        self.size = 0
        self._sha256: DigestThread | None = DigestThread("sha256")
        self._writeback = Writeback(self._fd)

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
        if self._sha256 is not None:
            self._sha256.feed([view])
        self._writeback.wrote(len(view))

    def upload(self) -> SpooledUpload:
        """Wait for SHA-256 and the writeback; return the upload (late hashes empty, movable)."""
        sha256 = self._finish()
        try:
            self._writeback.check()
        except OSError as exc:
            raise spool_failure(exc) from exc
        return SpooledUpload(self.path, self.size, "", sha256, "", movable=True)

    def _finish(self) -> str:
        worker, self._sha256 = self._sha256, None
        sha256 = worker.finish() if worker is not None else ""
        self._writeback.stop()
        return sha256

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
