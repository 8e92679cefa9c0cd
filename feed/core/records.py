"""The commit record of one package version: what `package.json` in storage holds."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from packer.model.identity import id_key

if TYPE_CHECKING:
    from feed.core.uploads import SpooledUpload
    from packer.model.versions import NuGetVersion

RECORD_NAME = "package.json"
PACKAGES_PREFIX = "packages/"


@dataclass(frozen=True)
class PackageRecord:
    """One stored package version; a version exists exactly when its record exists."""

    id: str
    version: str
    normalized_version: str
    format: str
    extension: str
    blob: str
    size: int
    sha1: str
    sha256: str
    sha512: str
    published: str
    title: str | None = None
    summary: str | None = None
    description: str | None = None
    release_notes: str | None = None
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    dependency_groups: list[dict[str, Any]] = field(default_factory=list)
    package_types: list[str] = field(default_factory=list)
    listed: bool = True
    is_prerelease: bool = False
    is_semver2: bool = False

    @property
    def filename(self) -> str:
        """Return the download file name `{Id}.{Version}.{ext}`."""
        return f"{self.id}.{self.version}.{self.extension}"

    def to_bytes(self) -> bytes:
        """Serialise to the JSON stored as the commit record."""
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> PackageRecord:
        """Parse a stored record, ignoring keys a newer octopack may have added."""
        raw = json.loads(data)
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in raw.items() if k in known})


def version_prefix(id_lower: str, version_lower: str) -> str:
    """Return the storage folder of one (id, normalised version)."""
    return f"{PACKAGES_PREFIX}{id_lower}/{version_lower}/"


def record_key(id_lower: str, version_lower: str) -> str:
    """Return the key of the commit record of one (id, normalised version)."""
    return version_prefix(id_lower, version_lower) + RECORD_NAME


def blob_key(
    id_lower: str, version_lower: str, sha256: str, extension: str, nonce: str | None = None
) -> str:
    """Return a key for one push's immutable bytes: a name nobody else can pick.

    The random nonce keeps two pushes of identical bytes apart, so a delete or a losing
    push that removes its own blob can never take away the blob of another push.
    """
    nonce = nonce or secrets.token_hex(8)
    return version_prefix(id_lower, version_lower) + f"{sha256}.{nonce}.{extension}"


def is_record_key(key: str) -> bool:
    """Tell whether a listed key is a commit record (and not a blob or a lock file)."""
    return key.startswith(PACKAGES_PREFIX) and key.endswith("/" + RECORD_NAME)


def iso_utc(moment: datetime) -> str:
    """Format a timestamp as ISO-8601 UTC with a Z, as Octopus and NuGet print it."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_record(
    package_id: str,
    version: NuGetVersion,
    fmt: str,
    extension: str,
    upload: SpooledUpload,
    meta: object | None,
    published: str,
) -> PackageRecord:
    """Build the commit record of a validated upload."""
    normalized = version.normalized
    blob = blob_key(id_key(package_id), normalized.lower(), upload.sha256, extension)
    fields: dict[str, object] = {}
    if meta is not None:
        fields = {
            "title": getattr(meta, "title", None) or None,
            "summary": getattr(meta, "summary", None) or None,
            "description": getattr(meta, "description", None) or None,
            "release_notes": getattr(meta, "release_notes", None) or None,
            "authors": as_list(getattr(meta, "authors", None), ","),
            "tags": as_list(getattr(meta, "tags", None), None),
            "dependency_groups": list(getattr(meta, "dependency_groups", None) or []),
            "package_types": list(getattr(meta, "package_types", None) or []),
        }
    return PackageRecord(
        id=package_id,
        version=str(version),
        normalized_version=normalized,
        format=fmt,
        extension=extension,
        blob=blob,
        size=upload.size,
        sha1=upload.sha1,
        sha256=upload.sha256,
        sha512=upload.sha512,
        published=published,
        is_prerelease=version.is_prerelease,
        is_semver2=version.is_semver2,
        **fields,  # type: ignore[arg-type]
    )


def as_list(value: object, separator: str | None) -> list[str]:
    """Normalise nuspec authors/tags (a string or a list) to a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(separator) if part.strip()]
    return [str(v) for v in value]  # type: ignore[union-attr]
