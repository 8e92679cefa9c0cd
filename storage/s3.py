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
* Modules: this one holds the Storage methods and the conditional-delete probe;
  ``storage.s3_calls`` the client, error translation and the retried conditional call;
  ``storage.s3_blobs`` single and multipart uploads and ranged reads.
* A custom endpoint (``endpoint_url`` argument, ``OCTOPACK_S3_ENDPOINT``,
  ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``) switches to path-style addressing so
  MinIO and moto work; credentials come from the usual AWS chain.
* Etags are S3's ETag without the quotes. ``calls`` counts S3 API operations by name.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from storage.errors import InvalidKey, ObjectExists, PreconditionFailed, StorageError
from storage.protocol import RESERVED_PREFIX, ObjectInfo, check_key, check_prefix
from storage.s3_blobs import DEFAULT_PART_SIZE, MIN_PART_SIZE, open_range, put_file, put_stream
from storage.s3_calls import S3Calls, bare, endpoint_from_environment, make_client, quoted

__all__ = ["DEFAULT_PART_SIZE", "MIN_PART_SIZE", "S3Storage", "make_client"]

_log = logging.getLogger(__name__)


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
        self.endpoint_url = endpoint_url or endpoint_from_environment()
        self._s3 = S3Calls(
            bucket, self.prefix, endpoint_url=self.endpoint_url, client=client, sleep=sleep
        )
        self.calls = self._s3.calls
        self.conditional_delete = conditional_delete  # None: probe before first use
        self._probe_lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The boto3 client; a forked process (gunicorn worker) builds its own once."""
        return self._s3.client

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
        return put_stream(self._s3, key, self._full(key), stream, self.part_size)

    def put_blob_file(self, key: str, path: str) -> ObjectInfo:
        """Upload the local file `path` to `key` (as `put_blob`), then remove the file."""
        info = put_file(self._s3, key, self._full(key), path, self.part_size)
        os.unlink(path)
        return info

    def open_blob(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO:
        """Stream bytes `start`..`end` (inclusive, like HTTP Range) of `key`."""
        return open_range(self._s3, key, self._full(key), start, end)

    def stat(self, key: str) -> ObjectInfo:
        """Describe `key` with one HeadObject."""
        response = self._s3.call("head_object", key, Bucket=self.bucket, Key=self._full(key))
        return ObjectInfo(
            key=key,
            size=int(response["ContentLength"]),
            etag=bare(response["ETag"]),
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
            page = self._s3.call("list_objects_v2", prefix, **arguments)
            for item in page.get("Contents", []):
                key = item["Key"][len(self.prefix) :]
                if key.startswith(RESERVED_PREFIX) or f"/{RESERVED_PREFIX}" in key:
                    continue  # probe objects (and anything else our keys may not name)
                yield ObjectInfo(
                    key=key,
                    size=int(item["Size"]),
                    etag=bare(item["ETag"]),
                    modified=item["LastModified"],
                )
            if not page.get("IsTruncated"):
                return
            arguments["ContinuationToken"] = page["NextContinuationToken"]

    def delete(self, key: str) -> None:
        """Delete `key`; S3 deletes are idempotent."""
        self._s3.call("delete_object", key, Bucket=self.bucket, Key=self._full(key))

    # -- records -----------------------------------------------------------------------

    def create_record(self, key: str, data: bytes) -> str:
        """Create `key` with `data` unless it exists: PutObject with If-None-Match: *."""
        response = self._s3.conditional(
            "put_object",
            key,
            lost=ObjectExists,
            Bucket=self.bucket,
            Key=self._full(key),
            Body=data,
            IfNoneMatch="*",
        )
        return bare(response["ETag"])

    def read_record(self, key: str) -> tuple[bytes, str]:
        """Return the bytes of `key` and their etag from one GetObject."""
        return self._s3.get_bytes(key, self._full(key))

    def replace_record(self, key: str, data: bytes, if_match: str) -> str:
        """Replace `key` with `data` only if its etag is `if_match`: PutObject with If-Match."""
        response = self._s3.conditional(
            "put_object",
            key,
            lost=PreconditionFailed,
            Bucket=self.bucket,
            Key=self._full(key),
            Body=data,
            IfMatch=quoted(if_match),
        )
        return bare(response["ETag"])

    def delete_record(self, key: str, if_match: str) -> None:
        """Delete `key` only if its etag is `if_match`: DeleteObject with If-Match."""
        full = self._full(key)
        if not self._honours_conditional_delete():
            self._delete_record_by_comparing(key, full, if_match)
            return
        self._s3.conditional(
            "delete_object",
            key,
            lost=PreconditionFailed,
            Bucket=self.bucket,
            Key=full,
            IfMatch=quoted(if_match),
        )

    def _delete_record_by_comparing(self, key: str, full: str, if_match: str) -> None:
        """Fallback for stores that ignore If-Match on DELETE: compare, then delete."""
        current = self.stat(key).etag
        if current != bare(if_match):
            raise PreconditionFailed(key, f"expected etag {if_match!r}, found {current!r}")
        self._s3.call("delete_object", key, Bucket=self.bucket, Key=full)

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
        call = self._s3.call
        call("put_object", probe, Bucket=self.bucket, Key=probe, Body=b"probe")
        try:
            call("delete_object", probe, Bucket=self.bucket, Key=probe, IfMatch=f'"{"0" * 32}"')
        except StorageError as exc:
            code = getattr(exc, "code", "")
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                return True  # the store evaluated the condition
            if code in ("NotImplemented", "501"):
                return False
            raise
        finally:
            call("delete_object", probe, Bucket=self.bucket, Key=probe)
        return False

    def _full(self, key: str) -> str:
        return self.prefix + check_key(key)
