"""Disk backend: one file per key below a root directory, safe for many processes at once.

How each guarantee is kept:

* Nothing half written is visible: every write goes to a temp file ``.octopack-tmp-*`` in
  the key's own directory, is fsynced, then renamed (blobs) or hard-linked (records, so an
  existing key makes ``os.link`` fail: create-if-absent) into place; the directory is
  fsynced after. Temp and lock names start with ``.octopack``, which keys may not, so
  ``list`` never shows them. A crash can leave a stray temp file: ``sweep_temp_files``
  removes old ones.
* Compare-and-swap: ``replace_record``/``delete_record`` hold an exclusive ``flock`` on the
  record's lock file (``.octopack/locks/xx/<sha256 of key>``) around read, compare, write and
  rename, since ``os.replace`` alone is last-writer-wins. Lock files are never removed
  (removing one while another process waits on it would break the exclusion).
* Etags are ``inode-mtime_ns-size`` in hex. A file is never modified in place, every write
  gets a fresh inode and an explicit nanosecond mtime (strictly increasing across replaces
  of one record), so the etag changes on every replace.
* Empty directories are removed after deletes; a writer whose directory vanished between
  ``mkdir`` and creating its temp file simply retries.

This module says what each operation does; ``storage.disk_tree`` holds the file-system
mechanics (temp files, fsync, directories, locks, the sorted walk).
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import BinaryIO

from storage.disk_tree import (
    COPY_CHUNK,
    INTERNAL_DIR,
    TEMP_PREFIX,
    DiskTree,
    LimitedReader,
    bytes_writer,
    copy_in_kernel,
    etag,
    is_file,
    object_info,
    unlink_quietly,
)
from storage.errors import ObjectExists, ObjectNotFound, PreconditionFailed, RangeNotSatisfiable
from storage.protocol import ObjectInfo, check_prefix

__all__ = ["COPY_CHUNK", "DiskStorage"]


class DiskStorage:
    """A Storage on a local (or shared POSIX) directory."""

    def __init__(self, root: str | os.PathLike[str], *, durable: bool = True) -> None:
        """Open (creating if missing) the store at `root`.

        `durable=False` skips every fsync: only for throw-away stores (tests, benchmarks of
        other parts); atomicity and locking stay the same, crash durability goes.
        """
        self._tree = DiskTree(os.path.abspath(os.fspath(root)), durable)
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()

    @property
    def root(self) -> str:
        """The absolute directory holding the store."""
        return self._tree.root

    @property
    def durable(self) -> bool:
        """Whether writes are fsynced."""
        return self._tree.durable

    def __repr__(self) -> str:
        return f"DiskStorage({self.root!r})"

    # -- blobs -------------------------------------------------------------------------

    def put_blob(self, key: str, stream: BinaryIO) -> ObjectInfo:
        """Stream `stream` into a temp file, fsync it, then rename it to `key`."""
        self._count("put_blob")
        path = self._tree.path(key)

        def write(fd: int) -> None:
            if not copy_in_kernel(stream, fd):
                with open(fd, "wb", closefd=False) as out:
                    shutil.copyfileobj(stream, out, COPY_CHUNK)

        tmp, st = self._tree.write_temp(path, write, mtime_ns=time.time_ns())
        try:
            os.replace(tmp, path)
        except OSError as exc:
            unlink_quietly(tmp)
            raise self._tree.os_error("put_blob", key, exc) from exc
        self._tree.sync_dir(os.path.dirname(path))
        return object_info(key, st)

    def put_blob_file(self, key: str, path: str) -> ObjectInfo:
        """Take the local file `path` as `key`: renamed in when on this file system (no copy),
        else copied like `put_blob`. The file is gone from `path` afterwards either way."""
        self._count("put_blob_file")
        target = self._tree.path(key)
        try:
            st = self._tree.move_in(path, target, time.time_ns())
        except OSError as exc:
            raise self._tree.os_error("put_blob_file", key, exc) from exc
        if st is not None:
            return object_info(key, st)
        with open(path, "rb") as stream:
            info = self.put_blob(key, stream)
        unlink_quietly(path)
        return info

    def open_blob(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO:
        """Open bytes `start`..`end` (inclusive, like HTTP Range) of `key` for reading."""
        self._count("open_blob")
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"invalid byte range start={start} end={end}")
        path = self._tree.path(key)
        try:
            f = open(path, "rb")  # noqa: SIM115 - the caller closes the stream
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            raise self._tree.os_error("open_blob", key, exc) from exc
        size = os.fstat(f.fileno()).st_size
        if start == 0 and end is None:
            return f
        if start >= size:
            f.close()
            raise RangeNotSatisfiable(key, start, size)
        last = size - 1 if end is None else min(end, size - 1)
        f.seek(start)
        return io.BufferedReader(LimitedReader(f, last - start + 1), COPY_CHUNK)

    def stat(self, key: str) -> ObjectInfo:
        """Describe `key` without reading it."""
        self._count("stat")
        path = self._tree.path(key)
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            raise self._tree.os_error("stat", key, exc) from exc
        if not is_file(st):
            raise ObjectNotFound(key, "it is a directory")
        return object_info(key, st)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield every object whose key starts with `prefix`, sorted by key."""
        self._count("list")
        check_prefix(prefix)
        directory, _, name_start = prefix.rpartition("/")
        base = os.path.join(self.root, *directory.split("/")) if directory else self.root
        key_base = directory + "/" if directory else ""
        return self._tree.walk(base, key_base, name_start)

    def delete(self, key: str) -> None:
        """Remove `key` if it exists; deleting a missing key is not an error."""
        self._count("delete")
        path = self._tree.path(key)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        except (IsADirectoryError, NotADirectoryError):
            return
        except OSError as exc:
            raise self._tree.os_error("delete", key, exc) from exc
        self._tree.sync_dir(os.path.dirname(path))
        self._tree.prune_dirs(os.path.dirname(path))

    # -- records -----------------------------------------------------------------------

    def create_record(self, key: str, data: bytes) -> str:
        """Create `key` holding `data` unless it exists (then raise ObjectExists)."""
        self._count("create_record")
        path = self._tree.path(key)
        tmp, st = self._tree.write_temp(path, bytes_writer(data), mtime_ns=time.time_ns())
        try:
            os.link(tmp, path)
        except FileExistsError as exc:
            raise ObjectExists(key) from exc
        except OSError as exc:
            raise self._tree.os_error("create_record", key, exc) from exc
        finally:
            unlink_quietly(tmp)
        self._tree.sync_dir(os.path.dirname(path))
        return etag(st)

    def read_record(self, key: str) -> tuple[bytes, str]:
        """Return the bytes of `key` and the etag of exactly those bytes."""
        self._count("read_record")
        path = self._tree.path(key)
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                return f.read(), etag(st)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            raise self._tree.os_error("read_record", key, exc) from exc

    def replace_record(self, key: str, data: bytes, if_match: str) -> str:
        """Replace `key` with `data` only if its etag is still `if_match`."""
        self._count("replace_record")
        path = self._tree.path(key)
        with self._tree.locked(key):
            old = self._current(key, path, if_match)
            mtime = max(time.time_ns(), old.st_mtime_ns + 1)
            tmp, st = self._tree.write_temp(path, bytes_writer(data), mtime_ns=mtime)
            try:
                os.replace(tmp, path)
            except OSError as exc:
                unlink_quietly(tmp)
                raise self._tree.os_error("replace_record", key, exc) from exc
            self._tree.sync_dir(os.path.dirname(path))
        return etag(st)

    def delete_record(self, key: str, if_match: str) -> None:
        """Delete `key` only if its etag is still `if_match`."""
        self._count("delete_record")
        path = self._tree.path(key)
        with self._tree.locked(key):
            self._current(key, path, if_match)
            try:
                os.unlink(path)
            except FileNotFoundError as exc:
                raise ObjectNotFound(key) from exc
            except OSError as exc:
                raise self._tree.os_error("delete_record", key, exc) from exc
            self._tree.sync_dir(os.path.dirname(path))
        self._tree.prune_dirs(os.path.dirname(path))

    # -- housekeeping ------------------------------------------------------------------

    def stale_temp_files(
        self, older_than_seconds: float = 3600.0, now: float | None = None
    ) -> list[str]:
        """Return the temp files (paths relative to the root) older than `older_than_seconds`.

        A crashed writer leaves these; younger ones may belong to a live writer.
        """
        found = []
        cutoff = (time.time() if now is None else now) - older_than_seconds
        for dirpath, dirnames, filenames in os.walk(self.root):
            if dirpath == self.root and INTERNAL_DIR in dirnames:
                dirnames.remove(INTERNAL_DIR)
            for name in sorted(filenames):
                if not name.startswith(TEMP_PREFIX):
                    continue
                full = os.path.join(dirpath, name)
                try:
                    if os.lstat(full).st_mtime <= cutoff:
                        found.append(os.path.relpath(full, self.root))
                except FileNotFoundError:
                    continue
        return found

    def sweep_temp_files(self, older_than_seconds: float = 3600.0, now: float | None = None) -> int:
        """Remove temp files a crashed writer left behind; return how many went.

        Only files older than `older_than_seconds` go, so live writers keep theirs.
        """
        removed = 0
        for relative in self.stale_temp_files(older_than_seconds, now):
            try:
                os.unlink(os.path.join(self.root, relative))
                removed += 1
            except FileNotFoundError:
                continue
        return removed

    # -- internals ---------------------------------------------------------------------

    def _count(self, operation: str) -> None:
        with self._calls_lock:
            self.calls[operation] += 1

    def _current(self, key: str, path: str, if_match: str) -> os.stat_result:
        """Stat the record under its lock and check its etag is `if_match`."""
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        if not is_file(st):
            raise ObjectNotFound(key, "it is a directory")
        if etag(st) != if_match:
            raise PreconditionFailed(key, f"expected etag {if_match!r}, found {etag(st)!r}")
        return st
