"""Small documents in storage changed only by create-if-absent and compare-and-swap.

Every record kind of the feed (package records, keys, the retention policy, pins, the
lease, audit entries, the generation marker) goes through `JsonRecords`, so there is one
retry loop and one retry limit. A kind brings its own `Codec`, which keeps the bytes
each kind stores exactly as they were.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from feed.core.errors import PackageConflict
from feed.core.parallel import read_all
from storage import ObjectExists, ObjectInfo, ObjectNotFound, PreconditionFailed, Storage

CAS_ATTEMPTS = 32  # each round lets one contender through, so 32 writers all finish

T = TypeVar("T")


@dataclass(frozen=True)
class Codec(Generic[T]):
    """How one record kind turns into stored bytes and back."""

    encode: Callable[[T], bytes]
    decode: Callable[[bytes], T]


def json_codec(indent: int | None = None, sort_keys: bool = False) -> Codec[Any]:
    """Return a codec of plain JSON documents written with these `json.dumps` settings."""
    return Codec(
        lambda document: json.dumps(document, indent=indent, sort_keys=sort_keys).encode("utf-8"),
        json.loads,
    )


RAW: Codec[bytes] = Codec(bytes, bytes)  # opaque contents (the generation marker)


@dataclass(frozen=True)
class Versioned(Generic[T]):
    """A record's value with the etag a compare-and-swap needs."""

    value: T
    etag: str


@dataclass(frozen=True)
class Swapped(Generic[T]):
    """The outcome of `update`: the value written, its etag and what it replaced."""

    value: T
    etag: str
    previous: T | None


class JsonRecords(Generic[T]):
    """Records of one kind over a Storage: read with etag, create, swap, delete."""

    def __init__(self, storage: Storage, codec: Codec[T]) -> None:
        self._storage = storage
        self.codec = codec

    def read(self, key: str) -> Versioned[T] | None:
        """Return a record with its etag, or None when it does not exist."""
        try:
            data, etag = self._storage.read_record(key)
        except ObjectNotFound:
            return None
        return Versioned(self.codec.decode(data), etag)

    def etag(self, key: str) -> str | None:
        """Return a record's current etag without reading it (a stat), or None when absent."""
        try:
            return self._storage.stat(key).etag
        except ObjectNotFound:
            return None

    def create(self, key: str, value: T) -> str | None:
        """Create a record if absent; return its etag, or None when it already exists."""
        try:
            return self._storage.create_record(key, self.codec.encode(value))
        except ObjectExists:
            return None

    def replace(self, key: str, value: T, etag: str) -> str | None:
        """Replace a record that still has `etag`; None when it changed or is gone."""
        try:
            return self._storage.replace_record(key, self.codec.encode(value), if_match=etag)
        except (PreconditionFailed, ObjectNotFound):
            return None

    def delete(self, key: str, etag: str) -> bool:
        """Delete a record that still has `etag`; False when it changed or is gone."""
        try:
            self._storage.delete_record(key, if_match=etag)
        except (PreconditionFailed, ObjectNotFound):
            return False
        return True

    def update(self, key: str, change: Callable[[T | None], T], conflict: str) -> Swapped[T]:
        """Write `change(current)` (current None when absent) by compare-and-swap.

        `change` is called again after every lost race and may raise to stop; after
        CAS_ATTEMPTS lost races PackageConflict(`conflict`) is raised.
        """
        current = self.read(key)
        for _ in range(CAS_ATTEMPTS):
            previous = current.value if current is not None else None
            value = change(previous)
            if current is None:
                etag = self.create(key, value)
            else:
                etag = self.replace(key, value, current.etag)
            if etag is not None:
                return Swapped(value, etag, previous)
            current = self.read(key)
        raise PackageConflict(conflict)

    def remove(self, key: str, conflict: str) -> T | None:
        """Delete a record whatever it holds; return what it held, None when it was absent."""
        for _ in range(CAS_ATTEMPTS):
            current = self.read(key)
            if current is None:
                return None
            if self.delete(key, current.etag):
                return current.value
        raise PackageConflict(conflict)

    def listing(self, prefix: str) -> Iterator[ObjectInfo]:
        """Yield what storage lists below a prefix, in key order (records and other objects)."""
        return self._storage.list(prefix)

    def values(self, prefix: str) -> Iterator[Versioned[T]]:
        """Yield every record below a prefix (read in parallel), skipping ones removed since."""
        keys = [info.key for info in self._storage.list(prefix)]
        for found in read_all(self.read, keys):
            if found is not None:
                yield found
