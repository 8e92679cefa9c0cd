"""Read any supported package archive safely: the one validator, and safe extraction.

Both the feed (on push) and the target (on deploy) call `inspect_archive`; the rules
themselves live in `rules`, the format readers in `zip/` and `tar/`; which reader reads
which format is the `family` column of `packer.model.formats`.
"""

from __future__ import annotations

import os
from pathlib import Path

from packer.archive.folding import folds_names, refuse_collisions
from packer.archive.rules import NAME_COLLISION, ArchiveEntry, ArchiveInfo, ArchiveWarning, Limits
from packer.archive.safe_write import SafeWriter, prepare_destination, remove_tree
from packer.archive.tar.reader import TarReader
from packer.archive.zip.reader import ZipReader, is_opc_part
from packer.model.errors import BadInput, OperationFailed, UnsafeArchive
from packer.model.formats import FORMAT_BY_EXTENSION, archive_format, detect_format
from packer.model.progress import ProgressFactory, no_progress

__all__ = [
    "NAME_COLLISION",
    "ArchiveEntry",
    "ArchiveInfo",
    "ArchiveWarning",
    "Limits",
    "detect_format",
    "extract_archive",
    "folds_names",
    "inspect_archive",
    "is_opc_part",
    "read_package_metadata",
    "remove_tree",
]


def inspect_archive(
    path: str | os.PathLike[str], fmt: str | None = None, limits: Limits | None = None
) -> ArchiveInfo:
    """Validate every hostile-input rule without writing; raise UnsafeArchive naming the entry.

    Full strength: every entry's data is decoded once, so a bad CRC-32 or data that
    inflates past (or short of) its declared size is refused here, not first on a target.
    """
    return _reader(Path(path), fmt, limits or Limits()).inspect(verify_data=True)


def read_package_metadata(
    path: str | os.PathLike[str], fmt: str | None = None, limits: Limits | None = None
) -> ArchiveInfo:
    """Check every rule the headers show and return what the package holds (`.nuspec` for a
    nupkg), without decoding each entry's data: for a caller that extracts next, since
    extraction checks the data as it writes (a target learning a file's id and version).
    """
    return _reader(Path(path), fmt, limits or Limits()).inspect(verify_data=False)


def extract_archive(
    path: str | os.PathLike[str],
    fmt: str | os.PathLike[str] | None,
    destination: str | os.PathLike[str] | None = None,
    limits: Limits | None = None,
    skip_opc: bool = True,
    progress: ProgressFactory = no_progress,
    refuse_folded: bool = False,
) -> ArchiveInfo:
    """Validate, then write every entry below `destination` (absent, or an empty directory).

    Nothing is written when validation refuses the archive. When writing fails part way
    the error is raised and the partial destination is left for the caller to delete
    (`remove_tree`); deploy extracts into a temp directory and renames it on success.
    Also accepts the order `(path, destination, fmt)`. nupkg OPC parts are skipped when
    `skip_opc`. With `refuse_folded` (the destination folds names: see `folds_names`),
    names equal only after case folding or Unicode normalisation are refused too.
    Entry data is checked while it is written, so validation here reads headers only.
    """
    fmt, destination = _order(fmt, destination)
    source = Path(path)
    reader = _reader(source, fmt, limits or Limits())
    info = reader.inspect(verify_data=False)
    if refuse_folded:
        refuse_collisions(info)
    try:
        with progress(f"extracting {source.name}", info.uncompressed_size) as update:
            writer = SafeWriter(prepare_destination(Path(destination)), update)
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
    if (fmt is not None and fmt not in FORMAT_BY_EXTENSION) and (
        destination is None or destination in FORMAT_BY_EXTENSION
    ):
        fmt, destination = destination, fmt
    if destination is None:
        raise BadInput("extract_archive needs a destination directory")
    if fmt is not None and not isinstance(fmt, str):
        raise BadInput(f"unknown archive format {fmt!r}")
    return fmt, destination


def _reader(path: Path, fmt: str | None, limits: Limits) -> ZipReader | TarReader:
    """Check the file and its size, and pick the reader for its format."""
    archive = archive_format(fmt or detect_format(path.name))
    if not path.is_file():
        raise BadInput(f"package file {str(path)!r} does not exist or is not a file")
    size = path.stat().st_size
    if size > limits.max_package_bytes:
        raise UnsafeArchive(
            f"package {path.name} is {size} bytes, over the limit of {limits.max_package_bytes}"
        )
    if archive.family == "zip":
        return ZipReader(path, archive.name, limits)
    return TarReader(path, archive.name, limits)
