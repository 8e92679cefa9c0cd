"""What the feed client hands back: push reports, version listings, verified downloads.

Also the two checks around a push that need no connection: the local file before it is
sent, and the translation of the feed's answer into a push status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from packer.client.http import error_text
from packer.model.conventions import PUSH_STATUS_HEADER, OverwriteMode, PushStatus
from packer.model.errors import BadInput
from packer.model.identity import parse_package_filename


@dataclass(frozen=True)
class PushReport:
    """One line of the push JSON: what became of one file (the feed's answer, or why none)."""

    file: str
    id: str
    version: str
    status: PushStatus
    message: str
    package: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True when the package is on the feed as the caller asked (exit 0)."""
        return self.status.ok

    def to_json(self) -> dict[str, str]:
        """Return the keys of the push JSON contract."""
        return {
            "file": self.file,
            "id": self.id,
            "version": self.version,
            "status": str(self.status),
            "message": self.message,
        }


@dataclass(frozen=True)
class VersionInfo:
    """One version of a package as the feed lists it."""

    version: str
    published: str | None
    size: int | None


@dataclass(frozen=True)
class DownloadResult:
    """A verified download: where it is, its SHA-256 and how many requests followed a break."""

    path: Path
    sha256: str
    size: int
    resumes: int


def check_local_package(path: Path, filename: str | None = None) -> tuple[str, str, int]:
    """Return (id, version, size) of a local package file; BadInput when missing, unreadable or misnamed."""
    name = filename or path.name
    parsed = parse_package_filename(name)
    try:
        with open(path, "rb"):
            pass
        info = path.stat()
    except FileNotFoundError:
        raise BadInput(f"package file {str(path)!r} does not exist") from None
    except OSError as error:
        raise BadInput(f"cannot read package file {str(path)!r}: {error.strerror}") from None
    if not path.is_file():
        raise BadInput(f"package file {str(path)!r} is not a regular file")
    return parsed.id, str(parsed.version), info.st_size


def _success_status(response: requests.Response, mode: OverwriteMode) -> PushStatus:
    """created, kept or overwritten: the feed's X-Octopack-Push-Status, else the status code."""
    told = response.headers.get(PUSH_STATUS_HEADER, "").lower()
    if told in (PushStatus.CREATED, PushStatus.KEPT, PushStatus.OVERWRITTEN):
        return PushStatus(told)
    if response.status_code == 201:
        return PushStatus.CREATED
    if mode is OverwriteMode.OVERWRITE_EXISTING:
        return PushStatus.OVERWRITTEN
    return PushStatus.KEPT


def push_report(
    response: requests.Response,
    path: Path,
    package_id: str,
    version: str,
    mode: OverwriteMode,
    server: str,
    auth_message: Callable[[requests.Response], str],
) -> PushReport:
    """Translate the feed's answer to one push into a PushReport."""
    code = response.status_code
    package: dict[str, Any] | None = None
    if code in (200, 201):
        try:
            document = response.json()
            package = document if isinstance(document, dict) else None
        except ValueError:
            package = None
        package_id = str((package or {}).get("PackageId") or package_id)
        version = str((package or {}).get("Version") or version)
        status = _success_status(response, mode)
        message = {
            PushStatus.CREATED: f"pushed to {server}",
            PushStatus.OVERWRITTEN: f"replaced the existing package on {server}",
            PushStatus.KEPT: f"{server} already has this version; kept the existing package",
        }[status]
    elif code == 409:
        status, message = PushStatus.CONFLICT, error_text(response)
    elif code in (400, 413, 415, 422):
        status, message = PushStatus.REFUSED, error_text(response)
    elif code in (401, 403):
        status, message = PushStatus.ERROR, auth_message(response)
    else:
        status, message = PushStatus.ERROR, f"{server} answered {code}: {error_text(response)}"
    return PushReport(str(path), package_id, version, status, message, package)
