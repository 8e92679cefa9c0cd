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
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import os
import shutil
import stat as stat_module
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import BinaryIO

from storage import RESERVED_PREFIX, ObjectInfo, check_key, check_prefix
from storage.errors import (
    ObjectExists,
    ObjectNotFound,
    PreconditionFailed,
    RangeNotSatisfiable,
    StorageError,
)

COPY_CHUNK = 1024 * 1024
TEMP_PREFIX = RESERVED_PREFIX + "-tmp-"
INTERNAL_DIR = RESERVED_PREFIX
_MKDIR_RETRIES = 10


class DiskStorage:
    """A Storage on a local (or shared POSIX) directory."""

    def __init__(self, root: str | os.PathLike[str], *, durable: bool = True) -> None:
        """Open (creating if missing) the store at `root`.

        `durable=False` skips every fsync: only for throw-away stores (tests, benchmarks of
        other parts); atomicity and locking stay the same, crash durability goes.
        """
        self.root = os.path.abspath(os.fspath(root))
        self.durable = durable
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()
        try:
            os.makedirs(os.path.join(self.root, INTERNAL_DIR, "locks"), exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create storage directory {self.root!r}: {exc}") from exc

    def __repr__(self) -> str:
        return f"DiskStorage({self.root!r})"

    # -- blobs -------------------------------------------------------------------------

    def put_blob(self, key: str, stream: BinaryIO) -> ObjectInfo:
        """Stream `stream` into a temp file, fsync it, then rename it to `key`."""
        self._count("put_blob")
        path = self._path(key)

        def write(fd: int) -> None:
            if not _copy_in_kernel(stream, fd):
                with open(fd, "wb", closefd=False) as out:
                    shutil.copyfileobj(stream, out, COPY_CHUNK)

        tmp, st = self._write_temp(path, write, mtime_ns=time.time_ns())
        try:
            os.replace(tmp, path)
        except OSError as exc:
            _unlink_quietly(tmp)
            raise self._os_error("put_blob", key, exc) from exc
        self._sync_dir(os.path.dirname(path))
        return _info(key, st)

    def open_blob(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO:
        """Open bytes `start`..`end` (inclusive, like HTTP Range) of `key` for reading."""
        self._count("open_blob")
        _check_range(start, end)
        path = self._path(key)
        try:
            f = open(path, "rb")  # noqa: SIM115 - the caller closes the stream
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            raise self._os_error("open_blob", key, exc) from exc
        size = os.fstat(f.fileno()).st_size
        if start == 0 and end is None:
            return f
        if start >= size:
            f.close()
            raise RangeNotSatisfiable(key, start, size)
        last = size - 1 if end is None else min(end, size - 1)
        f.seek(start)
        return io.BufferedReader(_LimitedReader(f, last - start + 1), COPY_CHUNK)

    def stat(self, key: str) -> ObjectInfo:
        """Describe `key` without reading it."""
        self._count("stat")
        path = self._path(key)
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            raise self._os_error("stat", key, exc) from exc
        if not _is_file(st):
            raise ObjectNotFound(key, "it is a directory")
        return _info(key, st)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield every object whose key starts with `prefix`, sorted by key."""
        self._count("list")
        check_prefix(prefix)
        directory, _, name_start = prefix.rpartition("/")
        base = os.path.join(self.root, *directory.split("/")) if directory else self.root
        key_base = directory + "/" if directory else ""
        return self._walk(base, key_base, name_start)

    def delete(self, key: str) -> None:
        """Remove `key` if it exists; deleting a missing key is not an error."""
        self._count("delete")
        path = self._path(key)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        except (IsADirectoryError, NotADirectoryError):
            return
        except OSError as exc:
            raise self._os_error("delete", key, exc) from exc
        self._sync_dir(os.path.dirname(path))
        self._prune_dirs(os.path.dirname(path))

    # -- records -----------------------------------------------------------------------

    def create_record(self, key: str, data: bytes) -> str:
        """Create `key` holding `data` unless it exists (then raise ObjectExists)."""
        self._count("create_record")
        path = self._path(key)
        tmp, st = self._write_temp(path, _bytes_writer(data), mtime_ns=time.time_ns())
        try:
            os.link(tmp, path)
        except FileExistsError as exc:
            raise ObjectExists(key) from exc
        except OSError as exc:
            raise self._os_error("create_record", key, exc) from exc
        finally:
            _unlink_quietly(tmp)
        self._sync_dir(os.path.dirname(path))
        return _etag(st)

    def read_record(self, key: str) -> tuple[bytes, str]:
        """Return the bytes of `key` and the etag of exactly those bytes."""
        self._count("read_record")
        path = self._path(key)
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                return f.read(), _etag(st)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            raise self._os_error("read_record", key, exc) from exc

    def replace_record(self, key: str, data: bytes, if_match: str) -> str:
        """Replace `key` with `data` only if its etag is still `if_match`."""
        self._count("replace_record")
        path = self._path(key)
        with self._locked(key):
            old = self._current(key, path, if_match)
            mtime = max(time.time_ns(), old.st_mtime_ns + 1)
            tmp, st = self._write_temp(path, _bytes_writer(data), mtime_ns=mtime)
            try:
                os.replace(tmp, path)
            except OSError as exc:
                _unlink_quietly(tmp)
                raise self._os_error("replace_record", key, exc) from exc
            self._sync_dir(os.path.dirname(path))
        return _etag(st)

    def delete_record(self, key: str, if_match: str) -> None:
        """Delete `key` only if its etag is still `if_match`."""
        self._count("delete_record")
        path = self._path(key)
        with self._locked(key):
            self._current(key, path, if_match)
            try:
                os.unlink(path)
            except FileNotFoundError as exc:
                raise ObjectNotFound(key) from exc
            except OSError as exc:
                raise self._os_error("delete_record", key, exc) from exc
            self._sync_dir(os.path.dirname(path))
        self._prune_dirs(os.path.dirname(path))

    # -- housekeeping ------------------------------------------------------------------

    def sweep_temp_files(self, older_than_seconds: float = 3600.0, now: float | None = None) -> int:
        """Remove temp files a crashed writer left behind; return how many went.

        Only files older than `older_than_seconds` go, so live writers keep theirs.
        """
        removed = 0
        cutoff = (time.time() if now is None else now) - older_than_seconds
        for dirpath, dirnames, filenames in os.walk(self.root):
            if dirpath == self.root and INTERNAL_DIR in dirnames:
                dirnames.remove(INTERNAL_DIR)
            for name in filenames:
                if not name.startswith(TEMP_PREFIX):
                    continue
                full = os.path.join(dirpath, name)
                try:
                    if os.lstat(full).st_mtime < cutoff:
                        os.unlink(full)
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed

    # -- internals ---------------------------------------------------------------------

    def _sync_dir(self, directory: str) -> None:
        if self.durable:
            _fsync_dir(directory)

    def _count(self, operation: str) -> None:
        with self._calls_lock:
            self.calls[operation] += 1

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *check_key(key).split("/"))

    def _current(self, key: str, path: str, if_match: str) -> os.stat_result:
        """Stat the record under its lock and check its etag is `if_match`."""
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        if not _is_file(st):
            raise ObjectNotFound(key, "it is a directory")
        if _etag(st) != if_match:
            raise PreconditionFailed(key, f"expected etag {if_match!r}, found {_etag(st)!r}")
        return st

    @contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        """Hold an exclusive flock on the lock file of `key` (across processes and threads)."""
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        lock_dir = os.path.join(self.root, INTERNAL_DIR, "locks", digest[:2])
        os.makedirs(lock_dir, exist_ok=True)
        fd = os.open(os.path.join(lock_dir, digest), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def _write_temp(
        self, path: str, write: Callable[[int], None], mtime_ns: int
    ) -> tuple[str, os.stat_result]:
        """Write a fsynced temp file beside `path`; return its name and final stat."""
        directory = os.path.dirname(path)
        tmp = os.path.join(directory, f"{TEMP_PREFIX}{uuid.uuid4().hex}")
        fd = self._create_temp(directory, tmp)
        try:
            write(fd)
            os.utime(fd, ns=(mtime_ns, mtime_ns))
            if self.durable:
                os.fsync(fd)
            st = os.fstat(fd)
        except BaseException:
            os.close(fd)
            _unlink_quietly(tmp)
            raise
        os.close(fd)
        return tmp, st

    def _create_temp(self, directory: str, tmp: str) -> int:
        """Create `tmp` exclusively, making its directories; retry if a delete pruned them."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        for _ in range(_MKDIR_RETRIES):
            try:
                return os.open(tmp, flags, 0o644)
            except FileNotFoundError:
                self._make_dirs(directory)
            except NotADirectoryError as exc:
                raise StorageError(
                    f"cannot write below {os.path.relpath(directory, self.root)!r}: "
                    "a parent of the key is an object"
                ) from exc
        raise StorageError(f"directory {directory!r} keeps vanishing while writing to it")

    def _make_dirs(self, directory: str) -> None:
        """Create `directory` and missing parents, fsyncing each parent that gained one."""
        if directory == self.root or os.path.isdir(directory):
            return
        parent = os.path.dirname(directory)
        self._make_dirs(parent)
        try:
            os.mkdir(directory, 0o755)
        except FileExistsError:
            return
        except FileNotFoundError:
            return  # the parent was pruned meanwhile; the caller's retry loop handles it
        except NotADirectoryError as exc:
            raise StorageError(
                f"cannot create directory {os.path.relpath(directory, self.root)!r}: "
                "a parent is an object"
            ) from exc
        self._sync_dir(parent)

    def _prune_dirs(self, directory: str) -> None:
        """Remove empty directories from `directory` up to (not including) the root."""
        while directory != self.root and directory.startswith(self.root + os.sep):
            try:
                os.rmdir(directory)
            except OSError:
                return
            directory = os.path.dirname(directory)

    def _walk(self, base: str, key_base: str, name_start: str) -> Iterator[ObjectInfo]:
        """Yield objects below `base` in key order (a directory sorts as 'name/')."""
        try:
            entries = list(os.scandir(base))
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise StorageError(f"cannot list {key_base or '/'!r}: {exc}") from exc
        children: list[tuple[str, os.DirEntry[str], bool]] = []
        for entry in entries:
            if entry.name.startswith(RESERVED_PREFIX) or not entry.name.startswith(name_start):
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                if not is_dir and not entry.is_file(follow_symlinks=False):
                    continue
            except OSError:
                continue
            children.append((entry.name + "/" if is_dir else entry.name, entry, is_dir))
        children.sort(key=lambda child: child[0])
        for sort_name, entry, is_dir in children:
            if is_dir:
                yield from self._walk(entry.path, key_base + sort_name, "")
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # deleted while listing
            yield _info(key_base + entry.name, st)

    def _os_error(self, operation: str, key: str, exc: OSError) -> StorageError:
        if exc.errno in (errno.ENOTDIR, errno.EISDIR):
            return StorageError(f"{operation} {key!r}: a parent or child of the key is an object")
        return StorageError(f"{operation} {key!r} in {self.root!r} failed: {exc.strerror or exc}")


class _LimitedReader(io.RawIOBase):
    """Read at most `remaining` bytes of a file, then report end of file."""

    def __init__(self, f: BinaryIO, remaining: int) -> None:
        self._f = f
        self._remaining = remaining

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._remaining <= 0:
            return 0
        view = memoryview(buffer)[: self._remaining]
        n = self._f.readinto(view)  # type: ignore[attr-defined]
        self._remaining -= n or 0
        return n or 0

    def close(self) -> None:
        self._f.close()
        super().close()


def _check_range(start: int, end: int | None) -> None:
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"invalid byte range start={start} end={end}")


def _copy_in_kernel(stream: BinaryIO, fd: int) -> bool:
    """Copy a regular file's remaining bytes with copy_file_range (no user-space buffer).

    Return False, having copied nothing, when `stream` is no regular file or the kernel
    cannot copy between these files; the caller then copies through COPY_CHUNK buffers.
    """
    raw = stream.raw if isinstance(stream, io.BufferedReader) else stream
    if not isinstance(raw, io.FileIO) or raw.closed:
        return False  # wrappers (ranges, sockets, S3 bodies) may end before the file does
    source = raw.fileno()
    if not stat_module.S_ISREG(os.fstat(source).st_mode):
        return False  # pipes and sockets cannot tell() where they are
    start = stream.tell()
    offset = start
    while True:
        try:
            copied = os.copy_file_range(source, fd, 64 * COPY_CHUNK, offset)
        except OSError as exc:
            if offset == start and exc.errno in _NO_KERNEL_COPY:
                return False
            raise
        if copied == 0:
            break
        offset += copied
    stream.seek(offset)
    return True


_NO_KERNEL_COPY = {errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF}


def _bytes_writer(data: bytes) -> Callable[[int], None]:
    def write(fd: int) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    return write


def _is_file(st: os.stat_result) -> bool:
    return stat_module.S_ISREG(st.st_mode)


def _etag(st: os.stat_result) -> str:
    return f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"


def _info(key: str, st: os.stat_result) -> ObjectInfo:
    modified = datetime.fromtimestamp(st.st_mtime_ns / 1e9, tz=UTC)
    return ObjectInfo(key=key, size=st.st_size, etag=_etag(st), modified=modified)


def _fsync_dir(directory: str) -> None:
    """Make a rename, link or unlink in `directory` durable."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
