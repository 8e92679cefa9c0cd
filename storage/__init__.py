"""Where bytes live: disk or S3 behind one small interface.

Contract shared by every backend (the tests in tests/storage/ check all of it):

* Keys are `/`-separated relative names (``packages/foo/1.0.0/package.json``). A key with
  an empty, ``.`` or ``..`` segment, a leading or trailing ``/``, a backslash, a control
  character, or a segment starting with ``.octopack`` (reserved for the disk backend's
  temp and lock files) raises ``InvalidKey`` (a ``StorageError`` and a ``ValueError``).
* Blobs are immutable: ``put_blob`` streams a new object, never holding it whole in memory,
  and nothing half written is ever visible under its key. The caller picks a key nobody
  else can pick.
* Records are small documents changed only by compare-and-swap: ``create_record`` is
  create-if-absent (``ObjectExists``), ``replace_record``/``delete_record`` take the etag
  from ``read_record`` and raise ``PreconditionFailed`` when it changed, ``ObjectNotFound``
  when the record is gone.
* Etags are opaque tokens without quotes; a record's etag changes on every replace.
* ``list(prefix)`` is a plain string-prefix match (``packages/foo/`` never lists
  ``packages/foo.bar/``), recursive, sorted by key, and never shows temp or lock files.
* ``open_blob(key, start, end)`` reads bytes ``start..end`` inclusive, like an HTTP Range;
  ``end`` past the object is clamped, ``start`` past it raises ``RangeNotSatisfiable``.
* ``delete(key)`` is idempotent. ``calls`` counts backend operations for benchmarks.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Protocol, runtime_checkable

from storage.errors import (
    InvalidKey,
    ObjectExists,
    ObjectNotFound,
    PreconditionFailed,
    RangeNotSatisfiable,
    StorageError,
)

__all__ = [
    "InvalidKey",
    "ObjectExists",
    "ObjectInfo",
    "ObjectNotFound",
    "PreconditionFailed",
    "RangeNotSatisfiable",
    "Storage",
    "StorageError",
    "check_key",
    "check_prefix",
    "open_storage",
]

RESERVED_PREFIX = ".octopack"
MAX_KEY_BYTES = 900  # S3 allows 1024; leave room for a bucket prefix
MAX_SEGMENT_BYTES = 200  # file names allow 255; leave room for the temp-file decoration


@dataclass(frozen=True)
class ObjectInfo:
    """What a backend knows about one stored object without reading it."""

    key: str
    size: int
    etag: str
    modified: datetime


@runtime_checkable
class Storage(Protocol):
    """The interface the feed's repository core is written against."""

    calls: Counter[str]

    def put_blob(self, key: str, stream: BinaryIO) -> ObjectInfo: ...

    def create_record(self, key: str, data: bytes) -> str: ...

    def read_record(self, key: str) -> tuple[bytes, str]: ...

    def replace_record(self, key: str, data: bytes, if_match: str) -> str: ...

    def delete_record(self, key: str, if_match: str) -> None: ...

    def open_blob(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO: ...

    def stat(self, key: str) -> ObjectInfo: ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]: ...

    def delete(self, key: str) -> None: ...


def check_key(key: str) -> str:
    """Return `key` unchanged if it is a safe relative key; raise InvalidKey naming it."""
    if not isinstance(key, str) or not key:
        raise InvalidKey(f"storage key must be a non-empty string, got {key!r}")
    problem = _key_problem(key)
    if problem:
        raise InvalidKey(f"invalid storage key {key!r}: {problem}")
    return key


def check_prefix(prefix: str) -> str:
    """Return `prefix` if it is '' or a key, optionally ending in '/'; raise InvalidKey."""
    if prefix == "":
        return prefix
    if not isinstance(prefix, str):
        raise InvalidKey(f"storage prefix must be a string, got {prefix!r}")
    body = prefix[:-1] if prefix.endswith("/") else prefix
    problem = _key_problem(body) if body else "a prefix cannot be just '/'"
    if problem:
        raise InvalidKey(f"invalid storage prefix {prefix!r}: {problem}")
    return prefix


def _key_problem(key: str) -> str:
    """Say what is wrong with `key`, or return '' when it is acceptable."""
    if key.startswith("/"):
        return "it must be relative (no leading '/')"
    if "\\" in key:
        return "backslashes are not allowed"
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        return "control characters are not allowed"
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        return f"longer than {MAX_KEY_BYTES} bytes"
    for segment in key.split("/"):
        if segment == "":
            return "empty path segment (leading, trailing or doubled '/')"
        if segment in (".", ".."):
            return f"'{segment}' segments are not allowed"
        if segment.startswith(RESERVED_PREFIX):
            return f"segments starting with {RESERVED_PREFIX!r} are reserved"
        if len(segment.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            return f"a segment is longer than {MAX_SEGMENT_BYTES} bytes"
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid UTF-8"
    return ""


def open_storage(location: str, *, endpoint_url: str | None = None, **options: Any) -> Storage:
    """Open `s3://bucket/prefix` as S3Storage, anything else as a disk directory.

    `endpoint_url` (else OCTOPACK_S3_ENDPOINT / AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL)
    only matters for S3; other options go to the backend's constructor.
    """
    if not isinstance(location, str) or not location.strip():
        raise InvalidKey(f"storage location must be a path or s3://bucket/prefix, got {location!r}")
    if location.startswith("s3://"):
        from storage.s3 import S3Storage

        return S3Storage.from_url(location, endpoint_url=endpoint_url, **options)
    from storage.disk import DiskStorage

    path = location[len("file://") :] if location.startswith("file://") else location
    return DiskStorage(os.path.expanduser(path), **options)
