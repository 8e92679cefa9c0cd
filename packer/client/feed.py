"""HTTP client of the feed: push, versions, download, with retries that never duplicate a push.

Talks the Octopus dialect over a `requests.Session`; bytes stream, never whole in memory.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from packer.client.download import PackageDownloads
from packer.client.http import (
    API_KEY_HEADER,
    NETWORK_ERRORS,
    RETRY_STATUSES,
    attempts_text,
    check_server_url,
    error_text,
    json_object,
)
from packer.client.rawpush import NOT_OFFERED, RawBody, raw_push_url
from packer.client.results import (
    PushReport,
    VersionInfo,
    check_local_package,
    push_report,
)
from packer.client.transfer import MultipartBody, Progress, file_sha256
from packer.model.conventions import (
    RAW_PUSH_SHA256_HEADER,
    RAW_PUSH_TRAILER,
    OverwriteMode,
    PushStatus,
)
from packer.model.errors import BadInput, OperationFailed
from packer.model.identity import validate_id
from packer.model.ranges import parse_range
from packer.model.versions import parse_version

__all__ = ["FeedClient"]

SPACE_PATTERN = re.compile(r"Spaces-\d+")


class FeedClient(PackageDownloads):
    """Client of one feed; every network step retries with exponential backoff.

    `sleep` and `timeout` are injectable so tests never wait for real.
    """

    _raw_push = True  # push raw until the feed shows it lacks the route (then per instance)

    def __init__(
        self,
        server: str,
        api_key: str | None = None,
        space: str | None = None,
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float | tuple[float, float] = (10.0, 300.0),
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        if not server:
            raise BadInput("no feed server: give --server or set OCTOPACK_SERVER")
        self.server = check_server_url(server)
        if space is not None and not SPACE_PATTERN.fullmatch(space):
            raise BadInput(f"space {space!r} is not a space id like Spaces-1")
        self.space = space
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self._sleep = sleep
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = "octopack"
        self._api_key = api_key
        if api_key:
            self._session.headers[API_KEY_HEADER] = api_key

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def __enter__(self) -> FeedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        """The URL of an Octopus-dialect path under the optional space."""
        prefix = f"/api/{self.space}" if self.space else "/api"
        return f"{self.server}{prefix}/{path}"

    def _package_path(self, package_id: str, version: str) -> str:
        return "packages/" + quote(f"packages-{package_id}.{version}", safe="")

    def _wait(self, attempt: int, response: requests.Response | None = None) -> None:
        """Sleep before retry number `attempt` (0-based): backoff doubling, or Retry-After."""
        delay = min(self.max_backoff, self.backoff * (2**attempt))
        retry_after = response.headers.get("Retry-After") if response is not None else None
        if retry_after and retry_after.isdigit():
            delay = min(self.max_backoff, max(delay, float(retry_after)))
        self._sleep(delay)

    def _get(
        self, url: str, what: str, retries: int | None = None, method: str = "GET", **kwargs: Any
    ) -> requests.Response:
        """Send a repeatable request (GET unless `method`), retrying network errors and 5xx."""
        retries = self.retries if retries is None else retries
        attempt = 0
        while True:
            try:
                response = self._session.request(method, url, timeout=self.timeout, **kwargs)
                if response.status_code not in RETRY_STATUSES:
                    return response
                failure = f"{self.server} answered {response.status_code}: {error_text(response)}"
            except NETWORK_ERRORS as error:
                response = None
                failure = f"cannot reach {self.server}: {error.__class__.__name__}"
            if attempt >= retries:
                raise OperationFailed(
                    f"{what} failed after {attempts_text(attempt + 1)}: {failure}"
                )
            self._wait(attempt, response)
            attempt += 1

    def _auth_message(self, response: requests.Response) -> str:
        """Say whether the key is missing, wrong, or lacks scope."""
        detail = error_text(response)
        if response.status_code == 403:
            return f"the API key lacks the scope for this on {self.server}: {detail}"
        if not self._api_key:
            return (
                f"{self.server} needs an API key: give --api-key or set OCTOPACK_API_KEY ({detail})"
            )
        return f"{self.server} refused the API key as wrong or revoked: {detail}"

    def _failed(self, response: requests.Response, what: str) -> OperationFailed:
        """An OperationFailed for an unexpected answer, naming the server and the status."""
        if response.status_code in (401, 403):
            return OperationFailed(f"{what}: {self._auth_message(response)}")
        return OperationFailed(
            f"{what}: {self.server} answered {response.status_code}: {error_text(response)}"
        )

    # -- package detail ---------------------------------------------------------------------

    def find_detail(
        self, package_id: str, version: str, retries: int | None = None
    ) -> dict[str, Any] | None:
        """The package resource, or None when the feed has no such version."""
        what = f"reading {package_id} {version} from {self.server}"
        url = self._url(self._package_path(package_id, version))
        response = self._get(url, what, retries)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._failed(response, what)
        return json_object(response, what, "a package resource")

    def package_detail(self, package_id: str, version: str) -> dict[str, Any]:
        """The package resource; OperationFailed when the feed does not have it."""
        detail = self.find_detail(package_id, version)
        if detail is None:
            raise OperationFailed(f"{self.server} has no package {package_id} {version}")
        return detail

    # -- push -------------------------------------------------------------------------------

    def push(
        self,
        path: str | os.PathLike[str],
        overwrite_mode: str | OverwriteMode = OverwriteMode.FAIL_IF_EXISTS,
        progress: Progress | None = None,
        filename: str | None = None,
    ) -> PushReport:
        """Upload one package; retry network errors and 5xx without ever pushing twice.

        After a broken or timed-out attempt the feed is asked first whether the upload landed
        (same SHA-256 at that id and version); if so the push counts as created.
        Returns a PushReport for every answer of the feed; raises OperationFailed when no answer
        came after the retries and BadInput for a bad local file.
        """
        path = Path(path)
        name = filename or path.name
        package_id, version, size = check_local_package(path, name)
        mode = (
            overwrite_mode
            if isinstance(overwrite_mode, OverwriteMode)
            else OverwriteMode.parse(overwrite_mode)
        )
        local_sha: str | None = None
        broken = False
        attempt = 0
        while True:
            response: requests.Response | None = None
            raw = self._raw_push
            try:
                if raw:
                    body = RawBody(path, size, progress)
                    response = self._send_raw(name, mode, body)
                    local_sha = local_sha or body.sha256
                    if response.status_code in NOT_OFFERED:
                        self._raw_push = raw = False
                if not raw:
                    response = self._send_multipart(path, name, size, mode, progress)
            except NETWORK_ERRORS as error:
                failure = f"the connection to {self.server} broke ({error.__class__.__name__})"
                self._raw_push = False  # a feed without the route may cut a raw body short
            else:
                if response.status_code not in RETRY_STATUSES:
                    if response.status_code == 409 and broken:
                        local_sha = local_sha or file_sha256(path)
                        landed = self._landed(package_id, version, local_sha)
                        if landed is not None:
                            return self._landed_result(path, package_id, version, landed)
                    return push_report(
                        response, path, package_id, version, mode, self.server, self._auth_message
                    )
                failure = f"{self.server} answered {response.status_code}: {error_text(response)}"
            if response is None or response.status_code not in (429, 503):
                broken = True
                local_sha = local_sha or file_sha256(path)
                landed = self._landed(package_id, version, local_sha)
                if landed is not None:
                    return self._landed_result(path, package_id, version, landed)
            if attempt >= self.retries:
                raise OperationFailed(
                    f"pushing {path.name} to {self.server} failed after {attempts_text(attempt + 1)}: "
                    f"{failure}"
                )
            self._wait(attempt, response)
            attempt += 1

    def _send_raw(self, name: str, mode: OverwriteMode, body: RawBody) -> requests.Response:
        """PUT the file as the raw body, its SHA-256 as a trailer (octopack feeds)."""
        return self._session.put(
            raw_push_url(self.server, name),
            params={"overwriteMode": mode.value},
            data=body,
            headers={
                "Content-Type": "application/octet-stream",
                RAW_PUSH_SHA256_HEADER: RAW_PUSH_TRAILER,
            },
            timeout=self.timeout,
        )

    def _send_multipart(
        self, path: Path, name: str, size: int, mode: OverwriteMode, progress: Progress | None
    ) -> requests.Response:
        """POST the file as Octopus's multipart upload (any Octopus-dialect feed)."""
        body = MultipartBody(path, name, size, progress)
        return self._session.post(
            self._url("packages/raw"),
            params={"overwriteMode": mode.value},
            data=body,
            headers={"Content-Type": body.content_type},
            timeout=self.timeout,
        )

    def _landed(self, package_id: str, version: str, local_sha: str) -> dict[str, Any] | None:
        """The feed's resource when it holds exactly our bytes; None when not (or unknown)."""
        try:
            detail = self.find_detail(package_id, version, retries=0)
        except OperationFailed:
            return None
        if detail and str(detail.get("Sha256", "")).lower() == local_sha:
            return detail
        return None

    def _landed_result(
        self, path: Path, package_id: str, version: str, detail: dict[str, Any]
    ) -> PushReport:
        message = "the upload landed before the connection broke (the feed holds the same SHA-256)"
        return PushReport(str(path), package_id, version, PushStatus.CREATED, message, detail)

    # -- versions ---------------------------------------------------------------------------

    def versions(
        self,
        package_id: str,
        version_range: str | None = None,
        include_prerelease: bool = False,
        latest: bool = False,
        page_size: int = 100,
    ) -> list[VersionInfo]:
        """Every version of a package on the feed (within the range), newest first."""
        validate_id(package_id)
        if version_range:
            parse_range(version_range)
        params: dict[str, Any] = {
            "packageId": package_id,
            "includePreRelease": "true" if include_prerelease else "false",
            "take": 1 if latest else page_size,
            "skip": 0,
        }
        if version_range:
            params["versionRange"] = version_range
        url = self._url("feeds/feeds-builtin/packages/versions")
        what = f"listing versions of {package_id} on {self.server}"
        found: list[VersionInfo] = []
        while True:
            response = self._get(url, what, params=dict(params))
            if response.status_code == 404:
                return []
            if response.status_code != 200:
                raise self._failed(response, what)
            items, total = self._page(response, what)
            found.extend(self._version_info(item, what) for item in items)
            params["skip"] += len(items)
            if latest or not items or len(found) >= total:
                break
        ordered = sorted(found, key=lambda info: parse_version(info.version), reverse=True)
        return ordered[:1] if latest else ordered

    @staticmethod
    def _page(response: requests.Response, what: str) -> tuple[list[dict[str, Any]], int]:
        """Items and TotalResults of one collection page."""
        try:
            document = response.json()
            items = document["Items"]
            total = int(document.get("TotalResults", len(items)))
        except (ValueError, KeyError, TypeError):
            raise OperationFailed(f"{what}: the answer is not a collection of versions") from None
        if not isinstance(items, list):
            raise OperationFailed(f"{what}: Items is not a list")
        return items, total

    @staticmethod
    def _version_info(item: Any, what: str) -> VersionInfo:
        if not isinstance(item, dict) or not item.get("Version"):
            raise OperationFailed(f"{what}: an item without a Version: {item!r:.200}")
        size = item.get("SizeBytes", item.get("PackageSizeBytes"))
        return VersionInfo(
            str(item["Version"]), item.get("Published"), int(size) if size is not None else None
        )
