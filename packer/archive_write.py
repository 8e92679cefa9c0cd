"""Write validated entries below one destination directory, and never anywhere else.

Symlinks are created last and directory modes and mtimes applied last, so nothing is ever
written through a link and a read-only directory never blocks its own contents.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable
from pathlib import Path

from packer.archive_rules import ArchiveEntry, refuse
from packer.errors import OperationFailed

_PERMISSION_BITS = 0o777  # never setuid, setgid or sticky
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def file_mode(mode: int) -> int:
    """Return the permission bits a file gets: the archive's, owner-readable and writable."""
    return (mode & _PERMISSION_BITS) | 0o600


def dir_mode(mode: int) -> int:
    """Return the permission bits a directory gets: the archive's, owner rwx."""
    return (mode & _PERMISSION_BITS) | 0o700


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
    """Create files, dirs, links below `root`; the caller deletes `root` when writing fails."""

    def __init__(self, root: Path) -> None:
        """Write below an existing, empty, resolved directory."""
        self.root = root
        self._dirs: list[ArchiveEntry] = []
        self._links: list[ArchiveEntry] = []

    def _target(self, name: str) -> Path:
        """Return where a name goes, creating its parents and checking they stay below root."""
        path = self.root.joinpath(*name.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        real_parent = Path(os.path.realpath(path.parent))
        if not real_parent.is_relative_to(self.root):
            raise refuse(name, "path escapes the destination")
        return path

    def make_dir(self, entry: ArchiveEntry) -> None:
        """Create a directory now; its mode and mtime are applied by `finish`."""
        path = self._target(entry.name)
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise refuse(entry.name, "a directory would replace another entry")
        path.mkdir(exist_ok=True)
        self._dirs.append(entry)

    def write_file(self, entry: ArchiveEntry, chunks: Iterable[bytes]) -> int:
        """Stream chunks into a new file (never an existing one); return the bytes written."""
        path = self._target(entry.name)
        written = 0
        fd = os.open(path, _FILE_FLAGS, 0o600)
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
            out.flush()
            os.fchmod(out.fileno(), file_mode(entry.mode))
            os.utime(out.fileno(), (entry.mtime, entry.mtime))
        return written

    def copy_file(self, entry: ArchiveEntry, source_name: str) -> int:
        """Write a hard link entry as a copy of an earlier extracted regular file."""
        source = self._target(source_name)
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as src:
            if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
                raise refuse(entry.name, f"hard link target {source_name!r} is not a regular file")
            return self.write_file(entry, iter(lambda: src.read(1 << 20), b""))

    def add_symlink(self, entry: ArchiveEntry) -> None:
        """Remember a validated symlink; it is created by `finish`, after every file."""
        self._links.append(entry)

    def finish(self) -> None:
        """Create the symlinks, then apply directory modes and mtimes, deepest first."""
        for entry in self._links:
            path = self._target(entry.name)
            os.symlink(entry.link_target or "", path)
            os.utime(path, (entry.mtime, entry.mtime), follow_symlinks=False)
        for entry in sorted(self._dirs, key=lambda e: e.name.count("/"), reverse=True):
            path = self.root.joinpath(*entry.name.split("/"))
            os.chmod(path, dir_mode(entry.mode), follow_symlinks=False)
            os.utime(path, (entry.mtime, entry.mtime), follow_symlinks=False)


def remove_tree(root: Path) -> None:
    """Delete a partly written destination, making read-only directories writable first."""

    def retry(func, path, _exc):  # type: ignore[no-untyped-def]
        os.chmod(os.path.dirname(path), 0o700)
        func(path)

    shutil.rmtree(root, onerror=retry)
