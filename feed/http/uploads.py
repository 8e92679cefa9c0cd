"""Multipart uploads: werkzeug writes each file part to a spool that hashes as it writes.

The request hands the repository core a finished `SpooledUpload` (path, size, hashes);
the core never sees werkzeug or the spool.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from flask import Request
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser, MultiPartParser

from feed.core.errors import BadRequest
from feed.core.spool import create_spool, spool_failure
from feed.core.uploads import (
    CHUNK,
    DIGESTS,
    DigestThread,
    SpooledUpload,
    hash_in_parallel,
    too_large,
)

MULTIPART_SLACK = 1024 * 1024  # form boundaries and headers around the package bytes


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
        counted = _PartCounter(stream, boundary)
        try:
            form, files = parser.parse(counted, boundary, content_length)  # type: ignore[arg-type]
        except RequestEntityTooLarge:
            raise self._form_refusal(counted.parts) from None
        return stream, form, files

    def _form_refusal(self, parts: int) -> BadRequest:
        """Name what werkzeug's 413 inside a multipart body really was (never the size)."""
        if self.max_form_parts is not None and parts > self.max_form_parts:
            return BadRequest(
                f"the multipart body has more than {self.max_form_parts} parts; "
                "send the package as one file part"
            )
        return BadRequest(
            f"a form field of the multipart body is longer than {self.max_form_memory_size} "
            "bytes; send the package as a file part (with a filename)"
        )


class _PartCounter:
    """A stream that counts the multipart boundaries read through it (parts, plus one)."""

    def __init__(self, stream: BinaryIO, boundary: bytes) -> None:
        self._stream = stream
        self._marker = b"--" + boundary
        self._tail = b""
        self.boundaries = 0

    @property
    def parts(self) -> int:
        """Parts begun so far (the closing boundary counts once too many, harmlessly)."""
        return self.boundaries

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        window = self._tail + data
        self.boundaries += window.count(self._marker) - self._tail.count(self._marker)
        self._tail = window[-(len(self._marker) - 1) :] if len(self._marker) > 1 else b""
        return data


class HashingSpool(io.FileIO):
    """A named temp file for an upload that hashes and counts what is written to it.

    werkzeug's multipart parser writes a file part here (the request's stream factory),
    so the three digests are ready when the part ends: no second pass over the file.
    Writing past `max_bytes` raises PackageTooLarge at once. The file goes on close.
    """

    def __init__(self, directory: str | None = None, max_bytes: int | None = None) -> None:
        fd, path = create_spool(directory)  # the descriptor holds the spool's lock
        super().__init__(fd, "r+b")
        self.name = str(path)
        self.max_bytes = max_bytes
        self.size = 0
        self._valid = True  # False once a write did not append at the hashed end
        self._at_end = True  # the position is the end of what was hashed (no tell() per write)
        self._batch: list[bytes] = []
        self._batched = 0
        self._workers: list[DigestThread] | None = None
        self._described: tuple[tuple[int, int, int], SpooledUpload] | None = None

    def write(self, data: Any) -> int:
        """Write, count and queue for hashing; refuse past max_bytes before writing."""
        chunk = bytes(data)
        if self.max_bytes is not None and self.size + len(chunk) > self.max_bytes:
            raise too_large(self.max_bytes)
        if self._valid and (self._described is not None or not self._at_end):
            self._invalidate()
        written = 0
        view = memoryview(chunk)
        while written < len(chunk):
            written += self._write_some(view[written:])
        self.size += len(chunk)
        if self._valid and chunk:
            self._queue(chunk)
        return written

    def _write_some(self, view: memoryview) -> int:
        """One raw write; a full or refusing disk becomes the feed's StorageFull/Denied."""
        try:
            return super().write(view) or 0
        except OSError as exc:
            self.close()  # a full disk: give the room back at once
            raise spool_failure(exc) from exc

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
            self._workers = [DigestThread(name) for name in DIGESTS]
        for worker in self._workers:
            worker.feed(self._batch)
        self._batch, self._batched = [], 0

    def _invalidate(self) -> None:
        """Stop trusting the running hashes (a non-appending write); `upload` reads again."""
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
            upload = SpooledUpload(Path(self.name), self.size, sha1, sha256, sha512, movable=True)
            self._described = (stamp, upload)
        if self._described[0] != stamp or st.st_size != self.size:
            return None  # changed behind our back (another handle): read it again
        return self._described[1]

    def upload(self) -> SpooledUpload:
        """Return the finished upload: the running hashes, or one pass over the file."""
        self.flush()
        described = self.describe()
        if described is not None:
            return described
        return replace(hash_in_parallel(Path(self.name)), movable=True)

    def close(self) -> None:
        """Close and remove the temp file; stop the digest threads."""
        if self.closed:
            return
        name = self.name
        try:
            self._stop_workers()
            super().close()
        finally:
            Path(name).unlink(missing_ok=True)


class FeedRequest(Request):
    """Spool uploaded files to named temp files that hash while werkzeug writes them."""

    upload_dir: str | None = None
    form_data_parser_class = UploadFormParser

    def _get_file_stream(  # type: ignore[override]
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> BinaryIO:
        """Return a named temp file for one file part that hashes while werkzeug writes it."""
        limit = self.max_content_length
        return HashingSpool(self.upload_dir, None if limit is None else limit - MULTIPART_SLACK)


def part_upload(part: FileStorage) -> SpooledUpload | BinaryIO:
    """Return a file part as the core takes it: spooled and hashed (or its stream)."""
    if isinstance(part.stream, HashingSpool):
        return part.stream.upload()
    return part.stream
