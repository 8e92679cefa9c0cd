"""The storage interface every backend implements: protocol, object info, key checks.

Kept apart from `storage/__init__.py` (which opens backends) so backends import it
without a cycle.

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

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol, runtime_checkable

from storage.errors import InvalidKey

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_SEGMENT_BYTES",
    "RESERVED_PREFIX",
    "ObjectInfo",
    "Storage",
    "check_key",
    "check_prefix",
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
    """The interface the feed's repository core is written against.

    Every method checks its key first (``InvalidKey`` for a bad one) and raises only
    ``StorageError`` subclasses: a backend's own errors (``OSError``, boto's) never pass
    through. Any method may raise a plain ``StorageError`` for a failure of the backend
    itself (bucket missing, endpoint unreachable); its message names the key and the
    location. A full disk or quota raises ``StorageFull``, a refused permission
    ``StorageDenied`` (both ``StorageError`` subclasses), so callers can say which.
    """

    calls: Counter[str]
    """How many backend operations ran, by name (benchmarks and tests count them)."""

    def put_blob(self, key: str, stream: BinaryIO) -> ObjectInfo:
        """Store the bytes `stream` yields, read to its end, as a new object at `key`.

        Streams in bounded chunks, never holding the whole object in memory; the object
        appears under `key` only once complete (a failure or crash leaves nothing visible
        there). Blobs are immutable by convention: the caller picks a key no other writer
        picks, so there is no compare-and-swap; writing an existing key replaces it.
        Returns the new object's ObjectInfo. Raises ``StorageError`` when the write fails
        (including a parent of the key being an object on disk); errors from `stream`
        itself propagate unchanged.
        """
        ...

    def put_blob_file(self, key: str, path: str) -> ObjectInfo:
        """Store the complete local file `path` as `key`, as ``put_blob`` would, taking it:
        the file is gone from `path` afterwards (disk renames it in when it can).

        For spools the caller owns and will not read again. Raises as ``put_blob`` does.
        """
        ...

    def create_record(self, key: str, data: bytes) -> str:
        """Create the record `key` holding `data` only if no object is there; return its etag.

        Atomic create-if-absent across processes and hosts. Raises ``ObjectExists`` when
        the key is taken (another writer won: re-read and decide), ``StorageError`` when
        the write fails.
        """
        ...

    def read_record(self, key: str) -> tuple[bytes, str]:
        """Return the whole content of `key` and the etag of exactly those bytes.

        The pair is consistent: pass the etag to ``replace_record``/``delete_record`` to
        change the record only if nobody else changed it since. Raises ``ObjectNotFound``
        when there is no object at `key`.
        """
        ...

    def replace_record(self, key: str, data: bytes, if_match: str) -> str:
        """Replace record `key` with `data` if its etag is still `if_match`; return the new etag.

        Atomic compare-and-swap: readers see the old bytes or the new, never a mix. The new
        etag differs from every earlier one of this key. Raises ``PreconditionFailed`` when
        the etag changed (another writer won: re-read and retry), ``ObjectNotFound`` when
        the record is gone.
        """
        ...

    def delete_record(self, key: str, if_match: str) -> None:
        """Delete the record `key` if its etag is still `if_match`.

        Raises ``PreconditionFailed`` when the etag changed, ``ObjectNotFound`` when the
        record is already gone. (S3 stores that ignore If-Match on DELETE fall back to
        compare-then-delete; see ``storage.s3``.)
        """
        ...

    def open_blob(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO:
        """Open bytes `start`..`end` of `key` (inclusive, like an HTTP Range) for streaming.

        `end` None or past the object means "to the end". The caller closes the stream;
        reading it may raise ``StorageError`` if the backend fails mid-stream. Raises
        ``ObjectNotFound`` when there is no object at `key`, ``RangeNotSatisfiable`` when
        `start` is at or past its end (except for a whole read of an empty object), and
        ``ValueError`` for a negative `start` or an `end` before `start`.
        """
        ...

    def stat(self, key: str) -> ObjectInfo:
        """Describe the object at `key` (size, etag, modified) without reading it.

        Raises ``ObjectNotFound`` when there is no object at `key` (on disk, also when the
        key names a directory of other keys).
        """
        ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield every object whose key starts with `prefix`, recursively, sorted by key.

        A plain string-prefix match (``packages/foo/`` never lists ``packages/foo.bar/``);
        temp, lock and probe objects are never shown. Lazy: objects created or deleted
        while iterating may or may not appear. Raises ``InvalidKey`` for a bad prefix at
        once and ``StorageError`` (while iterating) when the backend cannot list.
        """
        ...

    def delete(self, key: str) -> None:
        """Delete the object at `key` unconditionally; a missing key is not an error.

        For blobs and for cleaning up; records change only through the CAS methods.
        Raises ``StorageError`` when the backend refuses.
        """
        ...


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
