"""Spool an upload to a temporary file while hashing and counting, refusing oversize at once."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from feed.errors import PackageTooLarge

CHUNK = 1024 * 1024


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
            raise PackageTooLarge(
                f"package is larger than the feed's maximum of {self.max_bytes} bytes"
            )
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
    """Describe a file that is already on local disk, without copying it (caller owns it)."""
    if path.stat().st_size > max_bytes:
        raise PackageTooLarge(f"package is larger than the feed's maximum of {max_bytes} bytes")
    hashes = _Hashes(max_bytes)
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            hashes.update(chunk)
    yield hashes.result(path)
