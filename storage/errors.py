"""Errors raised at the storage boundary; backend errors (boto's ClientError, OSError) stop here."""

from __future__ import annotations

import errno


class StorageError(Exception):
    """Root of every storage failure; the message names the key or location."""


class ObjectNotFound(StorageError):
    """The key does not exist (or vanished between two calls)."""

    def __init__(self, key: str, detail: str = "") -> None:
        self.key = key
        super().__init__(f"no object at key {key!r}{': ' + detail if detail else ''}")


class ObjectExists(StorageError):
    """A create-if-absent found the key already taken: another writer won."""

    def __init__(self, key: str, detail: str = "") -> None:
        self.key = key
        super().__init__(f"object already exists at key {key!r}{': ' + detail if detail else ''}")


class PreconditionFailed(StorageError):
    """A compare-and-swap found a different etag: someone changed the record first."""

    def __init__(self, key: str, detail: str = "") -> None:
        self.key = key
        super().__init__(
            f"etag precondition failed for key {key!r}{': ' + detail if detail else ''}"
        )


class RangeNotSatisfiable(StorageError):
    """A byte range starts at or beyond the end of the object."""

    def __init__(self, key: str, start: int, size: int | None = None) -> None:
        self.key = key
        self.start = start
        self.size = size
        of = f" of {size} bytes" if size is not None else ""
        super().__init__(f"range start {start} is beyond the end of {key!r}{of}")


class InvalidKey(StorageError, ValueError):
    """A key or location that could escape the store or clash with its internals."""


class StorageFull(StorageError):
    """The store has no room: a full disk or quota (ENOSPC, EDQUOT) or an S3 size/quota limit.

    Retrying soon does not help; an operator must free space or raise the quota.
    """


class StorageDenied(StorageError):
    """The store refuses us: file permissions, a read-only disk, or S3 AccessDenied."""


NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
DENIED_ERRNOS = frozenset({errno.EPERM, errno.EACCES, errno.EROFS})


def os_failure(message: str, exc: OSError) -> StorageError:
    """Our error for an OSError: StorageFull or StorageDenied when the errno says so."""
    text = f"{message}: {exc.strerror or exc}"
    if exc.errno in NO_SPACE_ERRNOS:
        return StorageFull(text)
    if exc.errno in DENIED_ERRNOS:
        return StorageDenied(text)
    return StorageError(text)
