"""Write validated entries below one destination directory, and never anywhere else.

Symlinks are created last and directory modes and mtimes applied last, so nothing is ever
written through a link and a read-only directory never blocks its own contents. Names are
opened relative to a descriptor of the destination, so no per-file path resolution or
realpath is needed. `remove_tree` is the one way octopack deletes a tree (a failed
extraction, target retention): iterative and descriptor-relative, so depth never matters.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packer.archive.rules import ArchiveEntry, refuse
from packer.model.errors import OperationFailed
from packer.model.progress import Progress

_KEPT_BITS = 0o755  # never setuid, setgid or sticky; never group or other write
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC


def file_mode(mode: int) -> int:
    """Return the permission bits a file gets from an archive's mode (docs/security.md).

    The owner may always read and write; execute and read bits are kept as the archive
    says; setuid, setgid, sticky and group or other write are dropped, so no other local
    user can change a release: 0o6777 -> 0o755, 0o666 -> 0o644, 0o600 stays 0o600.
    """
    return (mode & _KEPT_BITS) | 0o600


def dir_mode(mode: int) -> int:
    """Return the permission bits a directory gets: as a file's, with owner rwx."""
    return (mode & _KEPT_BITS) | 0o700


def prepare_destination(destination: Path) -> Path:
    """Create the destination, or accept it when it is an empty directory; return it resolved."""
    if destination.is_symlink() or (destination.exists() and not destination.is_dir()):
        raise OperationFailed(f"extraction destination {destination} is not a directory")
    if destination.exists():
        with os.scandir(destination) as found:
            if next(found, None) is not None:
                raise OperationFailed(f"extraction destination {destination} is not empty")
    else:
        destination.mkdir(parents=True)
    return destination.resolve()


class SafeWriter:
    """Create files, dirs, links below `root`; the caller deletes `root` when writing fails.

    Every call works relative to one descriptor of `root`, with names the rules already
    accepted (relative, no `..`, no entry below a link or a file). Nothing follows a final
    symlink (O_NOFOLLOW, O_EXCL), and links are only made by `finish`, after all else, so
    no write can pass through one. Files may be written from several threads at once once
    their directories exist (`ensure_parent`).
    """

    def __init__(self, root: Path, progress: Progress | None = None) -> None:
        """Write below an existing, empty, resolved directory; `progress` hears bytes written."""
        self.root = root
        self._progress = progress
        self._written = 0
        self._written_lock = threading.Lock()  # files may be written from several threads
        self.root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC)
        self.umask = current_umask()
        self._made: set[str] = set()  # folders that exist below root (made by us)
        self._dirs: list[ArchiveEntry] = []
        self._links: list[ArchiveEntry] = []

    def close(self) -> None:
        """Release the root descriptor (idempotent)."""
        if self.root_fd >= 0:
            os.close(self.root_fd)
            self.root_fd = -1

    def ensure_parent(self, name: str) -> None:
        """Create the folders above `name` that do not exist yet, shallowest first."""
        parent = name.rpartition("/")[0]
        if not parent or parent in self._made:
            return
        missing = []
        while parent and parent not in self._made:
            missing.append(parent)
            parent = parent.rpartition("/")[0]
        for folder in reversed(missing):
            try:
                os.mkdir(folder, 0o777, dir_fd=self.root_fd)
            except FileExistsError:
                if not stat.S_ISDIR(
                    os.stat(folder, dir_fd=self.root_fd, follow_symlinks=False).st_mode
                ):
                    raise
            self._made.add(folder)

    def make_dir(self, entry: ArchiveEntry) -> None:
        """Create a directory now; its mode and mtime are applied by `finish`."""
        self.ensure_parent(entry.name)
        if entry.name not in self._made:
            try:
                os.mkdir(entry.name, 0o777, dir_fd=self.root_fd)
            except FileExistsError:
                found = os.stat(entry.name, dir_fd=self.root_fd, follow_symlinks=False)
                if not stat.S_ISDIR(found.st_mode):
                    raise refuse(entry.name, "a directory would replace another entry") from None
            self._made.add(entry.name)
        self._dirs.append(entry)

    def write_file(self, entry: ArchiveEntry, chunks: Iterable[bytes]) -> int:
        """Stream chunks into a new file (never an existing one); return the bytes written."""
        self.ensure_parent(entry.name)
        size = write_new_file(self.root_fd, entry, chunks, self.umask)
        if self._progress is not None:
            with self._written_lock:
                self._written += size
                self._progress(self._written, None)
        return size

    def copy_file(self, entry: ArchiveEntry, source_name: str) -> int:
        """Write a hard link entry as a copy of an earlier extracted regular file."""
        fd = os.open(source_name, os.O_RDONLY | os.O_NOFOLLOW | _CLOEXEC, dir_fd=self.root_fd)
        with os.fdopen(fd, "rb") as src:
            if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
                raise refuse(entry.name, f"hard link target {source_name!r} is not a regular file")
            return self.write_file(entry, iter(lambda: src.read(1 << 20), b""))

    def add_symlink(self, entry: ArchiveEntry) -> None:
        """Remember a validated symlink; it is created by `finish`, after every file."""
        self._links.append(entry)

    def finish(self) -> None:
        """Create the symlinks, then apply directory modes and mtimes, deepest first."""
        root_fd = self.root_fd
        for entry in self._links:
            self.ensure_parent(entry.name)
            os.symlink(entry.link_target or "", entry.name, dir_fd=root_fd)
            times = (entry.mtime, entry.mtime)
            os.utime(entry.name, times, dir_fd=root_fd, follow_symlinks=False)
        for entry in sorted(self._dirs, key=lambda e: e.name.count("/"), reverse=True):
            os.chmod(entry.name, dir_mode(entry.mode), dir_fd=root_fd, follow_symlinks=False)
            times = (entry.mtime, entry.mtime)
            os.utime(entry.name, times, dir_fd=root_fd, follow_symlinks=False)


def write_new_file(
    root_fd: int, entry: ArchiveEntry, chunks: Iterable[bytes], umask: int | None = None
) -> int:
    """Create `entry.name` below `root_fd` (never an existing file or a link) from chunks.

    One open, the writes, futimens, close, and fchmod only when the process `umask` (None:
    unknown) would change the mode. Safe to call from several threads once the parent
    folders exist.
    """
    mode = file_mode(entry.mode)
    fd = os.open(entry.name, _FILE_FLAGS, mode, dir_fd=root_fd)
    try:
        written = 0
        for chunk in chunks:
            written += _write_all(fd, chunk)
        if umask is None or mode & umask:
            os.fchmod(fd, mode)
        os.utime(fd, (entry.mtime, entry.mtime))
    finally:
        os.close(fd)
    return written


def current_umask() -> int | None:
    """Return the process umask without changing it (Linux /proc), or None when unknown."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        return None
    return None


def _write_all(fd: int, chunk: bytes) -> int:
    """Write a whole chunk (os.write may write less); return its length."""
    done = os.write(fd, chunk)
    if done < len(chunk):
        view = memoryview(chunk)
        while done < len(chunk):
            done += os.write(fd, view[done:])
    return len(chunk)


def remove_tree(root: Path) -> None:
    """Delete `root` and everything below it, at any depth, never following a symlink.

    Iterative and relative to directory descriptors, so neither Python's recursion limit
    nor PATH_MAX bounds the depth, and one descriptor is open per step rather than per
    level. Directories we cannot write or read are made owner-rwx first (a release may
    carry read-only folders). A symlink or file at `root` is unlinked, not followed.
    """
    parent_fd = os.open(root.parent, _DIR_FLAGS)
    try:
        found = os.stat(root.name, dir_fd=parent_fd, follow_symlinks=False)
        if not stat.S_ISDIR(found.st_mode):
            os.unlink(root.name, dir_fd=parent_fd)
            return
        _remove_directory(parent_fd, root.name)
    finally:
        os.close(parent_fd)


@dataclass
class _Level:
    """One directory on the way down: its identity and the subfolders still to remove."""

    name: str
    identity: tuple[int, int]
    pending: list[str]


def _remove_directory(parent_fd: int, name: str) -> None:
    """Empty and remove directory `name` of `parent_fd`, depth-first with an explicit stack."""
    fd = _open_dir(parent_fd, name)
    stack = [_Level(name, _identity(fd), _unlink_files(fd))]
    try:
        while stack:
            level = stack[-1]
            if level.pending:
                child = level.pending.pop()
                child_fd = _open_dir(fd, child)
                os.close(fd)
                fd = child_fd
                stack.append(_Level(child, _identity(fd), _unlink_files(fd)))
                continue
            stack.pop()
            up_fd = os.open("..", _DIR_FLAGS, dir_fd=fd) if stack else os.dup(parent_fd)
            os.close(fd)
            fd = up_fd
            if stack and _identity(fd) != stack[-1].identity:
                raise OSError(f"{level.name!r} was moved while it was being removed")
            os.rmdir(level.name, dir_fd=fd)
    finally:
        os.close(fd)


def _open_dir(parent_fd: int, name: str) -> int:
    """Open a subdirectory without following links; make it owner-rwx when it is not."""
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except PermissionError:
        if not stat.S_ISDIR(os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode):
            raise
        os.chmod(name, 0o700, dir_fd=parent_fd)
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    if os.fstat(fd).st_mode & 0o700 != 0o700:
        os.fchmod(fd, 0o700)
    return fd


def _unlink_files(fd: int) -> list[str]:
    """Unlink every non-directory in the open directory; return the subdirectory names."""
    folders = []
    with os.scandir(fd) as found:
        for entry in found:
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.name)
            else:
                try:
                    os.unlink(entry.name, dir_fd=fd)
                except FileNotFoundError:
                    pass
    return folders


def _identity(fd: int) -> tuple[int, int]:
    """Return (device, inode) of an open directory."""
    found = os.fstat(fd)
    return found.st_dev, found.st_ino
