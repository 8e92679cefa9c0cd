"""Choose and fetch the package a deploy needs: from the feed into the cache, or a local file.

A feed package is verified against the feed's SHA-256 before anything is extracted; a
cached file whose hash still matches is used without downloading again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from packer.archive import validator as archive
from packer.client.feed import FeedClient
from packer.client.transfer import file_sha256
from packer.model.errors import BadInput, OperationFailed
from packer.model.formats import EXTENSIONS, FORMAT_BY_EXTENSION, split_extension
from packer.model.identity import package_filename, parse_package_filename, validate_id
from packer.model.progress import ProgressFactory, no_progress
from packer.model.ranges import parse_range
from packer.model.versions import parse_version
from packer.target.locks import exclusive_lock
from packer.target.private import private_dir


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
    wanted = parse_range(version_range) if version_range else None
    listed = client.versions(package_id, version_range, include_prerelease=prerelease)
    by_value = {parse_version(info.version): info.version for info in listed}
    if wanted is not None:
        best = wanted.highest_match(by_value, prerelease)
    else:
        best = max((v for v in by_value if prerelease or not v.is_prerelease), default=None)
    if best is None:
        scope = f" in range {version_range}" if version_range else ""
        hint = "" if prerelease else " (prereleases are skipped unless --prerelease)"
        raise OperationFailed(f"{client.server} has no version of {package_id}{scope}{hint}")
    return by_value[best]


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
) -> tuple[Path, str, str, str, bool]:
    """Put a verified package in the cache; return (path, id, version, sha256, downloaded).

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
                return path, package_id, version, sha, False
            echo(f"cached {path.name} does not match the feed's SHA-256; downloading again")
            path.unlink()
        echo(f"downloading {package_id} {version} from {client.server}")
        size = _recorded_size(detail)
        with progress(f"downloading {path.name}", size) as update:
            result = client.download(
                package_id, version, path, sha, update, expected_size=size, max_bytes=max_bytes
            )
        if result.resumes:
            echo(f"download resumed {result.resumes} time(s) after broken connections")
    return path, package_id, version, sha, True


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
        nuspec = archive.inspect_archive(path, fmt, limits).nuspec
        if nuspec is not None:
            return validate_id(nuspec.id), str(parse_version(nuspec.version)), fmt
    parsed = parse_package_filename(path.name)
    return parsed.id, parsed.version.original, fmt
