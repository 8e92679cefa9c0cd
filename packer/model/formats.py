"""The one table of archive formats: extensions, family, compression, content type, writability.

Every place that needs to know a format reads it here: file names (`identity`), the
validator's choice of reader, `pack`'s writers and `--format` choices, and the feed's
download content types. A new format is one row here plus its reader (and writer).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from packer.model.errors import BadInput

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "FORMAT_BY_EXTENSION",
    "FORMAT_NAMES",
    "WRITABLE_FORMATS",
    "ArchiveFormat",
    "archive_format",
    "content_type_for",
    "detect_format",
    "split_extension",
]


@dataclass(frozen=True, slots=True)
class ArchiveFormat:
    """One archive format; `extensions[0]` is the one octopack writes."""

    name: str
    extensions: tuple[str, ...]
    family: str  # "zip" or "tar": which reader (and writer) handles it
    compression: str | None  # "deflate", "gzip", "bzip2" or None
    content_type: str
    writable: bool  # `octopack pack --format` can write it; the others are read only


FORMATS: tuple[ArchiveFormat, ...] = (
    ArchiveFormat("zip", ("zip",), "zip", "deflate", "application/zip", True),
    ArchiveFormat("nupkg", ("nupkg",), "zip", "deflate", "application/octet-stream", True),
    ArchiveFormat("tar.gz", ("tar.gz", "tgz"), "tar", "gzip", "application/gzip", True),
    ArchiveFormat("tar", ("tar",), "tar", None, "application/x-tar", False),
    ArchiveFormat("tar.bz2", ("tar.bz2", "tbz"), "tar", "bzip2", "application/x-bzip2", False),
)

FORMAT_NAMES = tuple(f.name for f in FORMATS)
WRITABLE_FORMATS = tuple(f.name for f in FORMATS if f.writable)
EXTENSIONS = tuple(extension for f in FORMATS for extension in f.extensions)
FORMAT_BY_EXTENSION = {extension: f.name for f in FORMATS for extension in f.extensions}
"""The archive format behind each file extension (`.tgz` is a tar.gz, `.tbz` a tar.bz2)."""

_BY_EXTENSION = {extension: f for f in FORMATS for extension in f.extensions}


def archive_format(name: str) -> ArchiveFormat:
    """Return the format of a name or extension (`tar.gz` or `tgz`); BadInput when unknown."""
    found = _BY_EXTENSION.get(name)
    if found is None:
        raise BadInput(
            f"unknown archive format {name!r}: expected one of {', '.join(FORMAT_NAMES)}"
        )
    return found


def split_extension(name: str) -> tuple[str, str] | None:
    """Split `Acme.1.0.tar.gz` into (`Acme.1.0`, `tar.gz`); None for an unknown extension."""
    lowered = name.lower()
    for extension in EXTENSIONS:
        if lowered.endswith("." + extension):
            return name[: -len(extension) - 1], extension
    return None


def detect_format(filename: str | os.PathLike[str]) -> str:
    """Return the archive format a file name's extension says (case-insensitive)."""
    split = split_extension(os.fspath(filename))
    if split is None:
        expected = ", ".join("." + extension for extension in EXTENSIONS)
        raise BadInput(
            f"cannot tell the archive format of {os.fspath(filename)!r}: expected {expected}"
        )
    return FORMAT_BY_EXTENSION[split[1]]


def content_type_for(extension: str) -> str:
    """Return the Content-Type of a package with this extension (octet-stream when unknown)."""
    found = _BY_EXTENSION.get(extension.lower())
    return found.content_type if found is not None else "application/octet-stream"
