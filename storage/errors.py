"""Errors raised at the storage boundary; backend errors (boto's ClientError, OSError) stop here."""

from __future__ import annotations


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
