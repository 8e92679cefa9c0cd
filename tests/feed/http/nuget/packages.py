"""Real nupkgs for NuGet tests, made by octopack's own `pack` (so NuGet clients accept them)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from packer.model.nuspec import NuspecMetadata, render_nuspec
from packer.pack.build import PackOptions, pack

SIGNATURE = "Signed by nobody: test bytes standing in for a PKCS#7 signature.\n"


def make_package(
    folder: Path,
    package_id: str,
    version: str,
    *,
    description: str | None = None,
    tags: str = "",
    dependency_groups: list[dict] | None = None,
    package_types: list[str] | None = None,
    files: dict[str, bytes] | None = None,
) -> Path:
    """Pack a nupkg with `octopack pack --format nupkg` from a fresh source folder."""
    source = folder / f"src-{package_id}-{version}"
    source.mkdir(parents=True, exist_ok=True)
    for name, data in (files or {"content/readme.txt": b"hello nuget\n"}).items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    meta = NuspecMetadata(
        id=package_id,
        version=version,
        authors="Ann, Bob",
        description=description or f"The {package_id} package.",
        title=f"{package_id} title",
        summary="Short summary.",
        tags=tags,
        dependency_groups=dependency_groups or [],
        package_types=package_types or [],
    )
    (source / f"{package_id}.nuspec").write_bytes(render_nuspec(meta))
    out = folder / "out"
    result = pack(
        PackOptions(
            package_id=package_id,
            version=version,
            base_path=str(source),
            format="nupkg",
            out_folder=str(out),
            overwrite=True,
        )
    )
    return Path(result.path)


def sign(path: Path) -> Path:
    """Add a `.signature.p7s` part, as a signed package from nuget.org carries."""
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(".signature.p7s", SIGNATURE)
    return path


def record(package_id: str, version: str, **fields: object):
    """Return a PackageRecord as the repository would store it (for pure document tests)."""
    from feed.core.records import PackageRecord
    from packer.model.versions import parse_version

    parsed = parse_version(version)
    values: dict[str, object] = {
        "id": package_id,
        "version": version,
        "normalized_version": parsed.normalized,
        "format": "nupkg",
        "extension": "nupkg",
        "blob": f"packages/{package_id.lower()}/{parsed.key}/0.nupkg",
        "size": 123,
        "sha1": "0" * 40,
        "sha256": "1" * 64,
        "sha512": "ab" * 64,
        "published": "2026-01-02T03:04:05.678Z",
        "title": f"{package_id} title",
        "description": f"The {package_id} package.",
        "authors": ["Ann", "Bob"],
        "tags": ["web", "api"],
        "is_prerelease": parsed.is_prerelease,
        "is_semver2": parsed.is_semver2,
    }
    values.update(fields)
    return PackageRecord(**values)  # type: ignore[arg-type]
