"""Read zip and nupkg files safely: structure checks the zipfile module does not make.

The central directory is the truth for names and sizes; every local header must agree
with it and no two entries' bytes may overlap (the overlapping-entries zip bomb).
Extraction writes directories first, then files from a few threads, then links.
"""

from __future__ import annotations

import os
import stat
import zipfile
from array import array
from pathlib import Path
from urllib.parse import unquote

from packer.archive.pool import OrderedPool, default_workers
from packer.archive.rules import ArchiveEntry, ArchiveInfo, EntryChecker, Limits, normalize_name
from packer.archive.rules import refuse as refuse_entry
from packer.archive.safe_write import SafeWriter, write_new_file
from packer.archive.zip.data import ZIP_ERRORS, Member, member_chunks, open_member
from packer.archive.zip.directory import (
    MAX_CENTRAL_DIRECTORY,
    CentralDirectory,
    check_spans,
    read_central_directory,
    read_local_headers,
)
from packer.archive.zip.verify import check_descriptors, verify_members
from packer.model.errors import UnsafeArchive
from packer.model.nuspec import parse_nuspec

__all__ = ["MAX_CENTRAL_DIRECTORY", "ZipReader", "is_opc_part"]

MAX_SYMLINK_TARGET = 4096
BACKLOG_PER_WORKER = 4  # batches waiting per thread
BATCH_FILES = 64
BATCH_BYTES = 4 << 20
_METHODS = {0: "stored", 8: "deflate", 9: "deflate64", 12: "bzip2", 14: "lzma"}
_OPC_PREFIXES = ("_rels/", "package/")


class ZipReader:
    """Validate a zip (or nupkg) and, once valid, write its entries through a SafeWriter."""

    def __init__(self, path: Path, fmt: str, limits: Limits) -> None:
        """Prepare to read `path` as `fmt` ("zip" or "nupkg")."""
        self.path = path
        self.fmt = fmt
        self.limits = limits
        self.workers = default_workers()
        self._entries: list[ArchiveEntry] = []
        # Where each validated entry's data is, aligned with `_entries`.
        self._starts = array("Q")
        self._csizes = array("Q")
        self._crcs = array("L")
        self._methods = array("H")

    def inspect(self, verify_data: bool = True) -> ArchiveInfo:
        """Check the structure and every entry without writing anything.

        With `verify_data` every file entry is also decoded (and thrown away): its CRC-32
        and its real inflated size are checked, as the feed needs on push. Extraction skips that pass, since writing checks the same while it decodes.
        """
        checker = EntryChecker(self.limits, self.path.stat().st_size)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            directory = self._directory(fd, checker)
            disagreement = read_local_headers(fd, directory)
            check_spans(directory)
            for index in range(len(directory)):
                if disagreement is not None and disagreement[0] == index:
                    raise disagreement[1]
                entry = self._entry(fd, directory, index)
                if entry is not None:
                    checker.add(entry)
                    self._starts.append(directory.starts[index])
                    self._csizes.append(directory.csizes[index])
                    self._crcs.append(directory.crcs[index])
                    self._methods.append(directory.methods[index])
            check_descriptors(fd, directory)  # one small read per flagged entry
            del directory
            checker.finish()
            result = ArchiveInfo(
                self.fmt, checker.entries, checker.total, warnings=checker.warnings
            )
            self._entries = checker.entries
            if verify_data:
                files = (i for i, e in enumerate(self._entries) if e.kind == "file")
                verify_members(fd, self.path, map(self._member, files))
            if self.fmt == "nupkg":
                self._read_nuspec(fd, result)
        finally:
            os.close(fd)
        self._entries = checker.entries
        return result

    def extract(self, writer: SafeWriter, skip_opc: bool) -> None:
        """Write every validated entry: folders first, files in parallel, links last.

        A folder that cannot be made fails the extraction only after the files before it
        in the archive are written, exactly as a serial extraction would.
        """
        skip = skip_opc and self.fmt == "nupkg"
        chosen = [
            index
            for index, entry in enumerate(self._entries)
            if not (skip and is_opc_part(entry.name))
        ]
        failure: Exception | None = None
        for position, index in enumerate(chosen):
            entry = self._entries[index]
            try:
                if entry.kind == "dir":
                    writer.make_dir(entry)
                else:
                    writer.ensure_parent(entry.name)
            except (OSError, UnsafeArchive) as error:
                failure = error
                del chosen[position:]
                break
            if entry.kind == "symlink":
                writer.add_symlink(entry)
        self._write_files(writer, chosen)
        if failure is not None:
            raise failure

    def _write_files(self, writer: SafeWriter, chosen: list[int]) -> None:
        """Write the chosen file entries from a few threads; raise the first failure.

        Files go in batches of one folder each, so two threads seldom create files in the
        same folder at once (the kernel serialises that) and the pool costs little per file.
        """
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            with OrderedPool(self.workers, self.workers * BACKLOG_PER_WORKER) as pool:
                batch: list[int] = []
                folder, size = "", 0
                for index in chosen:
                    entry = self._entries[index]
                    if entry.kind != "file":
                        continue
                    parent = entry.name.rpartition("/")[0]
                    if batch and (
                        parent != folder or len(batch) >= BATCH_FILES or size > BATCH_BYTES
                    ):
                        pool.submit(self._write_batch, writer, fd, batch)
                        batch, size = [], 0
                    batch.append(index)
                    folder, size = parent, size + entry.size
                if batch:
                    pool.submit(self._write_batch, writer, fd, batch)
                pool.wait()
        finally:
            os.close(fd)

    def _write_batch(self, writer: SafeWriter, fd: int, batch: list[int]) -> None:
        """Write some file entries in archive order (runs on a pool thread)."""
        for index in batch:
            self._write_member(writer, fd, index)

    def _write_member(self, writer: SafeWriter, fd: int, index: int) -> None:
        """Write one file entry, trusting no declared size."""
        chunks = member_chunks(fd, self.path, self._member(index))
        write_new_file(writer.root_fd, self._entries[index], chunks, writer.umask)

    def _member(self, index: int) -> Member:
        """Return where a validated entry's data is and what its headers promise."""
        entry = self._entries[index]
        return Member(
            entry.name,
            entry.size,
            self._starts[index],
            self._csizes[index],
            self._crcs[index],
            self._methods[index],
        )

    def _directory(self, fd: int, checker: EntryChecker) -> CentralDirectory:
        """Read the central directory, refusing a declared entry count over the limit first."""
        try:
            with open(fd, "rb", closefd=False) as raw:
                end = zipfile._EndRecData(raw)  # type: ignore[attr-defined]
            if end is None:
                raise zipfile.BadZipFile("no end of central directory record")
            checker.check_count(end[zipfile._ECD_ENTRIES_TOTAL])  # type: ignore[attr-defined]
            directory_size = end[zipfile._ECD_SIZE]  # type: ignore[attr-defined]
            if directory_size > MAX_CENTRAL_DIRECTORY:
                raise UnsafeArchive(
                    f"{self.path.name}: central directory of {directory_size} bytes is over "
                    f"the limit of {MAX_CENTRAL_DIRECTORY} bytes"
                )
            return read_central_directory(fd, end)
        except ZIP_ERRORS as error:
            raise UnsafeArchive(
                f"{self.path.name} is not a valid zip archive (truncated or corrupt): {error}"
            ) from None

    def _entry(self, fd: int, directory: CentralDirectory, index: int) -> ArchiveEntry | None:
        """Turn a central directory record into an entry, refusing what cannot be extracted."""
        raw = directory.names[index]
        name = normalize_name(raw)
        if self.fmt == "nupkg" and name is not None and "%" in name:
            name = normalize_name(unquote(name))
        if name is None:
            return None
        if directory.flags[index] & 0x1:
            raise refuse_entry(raw, "encrypted entries are not supported")
        method = directory.methods[index]
        if method not in _METHODS:
            raise refuse_entry(raw, f"unsupported compression method {method}")
        unix = directory.modes[index]
        kind = _kind(raw, unix)
        mode = unix & 0o7777 or (0o755 if kind == "dir" else 0o644)
        size = directory.usizes[index] if kind == "file" else 0
        target = self._symlink_target(fd, directory, index) if kind == "symlink" else None
        return ArchiveEntry(name, kind, size, mode, directory.mtimes[index], target)

    def _symlink_target(self, fd: int, directory: CentralDirectory, index: int) -> str:
        """Read a unix symlink's target (its data), bounded in size."""
        raw = directory.names[index]
        if directory.usizes[index] > MAX_SYMLINK_TARGET:
            raise refuse_entry(raw, f"symlink target longer than {MAX_SYMLINK_TARGET} bytes")
        member = Member(
            raw,
            directory.usizes[index],
            directory.starts[index],
            directory.csizes[index],
            directory.crcs[index],
            directory.methods[index],
        )
        try:
            with open(fd, "rb", closefd=False) as stream:
                with open_member(stream, member) as opened:
                    data = opened.read(MAX_SYMLINK_TARGET + 1)
        except ZIP_ERRORS as error:
            raise UnsafeArchive(
                f"symlink {raw!r} of {self.path.name} is corrupt: {error}"
            ) from None
        return data.decode("utf-8", "surrogateescape")

    def _read_nuspec(self, fd: int, result: ArchiveInfo) -> None:
        """Find the one root .nuspec of a nupkg and parse it with the size cap."""
        found = [
            index
            for index, entry in enumerate(result.entries)
            if entry.kind == "file" and "/" not in entry.name and _is_nuspec(entry.name)
        ]
        if not found:
            raise UnsafeArchive(f"{self.path.name} has no .nuspec at its root (a nupkg needs one)")
        if len(found) > 1:
            names = ", ".join(repr(result.entries[index].name) for index in found)
            raise UnsafeArchive(f"{self.path.name} has more than one .nuspec at its root: {names}")
        index = found[0]
        entry = result.entries[index]
        cap = self.limits.max_nuspec_bytes
        if entry.size > cap:
            raise UnsafeArchive(f"nuspec {entry.name!r} is {entry.size} bytes, over {cap}")
        self._entries = result.entries
        member = self._member(index)
        try:
            with open(fd, "rb", closefd=False) as raw, open_member(raw, member) as opened:
                data = opened.read(cap + 1)
        except ZIP_ERRORS as error:
            raise UnsafeArchive(f"nuspec {entry.name!r} is corrupt: {error}") from None
        try:
            result.nuspec = parse_nuspec(data, cap)
        except UnsafeArchive as error:  # a DTD, entities, oversize: say which file
            raise refuse_entry(entry.name, str(error)) from None
        result.nuspec_name = entry.name


def is_opc_part(name: str) -> bool:
    """True for the nupkg packaging parts NuGet never extracts (rels, psmdcp, content types)."""
    folded = name.casefold()
    return (
        folded.startswith(_OPC_PREFIXES)
        or folded in ("_rels", "package", "[content_types].xml")
        or ("/" not in folded and _is_nuspec(folded))
    )


def _is_nuspec(name: str) -> bool:
    """True for a name ending in .nuspec (any case)."""
    return name.casefold().endswith(".nuspec")


def _kind(raw: str, unix: int) -> str:
    """Return file, dir or symlink from the name and unix mode; refuse devices and FIFOs."""
    fmt = stat.S_IFMT(unix)
    if fmt == stat.S_IFLNK:
        return "symlink"
    if fmt in (stat.S_IFCHR, stat.S_IFBLK):
        raise refuse_entry(raw, "device files are not allowed")
    if fmt == stat.S_IFIFO:
        raise refuse_entry(raw, "FIFOs (named pipes) are not allowed")
    if fmt == stat.S_IFSOCK:
        raise refuse_entry(raw, "sockets are not allowed")
    if raw.endswith("/") or fmt == stat.S_IFDIR:
        return "dir"
    return "file"
