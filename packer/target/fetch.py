"""Choose and fetch the package a deploy needs: from the feed into the cache, or a local file.

A feed package is verified against the feed's SHA-256 before anything is extracted; a
cached file whose hash still matches is used without downloading again, and a cached older
version lets only the changed entries travel (delta.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from packer.archive import validator as archive
from packer.client.feed import FeedClient
from packer.client.transfer import file_sha256
from packer.model.channels import Channel
from packer.model.conventions import Transfer, TransferMode
from packer.model.errors import BadInput, OperationFailed
from packer.model.formats import EXTENSIONS, FORMAT_BY_EXTENSION, split_extension
from packer.model.identity import package_filename, parse_package_filename, validate_id
from packer.model.progress import ProgressFactory, no_progress
from packer.model.ranges import parse_range
from packer.model.versions import NuGetVersion, parse_version
from packer.target.delta import try_delta
from packer.target.locks import exclusive_lock
from packer.target.private import private_dir


def candidate_versions(
    client: FeedClient,
    package_id: str,
    version_range: str | None,
    prerelease: bool,
    channel: Channel | None = None,
) -> list[str]:
    """Every version the feed holds within the range and the channel, newest first.

    Prereleases count when `prerelease` is given or the channel's own rule decides on them.
    """
    validate_id(package_id)
    wanted = parse_range(version_range) if version_range else None
    include = prerelease or (channel is not None and channel.wants_prerelease)
    listed = client.versions(package_id, version_range, include_prerelease=include)
    found: list[tuple[NuGetVersion, str]] = []
    for info in listed:
        value = parse_version(info.version)
        if wanted is not None:
            admitted = wanted.admits(value, include)
        else:
            admitted = include or not value.is_prerelease
        if admitted and (channel is None or channel.matches(value)):
            found.append((value, info.version))
    return [text for _, text in sorted(found, key=lambda pair: pair[0], reverse=True)]


def no_version_message(
    client: FeedClient,
    package_id: str,
    version_range: str | None,
    prerelease: bool,
    channel: Channel | None = None,
) -> str:
    """Say that nothing matched, naming the range, the channel and the prerelease rule."""
    scope = f" in range {version_range}" if version_range else ""
    scope += f" in channel {channel.name!r} ({channel.describe()})" if channel else ""
    skipped = not prerelease and not (channel and channel.wants_prerelease)
    hint = " (prereleases are skipped unless --prerelease)" if skipped else ""
    return f"{client.server} has no version of {package_id}{scope}{hint}"


def select_version(
    client: FeedClient,
    package_id: str,
    version: str | None,
    version_range: str | None,
    prerelease: bool,
) -> str:
    """Return the version to deploy: the one asked for, else the newest in range (stable unless allowed)."""
    validate_id(package_id)
    if version:
        parse_version(version)
        return version
    found = candidate_versions(client, package_id, version_range, prerelease)
    if not found:
        raise OperationFailed(no_version_message(client, package_id, version_range, prerelease))
    return found[0]


def _expected_sha256(detail: dict[str, Any], package_id: str, version: str) -> str:
    """Return the feed's SHA-256 of the package; refuse to go on without one."""
    sha = str(detail.get("Sha256") or "").lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise OperationFailed(
            f"the feed gave no valid Sha256 for {package_id} {version}; "
            "refusing to deploy a package that cannot be verified"
        )
    return sha


def _recorded_size(detail: dict[str, Any]) -> int | None:
    """Return the package size the feed records, or None when it gives none."""
    size = detail.get("PackageSizeBytes")
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


def fetch_package(
    client: FeedClient,
    cache_dir: Path,
    package_id: str,
    version: str,
    lock_timeout: float,
    echo: Callable[[str], None],
    max_bytes: int | None = None,
    progress: ProgressFactory = no_progress,
) -> tuple[Path, str, str, str, Transfer]:
    """Put a verified package in the cache; return (path, id, version, sha256, transfer).

    The id and version are as the feed holds them (as pushed). The download stops at the
    size the feed records and at `max_bytes`, whatever the server streams.
    """
    detail = client.package_detail(package_id, version)
    package_id = str(detail.get("PackageId") or package_id)
    version = str(detail.get("Version") or version)
    sha = _expected_sha256(detail, package_id, version)
    extension = str(detail.get("FileExtension") or "").lstrip(".").lower()
    if extension not in FORMAT_BY_EXTENSION:
        raise OperationFailed(
            f"the feed lists {package_id} {version} as {extension!r}, not a package"
        )
    path = cache_dir / package_filename(package_id, version, extension)
    private_dir(cache_dir, tighten=False)
    lock = cache_dir / f".{path.name}.lock"
    with exclusive_lock(lock, lock_timeout, f"{path.name} into the cache", on_wait=echo):
        if path.is_file():
            if file_sha256(path) == sha:
                echo(f"using cached {path.name} (SHA-256 verified)")
                return path, package_id, version, sha, Transfer(TransferMode.CACHED, 0)
            echo(f"cached {path.name} does not match the feed's SHA-256; downloading again")
            path.unlink()
        echo(f"downloading {package_id} {version} from {client.server}")
        size = _recorded_size(detail)
        delta = try_delta(client, path, package_id, version, sha, size, max_bytes)
        if delta.done:
            echo(delta.line)
            return path, package_id, version, sha, Transfer(TransferMode.DELTA, delta.bytes)
        with progress(f"downloading {path.name}", size) as update:
            result = client.download(
                package_id, version, path, sha, update, expected_size=size, max_bytes=max_bytes
            )
        if result.resumes:
            echo(f"download resumed {result.resumes} time(s) after broken connections")
    echo(f"transfer: full, {result.size} bytes (no delta: {delta.reason})")
    return path, package_id, version, sha, Transfer(TransferMode.FULL, result.size + delta.bytes)


def describe_local_file(path: Path, limits: archive.Limits) -> tuple[str, str, str]:
    """Return (id, version, format) of a package file on this machine (nuspec, else file name)."""
    if not path.exists():
        raise BadInput(f"package file {str(path)!r} does not exist")
    if not path.is_file():
        raise BadInput(f"package file {str(path)!r} is not a regular file")
    split = split_extension(path.name)
    if split is None:
        expected = ", ".join("." + extension for extension in EXTENSIONS)
        raise BadInput(f"package file {path.name!r} has no package extension ({expected})")
    fmt = FORMAT_BY_EXTENSION[split[1]]
    if fmt == "nupkg":
        nuspec = archive.read_package_metadata(path, fmt, limits).nuspec  # extraction decodes
        if nuspec is not None:
            return validate_id(nuspec.id), str(parse_version(nuspec.version)), fmt
    parsed = parse_package_filename(path.name)
    return parsed.id, parsed.version.original, fmt
