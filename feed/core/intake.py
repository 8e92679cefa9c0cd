"""Turning an upload into the commit record it would get: format, validation, metadata."""

from __future__ import annotations

from feed.core.errors import PackageRefused
from feed.core.records import PackageRecord, new_record
from feed.core.uploads import SpooledUpload
from packer.archive.validator import Limits, inspect_archive
from packer.model.errors import PackerError
from packer.model.identity import (
    FORMAT_BY_EXTENSION,
    parse_package_filename,
    split_extension,
    validate_id,
)
from packer.model.versions import parse_version


def describe_upload(
    upload: SpooledUpload,
    filename: str,
    default_format: str | None,
    limits: Limits,
    published: str,
) -> PackageRecord:
    """Validate the archive and build the record it would get (id, version, metadata)."""
    try:
        fmt = format_of(filename, default_format)
        info = inspect_archive(upload.path, fmt, limits)
        if fmt == "nupkg":
            if info.nuspec is None:
                raise PackageRefused(f"{filename!r} has no .nuspec at its root")
            meta = info.nuspec
            package_id, version = validate_id(meta.id), parse_version(meta.version)
            extension = "nupkg"  # the file name of a nupkg may be anything
        else:
            meta = None
            parsed = parse_package_filename(filename)
            package_id, version, extension = parsed.id, parsed.version, parsed.extension
    except PackageRefused:
        raise
    except PackerError as error:
        # the archive reader names the file it read: the client's name, not our spool's
        reason = str(error).replace(upload.path.name, filename)
        raise PackageRefused(f"package {filename!r} refused: {reason}") from error
    return new_record(package_id, version, fmt, extension, upload, meta, published)


def format_of(filename: str, default_format: str | None) -> str:
    """Return the archive format the file name says, or the dialect's default."""
    split = split_extension(filename)
    if split is not None:
        return FORMAT_BY_EXTENSION[split[1]]
    if default_format:
        return default_format
    return parse_package_filename(filename).format  # raises BadInput naming the file
