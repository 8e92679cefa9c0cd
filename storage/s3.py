"""S3 backend: the distributed engine; any number of feed processes may share one bucket.

* Blobs: a single ``PutObject`` below the part size, else a multipart upload holding one
  part in memory at a time; any failure aborts the upload, so nothing half written is
  visible (S3 shows an object only when its upload completes).
* ``create_record``: ``PutObject(IfNoneMatch="*")``; 412 means another writer won.
* ``replace_record``: ``PutObject(IfMatch=etag)``; ``delete_record``:
  ``DeleteObject(IfMatch=etag)``. AWS S3 (since 2025-09) and moto 5.x check ``If-Match`` on
  DELETE, but some S3-compatible stores silently ignore it (MinIO, minio/minio#21677) and
  would delete whatever is there. So before its first ``delete_record`` each S3Storage
  probes once (a throw-away object under ``{prefix}/.octopack-probe/`` deleted with a wrong
  etag: 412 means honoured). Where it is ignored, ``delete_record`` falls back to HeadObject,
  compare, unconditional DeleteObject, logs a warning once, and a replace that lands
  between the compare and the delete is lost: a narrow race that only conditional delete
  closes. Pass ``conditional_delete=True`` to skip the probe on AWS.
* 409 ConditionalRequestConflict (another conditional write to the key is in flight) is
  retried a few times; if it persists, the call reports it lost the race
  (``ObjectExists`` / ``PreconditionFailed``), which is what the caller must handle anyway.
* A custom endpoint (``endpoint_url`` argument, ``OCTOPACK_S3_ENDPOINT``,
  ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``) switches to path-style addressing so
  MinIO and moto work; credentials come from the usual AWS chain.
* Etags are S3's ETag without the quotes. ``calls`` counts S3 API operations by name.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from storage import RESERVED_PREFIX, ObjectInfo, check_key, check_prefix
from storage.errors import (
    InvalidKey,
    ObjectExists,
    ObjectNotFound,
    PreconditionFailed,
    RangeNotSatisfiable,
    StorageError,
)

MIB = 1024 * 1024
DEFAULT_PART_SIZE = 16 * MIB
MIN_PART_SIZE = 5 * MIB  # S3's minimum for every part but the last
MAX_PARTS = 10_000
CONFLICT_RETRIES = 4
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_log = logging.getLogger(__name__)
_ENDPOINT_VARIABLES = ("OCTOPACK_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


class S3Storage:
    """A Storage on an S3 bucket below an optional key prefix."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        client: Any = None,
        part_size: int = DEFAULT_PART_SIZE,
        page_size: int = 1000,
        sleep: Callable[[float], None] = time.sleep,
        conditional_delete: bool | None = None,
    ) -> None:
        if not bucket:
            raise InvalidKey("S3 location needs a bucket name: s3://bucket/prefix")
        if prefix:
            check_key(prefix)
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size {part_size} is below S3's minimum of {MIN_PART_SIZE}")
        self.bucket = bucket
        self.prefix = prefix + "/" if prefix else ""
        self.part_size = part_size
        self.page_size = page_size
        self.endpoint_url = endpoint_url or _endpoint_from_environment()
        self._own_client = client is None
        self._client = client if client is not None else make_client(self.endpoint_url)
        self._client_pid = os.getpid()
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()
        self._sleep = sleep
        self.conditional_delete = conditional_delete  # None: probe before first use
        self._probe_lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The boto3 client; a forked process (gunicorn worker) builds its own once."""
        if self._own_client and self._client_pid != os.getpid():
            self._client = make_client(self.endpoint_url)
            self._client_pid = os.getpid()
        return self._client

    @classmethod
    def from_url(cls, url: str, **options: Any) -> S3Storage:
        """Open `s3://bucket/prefix`."""
        rest = url[len("s3://") :] if url.startswith("s3://") else ""
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise InvalidKey(f"S3 location {url!r} has no bucket: use s3://bucket/prefix")
        return cls(bucket, prefix.strip("/"), **options)

    def __repr__(self) -> str:
        return f"S3Storage('s3://{self.bucket}/{self.prefix}')"

    # -- blobs -------------------------------------------------------------------------

    def put_blob(self, key: str, stream: BinaryIO) -> ObjectInfo:
        """Upload `stream` to `key`: one PutObject when small, else a multipart upload."""
        full = self._full(key)
        first = _read_full(stream, self.part_size)
        if len(first) < self.part_size:
            response = self._call("put_object", key, Bucket=self.bucket, Key=full, Body=first)
            return _new_info(key, len(first), response)
        return self._put_multipart(key, full, first, stream)

    def _put_multipart(self, key: str, full: str, first: bytes, stream: BinaryIO) -> ObjectInfo:
        """Upload parts one at a time; abort the upload on any failure."""
        upload = self._call("create_multipart_upload", key, Bucket=self.bucket, Key=full)
        upload_id = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        size = 0
        try:
            chunk = first
            while chunk:
                if len(parts) >= MAX_PARTS:
                    raise StorageError(f"put_blob {key!r}: more than {MAX_PARTS} parts")
                number = len(parts) + 1
                response = self._call(
                    "upload_part",
                    key,
                    Bucket=self.bucket,
                    Key=full,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=chunk,
                )
                parts.append({"PartNumber": number, "ETag": response["ETag"]})
                size += len(chunk)
                chunk = _read_full(stream, self.part_size)
            response = self._call(
                "complete_multipart_upload",
                key,
                Bucket=self.bucket,
                Key=full,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            self._abort(key, full, upload_id)
            raise
        return _new_info(key, size, response)

    def _abort(self, key: str, full: str, upload_id: str) -> None:
        """Abort a multipart upload; a failure here must not hide the original error."""
        try:
            self._call(
                "abort_multipart_upload", key, Bucket=self.bucket, Key=full, UploadId=upload_id
            )
        except StorageError:
            pass

    def open_blob(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO:
        """Stream bytes `start`..`end` (inclusive, like HTTP Range) of `key`."""
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"invalid byte range start={start} end={end}")
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Key": self._full(key)}
        if start or end is not None:
            arguments["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            response = self._call("get_object", key, **arguments)
        except StorageError as exc:
            if getattr(exc, "code", "") == "InvalidRange":
                raise RangeNotSatisfiable(key, start) from exc
            raise
        return io.BufferedReader(_BodyReader(response["Body"], key), 1024 * 1024)

    def stat(self, key: str) -> ObjectInfo:
        """Describe `key` with one HeadObject."""
        response = self._call("head_object", key, Bucket=self.bucket, Key=self._full(key))
        return ObjectInfo(
            key=key,
            size=int(response["ContentLength"]),
            etag=_bare(response["ETag"]),
            modified=response["LastModified"],
        )

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield every object whose key starts with `prefix`, sorted by key (paginated)."""
        check_prefix(prefix)
        return self._list(prefix)

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        arguments: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": self.prefix + prefix,
            "MaxKeys": self.page_size,
        }
        while True:
            page = self._call("list_objects_v2", prefix, **arguments)
            for item in page.get("Contents", []):
                key = item["Key"][len(self.prefix) :]
                if key.startswith(RESERVED_PREFIX) or f"/{RESERVED_PREFIX}" in key:
                    continue  # probe objects (and anything else our keys may not name)
                yield ObjectInfo(
                    key=key,
                    size=int(item["Size"]),
                    etag=_bare(item["ETag"]),
                    modified=item["LastModified"],
                )
            if not page.get("IsTruncated"):
                return
            arguments["ContinuationToken"] = page["NextContinuationToken"]

    def delete(self, key: str) -> None:
        """Delete `key`; S3 deletes are idempotent."""
        self._call("delete_object", key, Bucket=self.bucket, Key=self._full(key))

    # -- records -----------------------------------------------------------------------

    def create_record(self, key: str, data: bytes) -> str:
        """Create `key` with `data` unless it exists: PutObject with If-None-Match: *."""
        response = self._conditional(
            "put_object",
            key,
            lost=ObjectExists,
            Bucket=self.bucket,
            Key=self._full(key),
            Body=data,
            IfNoneMatch="*",
        )
        return _bare(response["ETag"])

    def read_record(self, key: str) -> tuple[bytes, str]:
        """Return the bytes of `key` and their etag from one GetObject."""
        response = self._call("get_object", key, Bucket=self.bucket, Key=self._full(key))
        try:
            data = response["Body"].read()
        except (BotoCoreError, OSError) as exc:
            raise StorageError(f"read_record {key!r}: reading the body failed: {exc}") from exc
        finally:
            response["Body"].close()
        return data, _bare(response["ETag"])

    def replace_record(self, key: str, data: bytes, if_match: str) -> str:
        """Replace `key` with `data` only if its etag is `if_match`: PutObject with If-Match."""
        response = self._conditional(
            "put_object",
            key,
            lost=PreconditionFailed,
            Bucket=self.bucket,
            Key=self._full(key),
            Body=data,
            IfMatch=_quoted(if_match),
        )
        return _bare(response["ETag"])

    def delete_record(self, key: str, if_match: str) -> None:
        """Delete `key` only if its etag is `if_match`: DeleteObject with If-Match."""
        full = self._full(key)
        if not self._honours_conditional_delete():
            self._delete_record_by_comparing(key, full, if_match)
            return
        self._conditional(
            "delete_object",
            key,
            lost=PreconditionFailed,
            Bucket=self.bucket,
            Key=full,
            IfMatch=_quoted(if_match),
        )

    def _delete_record_by_comparing(self, key: str, full: str, if_match: str) -> None:
        """Fallback for stores that ignore If-Match on DELETE: compare, then delete."""
        current = self.stat(key).etag
        if current != _bare(if_match):
            raise PreconditionFailed(key, f"expected etag {if_match!r}, found {current!r}")
        self._call("delete_object", key, Bucket=self.bucket, Key=full)

    def _honours_conditional_delete(self) -> bool:
        """Probe once whether the store checks If-Match on DeleteObject."""
        if self.conditional_delete is None:
            with self._probe_lock:
                if self.conditional_delete is None:
                    self.conditional_delete = self._probe_conditional_delete()
                    if not self.conditional_delete:
                        _log.warning(
                            "s3://%s ignores If-Match on DeleteObject; delete_record falls "
                            "back to compare-then-delete, which a concurrent replace can race",
                            self.bucket,
                        )
        return self.conditional_delete

    def _probe_conditional_delete(self) -> bool:
        probe = f"{self.prefix}{RESERVED_PREFIX}-probe/{uuid.uuid4().hex}"
        self._call("put_object", probe, Bucket=self.bucket, Key=probe, Body=b"probe")
        try:
            self._call(
                "delete_object", probe, Bucket=self.bucket, Key=probe, IfMatch=f'"{"0" * 32}"'
            )
        except StorageError as exc:
            code = getattr(exc, "code", "")
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                return True  # the store evaluated the condition
            if code in ("NotImplemented", "501"):
                return False
            raise
        finally:
            self._call("delete_object", probe, Bucket=self.bucket, Key=probe)
        return False

    # -- internals ---------------------------------------------------------------------

    def _full(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _conditional(
        self, operation: str, key: str, lost: type[StorageError], **arguments: Any
    ) -> dict[str, Any]:
        """Run a conditional write, retrying 409 conflicts; 412 raises `lost`.

        When boto retried the request itself (the first answer was lost on the way), a 412
        or 404 may be the echo of our own success; `_landed` checks for that.
        """
        delay = 0.05
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                return self._call(operation, key, **arguments)
            except StorageError as exc:
                code = getattr(exc, "code", "")
                if getattr(exc, "retried", 0) and code in (
                    "PreconditionFailed",
                    "412",
                    *_NOT_FOUND,
                ):
                    landed = self._landed(operation, key, arguments)
                    if landed is not None:
                        return landed
                if code in ("PreconditionFailed", "412"):
                    raise lost(key) from exc
                if code != "ConditionalRequestConflict":
                    raise
                if attempt == CONFLICT_RETRIES:
                    raise lost(key, "a concurrent conditional write kept conflicting") from exc
            self._sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def _landed(self, operation: str, key: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """Return a response if a retried conditional call had in fact succeeded, else None.

        A put landed when the key now holds exactly our bytes (records carry data unique to
        their writer, such as a fresh blob key); a delete landed when the key is gone.
        """
        try:
            data, etag = self.read_record(key)
        except ObjectNotFound:
            return {} if operation == "delete_object" else None
        if operation == "put_object" and data == arguments["Body"]:
            return {"ETag": etag}
        return None

    def _call(self, operation: str, key: str, **arguments: Any) -> dict[str, Any]:
        """Call one S3 API operation, counting it and turning boto errors into ours."""
        with self._calls_lock:
            self.calls[operation] += 1
        try:
            return getattr(self.client, operation)(**arguments)
        except ClientError as exc:
            raise self._translate(operation, key, exc) from None
        except BotoCoreError as exc:
            raise StorageError(
                f"S3 {operation} on s3://{self.bucket}/{self.prefix}{key} failed: {exc}"
            ) from None

    def _translate(self, operation: str, key: str, exc: ClientError) -> StorageError:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = error.get("Message") or code
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        where = f"s3://{self.bucket}/{self.prefix}{key}"
        result: StorageError
        if code in _NOT_FOUND or (status == 404 and code != "NoSuchBucket"):
            result = ObjectNotFound(key)
        elif code == "NoSuchBucket":
            result = StorageError(f"S3 bucket {self.bucket!r} does not exist ({where})")
        else:
            result = StorageError(f"S3 {operation} on {where} failed: {code} {message}")
        result.code = code  # type: ignore[attr-defined]
        result.retried = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)  # type: ignore[attr-defined]
        return result


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


def make_client(endpoint_url: str | None, max_attempts: int = 5) -> Any:
    """Build a thread-safe S3 client; path-style and plain checksums for custom endpoints."""
    options: dict[str, Any] = {
        "retries": {"mode": "standard", "max_attempts": max_attempts},
        "max_pool_connections": 32,
    }
    if endpoint_url:
        options["s3"] = {"addressing_style": "path"}
        options["request_checksum_calculation"] = "when_required"
        options["response_checksum_validation"] = "when_required"
    session = boto3.session.Session()
    return session.client("s3", endpoint_url=endpoint_url, config=Config(**options))


def _endpoint_from_environment() -> str | None:
    for variable in _ENDPOINT_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value:
            return value
    return None


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
    return ObjectInfo(key=key, size=size, etag=_bare(response["ETag"]), modified=datetime.now(UTC))


def _bare(etag: str) -> str:
    return etag.strip('"')


def _quoted(etag: str) -> str:
    return f'"{_bare(etag)}"'
