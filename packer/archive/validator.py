"""Read any supported package archive safely: the one validator, and safe extraction.

Both the feed (on push) and the target (on deploy) call `inspect_archive`; the rules
themselves live in `archive_rules`, the format readers in `archive_zip` / `archive_tar`.
"""

from __future__ import annotations

import os
from pathlib import Path

from packer.archive.rules import ArchiveEntry, ArchiveInfo, Limits
from packer.archive.safe_write import SafeWriter, prepare_destination, remove_tree
from packer.archive.tar.reader import TarReader
from packer.archive.zip.reader import ZipReader, is_opc_part
from packer.model.errors import BadInput, OperationFailed, UnsafeArchive

__all__ = [
    "FORMATS",
    "ArchiveEntry",
    "ArchiveInfo",
    "Limits",
    "detect_format",
    "extract_archive",
    "inspect_archive",
    "is_opc_part",
    "read_package_metadata",
    "remove_tree",
]

FORMATS = ("zip", "nupkg", "tar", "tar.gz", "tar.bz2")
_SUFFIXES = (
    (".tar.gz", "tar.gz"),
    (".tar.bz2", "tar.bz2"),
    (".tgz", "tar.gz"),
    (".tbz", "tar.bz2"),
    (".nupkg", "nupkg"),
    (".zip", "zip"),
    (".tar", "tar"),
)


def detect_format(filename: str | os.PathLike[str]) -> str:
    """Return the archive format a file name's extension says (case-insensitive)."""
    name = os.fspath(filename).casefold()
    for suffix, fmt in _SUFFIXES:
        if name.endswith(suffix):
            return fmt
    expected = ", ".join(suffix for suffix, _ in _SUFFIXES)
    raise BadInput(
        f"cannot tell the archive format of {os.fspath(filename)!r}: expected {expected}"
    )


def inspect_archive(
    path: str | os.PathLike[str], fmt: str | None = None, limits: Limits | None = None
) -> ArchiveInfo:
    """Validate every hostile-input rule without writing; raise UnsafeArchive naming the entry."""
    return _reader(Path(path), fmt, limits or Limits()).inspect()


def read_package_metadata(
    path: str | os.PathLike[str], fmt: str | None = None, limits: Limits | None = None
) -> ArchiveInfo:
    """Validate a package and return what it holds; `.nuspec` is set for a nupkg."""
    return inspect_archive(path, fmt, limits)


def extract_archive(
    path: str | os.PathLike[str],
    fmt: str | os.PathLike[str] | None,
    destination: str | os.PathLike[str] | None = None,
    limits: Limits | None = None,
    skip_opc: bool = True,
) -> ArchiveInfo:
    """Validate, then write every entry below `destination` (absent, or an empty directory).

    Nothing is written when validation refuses the archive. When writing fails part way
    the error is raised and the partial destination is left for the caller to delete
    (`remove_tree`); deploy extracts into a temp directory and renames it on success.
    Also accepts the order `(path, destination, fmt)`. nupkg OPC parts are skipped when
    `skip_opc`.
    """
    fmt, destination = _order(fmt, destination)
    source = Path(path)
    reader = _reader(source, fmt, limits or Limits())
    info = reader.inspect()
    try:
        writer = SafeWriter(prepare_destination(Path(destination)))
        try:
            if isinstance(reader, ZipReader):
                reader.extract(writer, skip_opc)
            else:
                reader.extract(info, writer)
            writer.finish()
        finally:
            writer.close()
    except OSError as error:
        raise OperationFailed(
            f"extracting {source.name} into {os.fspath(destination)} failed: {error}"
        ) from error
    return info


def _order(
    fmt: str | os.PathLike[str] | None, destination: str | os.PathLike[str] | None
) -> tuple[str | None, str | os.PathLike[str]]:
    """Accept both `(fmt, destination)` and `(destination, fmt)` argument orders."""
    if (fmt is not None and fmt not in FORMATS) and (destination is None or destination in FORMATS):
        fmt, destination = destination, fmt
    if destination is None:
        raise BadInput("extract_archive needs a destination directory")
    if fmt is not None and not isinstance(fmt, str):
        raise BadInput(f"unknown archive format {fmt!r}")
    return fmt, destination


def _reader(path: Path, fmt: str | None, limits: Limits) -> ZipReader | TarReader:
    """Check the file and its size, and pick the reader for its format."""
    fmt = fmt or detect_format(path.name)
    if fmt == "tgz":
        fmt = "tar.gz"
    if fmt not in FORMATS:
        raise BadInput(f"unknown archive format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise BadInput(f"package file {str(path)!r} does not exist or is not a file")
    size = path.stat().st_size
    if size > limits.max_package_bytes:
        raise UnsafeArchive(
            f"package {path.name} is {size} bytes, over the limit of {limits.max_package_bytes}"
        )
    if fmt in ("zip", "nupkg"):
        return ZipReader(path, fmt, limits)
    return TarReader(path, fmt, limits)
