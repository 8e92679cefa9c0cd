"""Blob bytes through S3: multipart uploads, ranged reads as streams.

A blob below the part size is one ``PutObject``; a larger one is a multipart upload that
is aborted on any failure, so nothing half written is ever visible (S3 shows an object
only when its upload completes). A stream is sent one part at a time (it can only be read
in order); a local file, whose size is known, sends PARALLEL_PARTS parts at once, each
read at its offset when its turn comes, so memory stays PARALLEL_PARTS parts.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError

from storage.errors import RangeNotSatisfiable, StorageError
from storage.protocol import ObjectInfo
from storage.s3_calls import S3Calls, bare

MIB = 1024 * 1024
DEFAULT_PART_SIZE = 16 * MIB
MIN_PART_SIZE = 5 * MIB  # S3's minimum for every part but the last
MAX_PARTS = 10_000
READ_BUFFER = MIB
Part = dict[str, Any]  # {"PartNumber", "ETag"} as CompleteMultipartUpload wants it
SendPart = Callable[[int, bytes], Part]
PARALLEL_PARTS = 4  # parts of one file in flight: S3 latency overlaps, memory stays bounded


def put_stream(s3: S3Calls, key: str, full: str, stream: BinaryIO, part_size: int) -> ObjectInfo:
    """Upload `stream` to `full`: one PutObject when small, else a multipart upload."""
    first = _read_full(stream, part_size)
    if len(first) < part_size:
        response = s3.call("put_object", key, Bucket=s3.bucket, Key=full, Body=first)
        return _new_info(key, len(first), response)
    return _put_multipart(s3, key, full, first, stream, part_size)


def put_file(s3: S3Calls, key: str, full: str, path: str, part_size: int) -> ObjectInfo:
    """Upload the local file `path` to `full`: as `put_stream`, with parts sent in parallel."""
    with open(path, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        if size < part_size:
            return put_stream(s3, key, full, stream, part_size)
        count = -(-size // part_size)
        if count > MAX_PARTS:
            raise StorageError(f"put_blob {key!r}: more than {MAX_PARTS} parts")

        def send_all(send: SendPart) -> list[Part]:
            def read_and_send(number: int) -> Part:
                offset = (number - 1) * part_size
                wanted = min(part_size, size - offset)
                chunk = os.pread(stream.fileno(), wanted, offset)
                if len(chunk) < wanted:
                    raise StorageError(f"put_blob {key!r}: the file shrank while it was uploaded")
                return send(number, chunk)

            pool = ThreadPoolExecutor(PARALLEL_PARTS, thread_name_prefix="octopack-s3-part")
            try:
                futures = [pool.submit(read_and_send, n) for n in range(1, count + 1)]
                return [future.result() for future in futures]
            finally:  # after a failure no part is sent once the upload is aborted
                pool.shutdown(wait=True, cancel_futures=True)

        response = _multipart(s3, key, full, send_all)
    return _new_info(key, size, response)


def open_range(s3: S3Calls, key: str, full: str, start: int, end: int | None) -> BinaryIO:
    """Stream bytes `start`..`end` (inclusive, like HTTP Range) of `full`."""
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"invalid byte range start={start} end={end}")
    arguments: dict[str, Any] = {"Bucket": s3.bucket, "Key": full}
    if start or end is not None:
        arguments["Range"] = f"bytes={start}-{'' if end is None else end}"
    try:
        response = s3.call("get_object", key, **arguments)
    except StorageError as exc:
        if getattr(exc, "code", "") == "InvalidRange":
            raise RangeNotSatisfiable(key, start) from exc
        raise
    return io.BufferedReader(_BodyReader(response["Body"], key), READ_BUFFER)


def _put_multipart(
    s3: S3Calls, key: str, full: str, first: bytes, stream: BinaryIO, part_size: int
) -> ObjectInfo:
    """Upload a stream's parts one at a time, in order."""
    size = 0

    def send_all(send: SendPart) -> list[Part]:
        nonlocal size
        parts: list[Part] = []
        chunk = first
        while chunk:
            if len(parts) >= MAX_PARTS:
                raise StorageError(f"put_blob {key!r}: more than {MAX_PARTS} parts")
            parts.append(send(len(parts) + 1, chunk))
            size += len(chunk)
            chunk = _read_full(stream, part_size)
        return parts

    response = _multipart(s3, key, full, send_all)
    return _new_info(key, size, response)


def _multipart(
    s3: S3Calls, key: str, full: str, send_all: Callable[[SendPart], list[Part]]
) -> dict[str, Any]:
    """Run one multipart upload: `send_all` sends its parts through the sender it is given
    and returns them in order; then complete it, or abort it on any failure."""
    upload_id = s3.call("create_multipart_upload", key, Bucket=s3.bucket, Key=full)["UploadId"]

    def send(number: int, chunk: bytes) -> Part:
        response = s3.call(
            "upload_part", key, Bucket=s3.bucket, Key=full, UploadId=upload_id,
            PartNumber=number, Body=chunk,
        )  # fmt: skip
        return {"PartNumber": number, "ETag": response["ETag"]}

    try:
        parts = send_all(send)
        return s3.call(
            "complete_multipart_upload", key, Bucket=s3.bucket, Key=full,
            UploadId=upload_id, MultipartUpload={"Parts": parts},
        )  # fmt: skip
    except BaseException:
        _abort(s3, key, full, upload_id)
        raise


def _abort(s3: S3Calls, key: str, full: str, upload_id: str) -> None:
    """Abort a multipart upload; a failure here must not hide the original error."""
    try:
        s3.call("abort_multipart_upload", key, Bucket=s3.bucket, Key=full, UploadId=upload_id)
    except StorageError:
        pass


class _BodyReader(io.RawIOBase):
    """Adapt botocore's StreamingBody to a raw binary stream, translating its errors."""

    def __init__(self, body: Any, key: str) -> None:
        self._body = body
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer)
        try:
            data = self._body.read(len(view))
        except (BotoCoreError, OSError) as exc:
            raise StorageError(f"reading {self._key!r} from S3 failed: {exc}") from exc
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def _read_full(stream: BinaryIO, size: int) -> bytes:
    """Read up to `size` bytes, looping over short reads; fewer only at end of stream."""
    first = stream.read(size)
    if not first or len(first) >= size:
        return bytes(first or b"")
    buffer = bytearray(first)
    while len(buffer) < size:
        chunk = stream.read(size - len(buffer))
        if not chunk:
            break
        buffer += chunk
    return bytes(buffer)


def _new_info(key: str, size: int, response: dict[str, Any]) -> ObjectInfo:
    """Describe a just-written object without another request (modified is our clock)."""
    return ObjectInfo(key=key, size=size, etag=bare(response["ETag"]), modified=datetime.now(UTC))
