"""The directory under a DiskStorage: atomic temp files, directories, per-key locks, walks.

`storage.disk` decides what each Storage operation does; this module knows how to do it
safely on a POSIX file system shared by many processes: write beside the target and
fsync before a rename or link, create parents that a concurrent delete may prune, hold
an ``flock`` per key, and walk the tree in key order without showing internal files.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import os
import stat as stat_module
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import BinaryIO

from storage.errors import NO_SPACE_ERRNOS, StorageError, os_failure
from storage.protocol import RESERVED_PREFIX, ObjectInfo, check_key

COPY_CHUNK = 1024 * 1024
TEMP_PREFIX = RESERVED_PREFIX + "-tmp-"
INTERNAL_DIR = RESERVED_PREFIX
_MKDIR_RETRIES = 10


class DiskTree:
    """Keys as files below `root`; `durable=False` skips every fsync (throw-away stores)."""

    def __init__(self, root: str, durable: bool) -> None:
        self.root = root
        self.durable = durable
        try:
            os.makedirs(os.path.join(root, INTERNAL_DIR, "locks"), exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create storage directory {root!r}: {exc}") from exc

    def path(self, key: str) -> str:
        """The file that holds `key` (checked: a bad key raises InvalidKey)."""
        return os.path.join(self.root, *check_key(key).split("/"))

    def sync_dir(self, directory: str) -> None:
        """Make a rename, link or unlink in `directory` durable (unless not `durable`)."""
        if self.durable:
            _fsync_dir(directory)

    @contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """Hold an exclusive flock on the lock file of `key` (across processes and threads).

        Lock files are never removed: removing one while another process waits on it
        would break the exclusion.
        """
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        lock_dir = os.path.join(self.root, INTERNAL_DIR, "locks", digest[:2])
        try:
            os.makedirs(lock_dir, exist_ok=True)
            fd = os.open(
                os.path.join(lock_dir, digest), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644
            )
        except OSError as exc:
            raise os_failure(f"cannot lock {key!r}", exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def write_temp(
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
        except OSError as exc:
            os.close(fd)
            unlink_quietly(tmp)
            if exc.errno in NO_SPACE_ERRNOS:  # our write ran out of room, not the source
                raise os_failure(f"writing {os.path.relpath(path, self.root)!r}", exc) from exc
            raise
        except BaseException:
            os.close(fd)
            unlink_quietly(tmp)
            raise
        os.close(fd)
        return tmp, st

    def move_in(self, source: str, path: str, mtime_ns: int) -> os.stat_result | None:
        """Rename the complete local file `source` to `path`, fsynced first; None when
        `source` is on another file system (the caller copies instead).

        The file is made readable like a written one (0644, `mtime_ns`) before it appears.
        """
        fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fchmod(fd, 0o644)
            os.utime(fd, ns=(mtime_ns, mtime_ns))
            if self.durable:
                os.fsync(fd)
            st = os.fstat(fd)
        finally:
            os.close(fd)
        directory = os.path.dirname(path)
        for _ in range(_MKDIR_RETRIES):
            self._make_dirs(directory)
            try:
                os.rename(source, path)
            except FileNotFoundError:
                continue  # a concurrent delete pruned the directory: make it again
            except OSError as exc:
                if exc.errno == errno.EXDEV:
                    return None
                if exc.errno == errno.ENOTDIR:
                    raise self._below_an_object(directory) from exc
                raise
            self.sync_dir(directory)
            return st
        raise StorageError(f"directory {directory!r} keeps vanishing while writing to it")

    def prune_dirs(self, directory: str) -> None:
        """Remove empty directories from `directory` up to (not including) the root."""
        while directory != self.root and directory.startswith(self.root + os.sep):
            try:
                os.rmdir(directory)
            except OSError:
                return
            directory = os.path.dirname(directory)

    def walk(self, base: str, key_base: str, name_start: str) -> Iterator[ObjectInfo]:
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
                yield from self.walk(entry.path, key_base + sort_name, "")
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # deleted while listing
            yield object_info(key_base + entry.name, st)

    def os_error(self, operation: str, key: str, exc: OSError) -> StorageError:
        """Our error for an OSError of `operation` on `key`, naming both."""
        if exc.errno in (errno.ENOTDIR, errno.EISDIR):
            return StorageError(f"{operation} {key!r}: a parent or child of the key is an object")
        return os_failure(f"{operation} {key!r} in {self.root!r} failed", exc)

    def _create_temp(self, directory: str, tmp: str) -> int:
        """Create `tmp` exclusively, making its directories; retry if a delete pruned them."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        for _ in range(_MKDIR_RETRIES):
            try:
                return os.open(tmp, flags, 0o644)
            except FileNotFoundError:
                self._make_dirs(directory)
            except NotADirectoryError as exc:
                raise self._below_an_object(directory) from exc
            except OSError as exc:
                where = os.path.relpath(directory, self.root)
                raise os_failure(f"cannot create a file in {where!r}", exc) from exc
        raise StorageError(f"directory {directory!r} keeps vanishing while writing to it")

    def _below_an_object(self, directory: str) -> StorageError:
        """The error for a key whose parent folder is already an object (a file)."""
        where = os.path.relpath(directory, self.root)
        return StorageError(f"cannot write below {where!r}: a parent of the key is an object")

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
        except OSError as exc:
            where = os.path.relpath(directory, self.root)
            raise os_failure(f"cannot create directory {where!r}", exc) from exc
        self.sync_dir(parent)


class LimitedReader(io.RawIOBase):
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


def copy_in_kernel(stream: BinaryIO, fd: int) -> bool:
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


def bytes_writer(data: bytes) -> Callable[[int], None]:
    """A `write_temp` writer that writes all of `data`."""

    def write(fd: int) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    return write


def is_file(st: os.stat_result) -> bool:
    return stat_module.S_ISREG(st.st_mode)


def etag(st: os.stat_result) -> str:
    """``inode-mtime_ns-size`` in hex: every write makes a fresh inode and a newer mtime."""
    return f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"


def object_info(key: str, st: os.stat_result) -> ObjectInfo:
    modified = datetime.fromtimestamp(st.st_mtime_ns / 1e9, tz=UTC)
    return ObjectInfo(key=key, size=st.st_size, etag=etag(st), modified=modified)


def unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


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
