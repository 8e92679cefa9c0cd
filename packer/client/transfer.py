"""Bytes on the wire: a streamed multipart upload body and a resumable download file.

Both move packages in chunks with a running SHA-256, so no package ever sits in memory.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import requests

from packer.archive.writeback import Writeback
from packer.client.receive import BackgroundSha256, Done
from packer.model.errors import BadInput, OperationFailed

CHUNK = 1 << 20
READ_BLOCK = 1 << 18  # larger reads: fewer Python round trips per byte
_SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")

Progress = Callable[[int, int | None], None]
"""Called with (bytes done, total bytes or None) as bytes move."""


def file_sha256(path: Path) -> str:
    """Hash a local file in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def etag_sha256(value: str | None) -> str | None:
    """The SHA-256 carried by an ETag (the feed's ETag is the SHA-256), or None."""
    if not value:
        return None
    text = value.removeprefix("W/").strip('"').lower()
    return text if _SHA256_PATTERN.fullmatch(text) else None


class MultipartBody:
    """A multipart/form-data body read from disk chunk by chunk, with a known length.

    requests sends an iterable with `__len__` as a Content-Length body, never chunked.
    """

    def __init__(self, path: Path, filename: str, size: int, progress: Progress | None) -> None:
        self.boundary = secrets.token_hex(16)
        disposition = f'form-data; name="file"; filename="{filename}"'
        self._preamble = (
            f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self._epilogue = f"\r\n--{self.boundary}--\r\n".encode()
        self._path = path
        self._size = size
        self._progress = progress

    @property
    def content_type(self) -> str:
        """The Content-Type header naming this body's boundary."""
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self._preamble) + self._size + len(self._epilogue)

    def __iter__(self) -> Iterator[bytes]:
        yield self._preamble
        yield from file_blocks(self._path, self._size, CHUNK, self._progress)
        yield self._epilogue


def file_blocks(path: Path, size: int, block: int, progress: Progress | None) -> Iterator[bytes]:
    """Yield the first `size` bytes of a package file to upload, in `block`-byte reads.

    A file that shrinks meanwhile is refused rather than sent short.
    """
    sent = 0
    with open(path, "rb", buffering=0) as stream:
        while sent < size:
            data = stream.read(min(block, size - sent))
            if not data:
                raise BadInput(f"package file {str(path)!r} shrank during upload")
            sent += len(data)
            if progress is not None:
                progress(sent, size)
            yield data


class PartFile:
    """A download in progress: the `.part` file (owner-only), bytes written, hash, ETag and total.

    `write` refuses a block that would pass the cap: the smallest of the feed's recorded
    size, the configured maximum and what the response itself advertises.
    """

    def __init__(
        self,
        part: Path,
        expected_size: int | None = None,
        max_bytes: int | None = None,
        what: str = "download",
    ) -> None:
        self.part = part
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        os.fchmod(fd, 0o600)  # also when an older `.part` was there
        self.stream = os.fdopen(fd, "wb")
        self.writeback = Writeback(fd)
        self.digest = BackgroundSha256()
        self.written = 0
        self.total: int | None = None
        self.etag: str | None = None
        self.resumes = 0
        self.expected_size = expected_size
        self.max_bytes = max_bytes
        self.what = what

    @property
    def etag_sha(self) -> str | None:
        """The SHA-256 the ETag carries (the feed's ETag is the SHA-256), or None."""
        return etag_sha256(self.etag)

    def cap(self) -> tuple[int, str] | None:
        """Return the most bytes this download may hold and who set it, or None: no cap."""
        caps = [
            (self.expected_size, "the size the feed records"),
            (self.total, "the size the server advertised"),
            (self.max_bytes, "the configured maximum"),
        ]
        known = [(size, source) for size, source in caps if size is not None]
        return min(known, key=lambda c: c[0]) if known else None

    def request_headers(self) -> dict[str, str]:
        """Ask for the rest of the same object once some bytes are here."""
        headers = {"Accept-Encoding": "identity"}
        if self.written:
            headers["Range"] = f"bytes={self.written}-"
            if self.etag:
                headers["If-Range"] = self.etag
        return headers

    def accept(self, response: requests.Response, what: str) -> None:
        """Take a 200 (start over) or a 206 that continues exactly where the file ends."""
        if response.status_code == 206 and self.written:
            match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
            if match and int(match.group(1)) == self.written:
                if match.group(3) != "*":
                    self.total = int(match.group(3))
                return
            raise OperationFailed(
                f"{what}: the server resumed at {response.headers.get('Content-Range')!r}, "
                f"expected byte {self.written}"
            )
        self.stream.seek(0)
        self.stream.truncate()
        self.digest.stop()
        self.digest = BackgroundSha256()
        self.written = 0
        length = response.headers.get("Content-Length")
        self.total = int(length) if length and length.isdigit() else None
        self.etag = response.headers.get("ETag")
        cap = self.cap()
        if self.total is not None and cap is not None and self.total > cap[0]:
            raise OperationFailed(
                f"{what}: the server offers {self.total} bytes, more than {cap[0]} ({cap[1]}); "
                "nothing was downloaded"
            )

    def write(self, block: bytes | memoryview, then: Done | None = None) -> None:
        """Append a block and queue it for hashing (`then` runs once it is hashed); refuse
        one that would pass the cap, writing none of it."""
        cap = self.cap()
        if cap is not None and self.written + len(block) > cap[0]:
            raise OperationFailed(
                f"{self.what}: the server sent more than {cap[0]} bytes ({cap[1]}); "
                "the download was stopped and discarded"
            )
        self.stream.write(block)
        self.written += len(block)
        self.writeback.wrote(len(block))
        self.digest.update(block, then)

    def finish(self) -> None:
        """Flush and fsync so the rename that follows publishes whole bytes.

        Most bytes are on disk already (writeback.py); an error it met fails the download.
        """
        self.stream.flush()
        self.writeback.check()
        os.fsync(self.stream.fileno())
        self.stream.close()

    def close(self) -> None:
        """Close without publishing (the caller removes the part file)."""
        self.writeback.stop()
        self.stream.close()
        self.digest.stop()
