"""Read tar, tar.gz and tar.bz2 safely, streaming: one pass to validate, one to extract.

Sizes and the ratio are checked as headers arrive, so a bomb is refused as soon as it
crosses a limit rather than after decompressing everything.
"""

from __future__ import annotations

import bz2
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

try:  # ISA-L inflates gzip two to three times faster than zlib, with the same checks
    from isal.igzip import GzipFile
    from isal.igzip_lib import IsalError
except ImportError:  # pragma: no cover - isal is a declared dependency
    from gzip import GzipFile

    IsalError = zlib.error  # type: ignore[misc,assignment]

from packer.archive.rules import ArchiveEntry, ArchiveInfo, EntryChecker, Limits, normalize_name
from packer.archive.rules import refuse as refuse_entry
from packer.archive.safe_write import SafeWriter
from packer.model.errors import OperationFailed, UnsafeArchive
from packer.model.formats import archive_format

CHUNK = 1 << 20
MAX_TRAILING_BYTES = 1 << 20  # after the end-of-archive block: record padding, nothing more
MAX_META_BYTES = 1 << 20  # pax and GNU long-name headers, which tarfile reads into memory
MAX_META_CHAIN = 8  # extended headers in a row before one member (pax, GNU name, link...)
_META_TYPES = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)
_TAR_ERRORS = (tarfile.TarError, zlib.error, IsalError, EOFError, OSError, ValueError)


class TarReader:
    """Validate a tar stream and, once valid, stream its entries into a SafeWriter."""

    def __init__(self, path: Path, fmt: str, limits: Limits) -> None:
        """Prepare to read `path` as `fmt` ("tar", "tar.gz" or "tar.bz2")."""
        self.path = path
        self.fmt = fmt
        self.limits = limits

    def inspect(self, verify_data: bool = True) -> ArchiveInfo:
        """Check every member header without writing anything; stop at the first broken rule.

        One pass decompresses the whole stream either way (checking the gzip or bzip2 CRC at
        its end), so `verify_data` changes nothing here; it exists for the zip reader.
        """
        checker = EntryChecker(self.limits, self.path.stat().st_size)
        for member, entry in self._members(checker):
            if entry is not None:
                checker.add(entry)
            del member
        checker.finish()
        return ArchiveInfo(self.fmt, checker.entries, checker.total, warnings=checker.warnings)

    def extract(self, info: ArchiveInfo, writer: SafeWriter) -> None:
        """Stream the validated entries into the writer in a second pass."""
        expected = iter(info.entries)
        total = 0
        with self._open() as archive:
            for member, entry in self._iterate(archive, None):
                if entry is None:
                    continue
                validated = next(expected, None)
                if validated is None or (validated.name, validated.kind) != (
                    entry.name,
                    entry.kind,
                ):
                    raise OperationFailed(
                        f"{self.path.name} changed between validation and extraction"
                    )
                entry = validated
                if entry.kind == "dir":
                    writer.make_dir(entry)
                elif entry.kind == "symlink":
                    writer.add_symlink(entry)
                elif entry.kind == "hardlink":
                    total += writer.copy_file(entry, normalize_name(entry.link_target or "") or "")
                else:
                    chunks = self._chunks(archive, member, entry, total)
                    total += writer.write_file(entry, chunks)

    def _members(
        self, checker: EntryChecker
    ) -> Iterator[tuple[tarfile.TarInfo, ArchiveEntry | None]]:
        """Yield the members of one validating pass."""
        with self._open() as archive:
            archive.octopack_checker = checker  # type: ignore[attr-defined]
            yield from self._iterate(archive, checker)

    @contextmanager
    def _open(self) -> Iterator[tarfile.TarFile]:
        """Open the archive as a forward-only stream over a decompressor that checks its CRCs."""
        try:
            with open(self.path, "rb") as raw:
                source: BinaryIO = raw
                compression = archive_format(self.fmt).compression
                if compression == "gzip":
                    source = GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
                elif compression == "bzip2":
                    source = bz2.BZ2File(raw)  # type: ignore[assignment]
                with source:
                    archive = tarfile.open(fileobj=source, mode="r|", tarinfo=_StrictTarInfo)
                    yield archive
                    _drain(source)
        except _TAR_ERRORS as error:
            raise self._corrupt(error) from None

    def _iterate(
        self, archive: tarfile.TarFile, checker: EntryChecker | None
    ) -> Iterator[tuple[tarfile.TarInfo, ArchiveEntry | None]]:
        """Yield (member, entry or None for the root `.`), mapping read errors to ours."""
        count = 0
        while True:
            try:
                member = archive.next()
            except _TAR_ERRORS as error:
                raise self._corrupt(error) from None
            if member is None:
                return
            count += 1
            if checker is not None:
                checker.check_count(count)
            yield member, _entry(member)

    def _chunks(
        self, archive: tarfile.TarFile, member: tarfile.TarInfo, entry: ArchiveEntry, before: int
    ) -> Iterator[bytes]:
        """Yield a member's bytes, stopping when they exceed its declared size or the limit."""
        seen = 0
        try:
            source = archive.extractfile(member)
            if source is None:
                raise refuse_entry(entry.name, "has no data to extract")
            while chunk := source.read(CHUNK):
                seen += len(chunk)
                if seen > member.size:
                    raise refuse_entry(entry.name, "holds more data than its declared size")
                if before + seen > self.limits.max_uncompressed_bytes:
                    raise refuse_entry(entry.name, "uncompressed data exceeds the limit")
                yield chunk
        except _TAR_ERRORS as error:
            raise self._corrupt(error) from None
        if seen != member.size:
            raise refuse_entry(entry.name, f"holds {seen} bytes, not {member.size} as declared")

    def _corrupt(self, error: BaseException) -> UnsafeArchive:
        """Describe a read failure as a corrupt or truncated archive."""
        return UnsafeArchive(
            f"{self.path.name} is not a valid {self.fmt} archive (truncated or corrupt): {error}"
        )


class _StrictTarInfo(tarfile.TarInfo):
    """A header reader that refuses what tarfile quietly takes for the end of the archive.

    tarfile ends the archive at a damaged header or at end of file; we accept only a zero
    block as the end, so a cut or corrupted archive is refused rather than shortened.
    """

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:  # type: ignore[override]
        """Read one header block strictly."""
        offset = tarfile_.fileobj.tell()
        buf = tarfile_.fileobj.read(tarfile.BLOCKSIZE)
        if len(buf) != tarfile.BLOCKSIZE:
            raise tarfile.ReadError(f"unexpected end of data at offset {offset} (no end marker)")
        if buf.count(tarfile.NUL) == tarfile.BLOCKSIZE:
            raise tarfile.EOFHeaderError("end of file header")
        try:
            obj = cls.frombuf(buf, tarfile_.encoding, tarfile_.errors)
        except tarfile.HeaderError as error:
            raise tarfile.ReadError(f"invalid tar header at offset {offset}: {error}") from None
        if obj.type == tarfile.GNUTYPE_SPARSE:
            raise tarfile.ReadError(f"GNU sparse member {obj.name!r} is not supported")
        obj.offset = offset
        if obj.type not in _META_TYPES:
            return obj._proc_member(tarfile_)
        _count_meta(tarfile_, obj.size, offset)
        chain = getattr(tarfile_, "octopack_chain", 0)
        if chain >= MAX_META_CHAIN:
            raise tarfile.ReadError(
                f"more than {MAX_META_CHAIN} extended headers in a row at offset {offset}"
            )
        tarfile_.octopack_chain = chain + 1  # type: ignore[attr-defined]
        try:
            return obj._proc_member(tarfile_)
        finally:
            tarfile_.octopack_chain = chain  # type: ignore[attr-defined]


def _count_meta(archive: tarfile.TarFile, size: int, offset: int) -> None:
    """Refuse one oversized extended header; count every one against the inflation limits.

    pax and GNU long-name headers inflate like data (a 428 KB tar.gz can carry 400 MB of
    them), so their bytes count towards the uncompressed total and the ratio.
    """
    if size > MAX_META_BYTES:
        raise tarfile.ReadError(
            f"extended header at offset {offset} declares {size} bytes "
            f"(more than {MAX_META_BYTES}); refusing to read it into memory"
        )
    checker = getattr(archive, "octopack_checker", None)
    if checker is not None:
        checker.add_bytes(size, f"extended header at offset {offset}")


def _drain(source: BinaryIO) -> None:
    """Read past the end block to the end, so the decompressor checks its trailer CRC."""
    left = MAX_TRAILING_BYTES
    while chunk := source.read(min(CHUNK, left + 1)):
        left -= len(chunk)
        if left < 0:
            raise tarfile.ReadError(
                f"more than {MAX_TRAILING_BYTES} bytes follow the end of the tar archive"
            )


def _entry(member: tarfile.TarInfo) -> ArchiveEntry | None:
    """Turn a tar header into an entry; refuse devices, FIFOs and unknown types."""
    name = normalize_name(member.name)
    if member.ischr() or member.isblk():
        raise refuse_entry(member.name, "device files are not allowed")
    if member.isfifo():
        raise refuse_entry(member.name, "FIFOs (named pipes) are not allowed")
    if name is None:
        if member.isdir():
            return None
        raise refuse_entry(member.name, "a non-directory entry names the root")
    mtime = float(member.mtime)
    if member.isdir():
        return ArchiveEntry(name, "dir", 0, member.mode, mtime)
    if member.issym():
        return ArchiveEntry(name, "symlink", 0, member.mode, mtime, member.linkname)
    if member.islnk():
        return ArchiveEntry(name, "hardlink", 0, member.mode, mtime, member.linkname)
    if member.isreg():
        return ArchiveEntry(name, "file", member.size, member.mode, mtime)
    raise refuse_entry(member.name, f"unsupported tar entry type {member.type!r}")
