"""What the NuGet v2 and v3 dialects share: which records NuGet sees, search terms,
publish, unlist/relist/delete, and the response cache with NuGet's protocol headers.

Everything here is a translation onto the repository core; no package logic lives here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import BinaryIO

from flask import request

from feed.core.catalog import IdEntry
from feed.core.catalog_shard import FLAG_LISTED, FLAG_NUPKG, FLAG_PRERELEASE, FLAG_SEMVER2
from feed.core.errors import BadRequest, PackageNotFound, PackageRefused
from feed.core.queries import record_text, terms_match
from feed.core.records import PackageRecord
from feed.core.repository import PushResult
from feed.core.uploads import SpooledUpload
from feed.http.cache import (  # noqa: F401 - re-exported for the NuGet blueprints and tests
    CACHE_ENTRIES,
    CACHE_MAX_BYTES,
    CACHE_MAX_SECONDS,
    ResponseCache,
    install_cache,
)
from feed.http.cache import cached as _cached
from feed.http.context import require, services
from feed.http.requestlog import note_package
from feed.http.uploads import part_upload
from packer.model.conventions import OverwriteMode
from packer.model.identity import is_valid_id
from packer.model.versions import NuGetVersion, parse_version, try_parse_version

NUPKG = "nupkg"
DELETE_MODES = ("unlist", "delete")
UNLISTED_PUBLISHED = "1900-01-01T00:00:00Z"
SEMVER2_LEVEL = "2.0.0"


def check_config(config: object) -> None:
    """Refuse a NuGet delete mode other than unlist or delete when the app is built."""
    mode = getattr(config, "nuget_delete", "unlist")
    if mode not in DELETE_MODES:
        raise BadRequest(f"nuget_delete={mode!r} must be one of {', '.join(DELETE_MODES)}")


# -- the response cache (feed.cache) with NuGet's protocol headers ----------------------


def _protocol_headers() -> dict[str, str]:
    """Return the headers every cached answer carries (OData's version for v2 clients)."""
    return {"DataServiceVersion": "2.0;"} if request.path.startswith("/api/v2") else {}


cached = functools.partial(_cached, extra_headers=_protocol_headers)


# -- which records NuGet sees -----------------------------------------------------------


def checked_id(package_id: str) -> str:
    """Return an id from a URL or query; anything no package can have answers 404."""
    if not is_valid_id(package_id):
        shown = package_id if len(package_id) <= 120 else package_id[:120] + "..."
        raise PackageNotFound(f"no package {shown!r}: that is not a valid package id")
    return package_id


def nuget_records(package_id: str) -> list[PackageRecord]:
    """Return every nupkg version of one id (listed or not), newest first."""
    checked_id(package_id)
    return [r for r in services().repository.list_versions(package_id) if r.format == NUPKG]


def not_for_nuget(package_id: str) -> PackageNotFound:
    """The 404 for an id NuGet cannot see: unknown, or stored only as zip or tar.gz."""
    formats = sorted({r.format for r in services().repository.list_versions(package_id)})
    if not formats:
        return PackageNotFound(f"package {package_id} is not in the feed")
    return PackageNotFound(
        f"package {package_id} exists only as {', '.join(formats)}, which NuGet clients cannot "
        "use (NuGet sees nupkg packages only); fetch it through the Octopus API"
    )


def nuget_record(package_id: str, version: str) -> PackageRecord:
    """Return one nupkg version (listed or not); 404 for unknown or non-nupkg packages."""
    checked_id(package_id)
    parsed = try_parse_version(version)
    if parsed is None:
        raise PackageNotFound(f"package {package_id} {version} is not in the feed")
    record = services().repository.get(package_id, parsed)
    if record.format != NUPKG:
        raise PackageNotFound(
            f"{record.id} {record.version} is a {record.format} package, which NuGet clients "
            "cannot use; fetch it through the Octopus API"
        )
    return record


def nuget_entries() -> list[IdEntry]:
    """Return every id of the feed as the catalog's slim entries, sorted by id."""
    return services().repository.id_entries()


def visible_positions(entry: IdEntry, prerelease: bool, semver2: bool) -> tuple[int, ...]:
    """Return the positions (newest first) of the listed nupkg versions a client sees."""
    refused = (0 if prerelease else FLAG_PRERELEASE) | (0 if semver2 else FLAG_SEMVER2)
    return entry.positions(FLAG_LISTED | FLAG_NUPKG, refused)


def visible(record: PackageRecord, prerelease: bool, semver2: bool) -> bool:
    """Tell whether a listed record shows for these client settings."""
    if not record.listed:
        return False
    if record.is_prerelease and not prerelease:
        return False
    return semver2 or not record.is_semver2


@dataclass(frozen=True)
class Latest:
    """The newest stable and the newest of all listed versions one client can see."""

    stable: PackageRecord | None
    absolute: PackageRecord | None


def latest_of(records: list[PackageRecord], semver2: bool) -> Latest:
    """Find IsLatestVersion and IsAbsoluteLatestVersion among records sorted newest first."""
    stable = next((r for r in records if visible(r, False, semver2)), None)
    absolute = next((r for r in records if visible(r, True, semver2)), None)
    return Latest(stable, absolute)


def published_text(record: PackageRecord) -> str:
    """Return Published as NuGet shows it: 1900-01-01 marks an unlisted version."""
    return record.published if record.listed else UNLISTED_PUBLISHED


def version_of(record: PackageRecord) -> NuGetVersion:
    """Return a record's version parsed (for ordering and comparisons)."""
    return parse_version(record.version)


def full_version(record: PackageRecord) -> str:
    """Return the normalised version with its build metadata, as NuGet's v3 shows it."""
    parsed = version_of(record)
    return parsed.normalized + (f"+{parsed.metadata}" if parsed.metadata else "")


# -- search terms ----------------------------------------------------------------------


def matches_terms(record: PackageRecord, terms: list[str]) -> bool:
    """Tell whether every search term occurs in the id, title, tags, authors or description."""
    return terms_match(record.id.lower(), record_text(record), terms)


def search_rank(key: str, terms: list[str]) -> tuple[int, str]:
    """Order hits by lower-case id: exact id, then id prefix, then id contains, then the rest."""
    query = " ".join(terms)
    if not query:
        return 0, key
    if key == query:
        return 0, key
    if key.startswith(query):
        return 1, key
    return (2 if query in key else 3), key


# -- publish, unlist, relist, delete ----------------------------------------------------


def publish() -> PushResult:
    """Store a pushed nupkg: the first file part of a multipart body, or the raw body."""
    require("push")
    source, name = _pushed_package()
    filename = name if name.lower().endswith(".nupkg") else "package.nupkg"
    result = services().repository.add_package(
        source, filename, OverwriteMode.FAIL_IF_EXISTS, default_format=NUPKG
    )
    note_package(result.record.id, result.record.version)
    return result


def _pushed_package() -> tuple[SpooledUpload | BinaryIO, str]:
    """Return the spooled first file of a multipart upload, or the body stream itself."""
    if request.mimetype.startswith("multipart/"):
        upload = next(iter(request.files.values()), None)
        if upload is None:
            raise PackageRefused("the multipart body holds no file; send the .nupkg as its part")
        return part_upload(upload), upload.filename or ""
    return request.stream, ""


def delete_or_unlist(package_id: str, version: str) -> PackageRecord:
    """NuGet's delete: unlist by default; a hard delete when the feed is configured so."""
    hard = getattr(services().config, "nuget_delete", "unlist") == "delete"
    require("admin" if hard else "push")
    record = nuget_record(package_id, version)
    repository = services().repository
    if hard:
        return repository.delete(record.id, record.version)
    return repository.set_listed(record.id, record.version, False)


def relist(package_id: str, version: str) -> PackageRecord:
    """NuGet's relist: make an unlisted version show in search and "latest" again."""
    require("push")
    record = nuget_record(package_id, version)
    return services().repository.set_listed(record.id, record.version, True)


def read_nuspec(record: PackageRecord) -> bytes:
    """Return the root .nuspec of a stored nupkg as it was pushed."""
    return services().repository.read_nuspec(record)


def check_semver_level(text: str | None) -> bool:
    """Read semVerLevel: True for 2.0.0 (or higher), False when absent or 1.x."""
    if not text:
        return False
    parsed = try_parse_version(text.strip())
    if parsed is None:
        raise BadRequest(f"semVerLevel={text!r} is not a version such as 2.0.0")
    return parsed.major >= 2
