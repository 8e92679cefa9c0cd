"""Download a package from the feed: resumable, verified, and capped at the size it should be.

The body is read into reused buffers and hashed on a second thread (receive.py).

The bytes go to `dest.part` and are renamed into place only when their SHA-256 matches.
No more is ever written than the smallest size anyone promised: the feed's recorded size,
the response's Content-Length or Content-Range total, and the caller's maximum. A server
that streams past it is cut off at once, so a lying feed cannot fill the disk.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from packer.client.http import NETWORK_ERRORS, RETRY_STATUSES, attempts_text
from packer.client.receive import receive
from packer.client.results import DownloadResult
from packer.client.transfer import READ_BLOCK, PartFile, Progress
from packer.model.errors import BadInput, OperationFailed


class PackageDownloads:
    """The download half of `FeedClient` (a mixin: it uses the client's session and retries)."""

    server: str
    retries: int
    timeout: float | tuple[float, float]
    _session: requests.Session
    _url: Callable[[str], str]
    _package_path: Callable[[str, str], str]
    _wait: Callable[[int, requests.Response | None], None]
    _failed: Callable[[requests.Response, str], OperationFailed]
    package_detail: Callable[[str, str], dict[str, Any]]

    def download(
        self,
        package_id: str,
        version: str,
        dest_path: str | os.PathLike[str],
        expected_sha256: str | None = None,
        progress: Progress | None = None,
        expected_size: int | None = None,
        max_bytes: int | None = None,
    ) -> DownloadResult:
        """Stream a package to `dest_path.part`, resume after cuts, verify, then rename into place.

        `expected_size` is the feed's recorded size and `max_bytes` the configured maximum;
        a body longer than either (or than the response advertises) fails the download.
        A hash mismatch or a failed transfer leaves neither the file nor the `.part`.
        """
        dest = Path(dest_path)
        part = dest.with_name(dest.name + ".part")
        url = self._url(self._package_path(package_id, version) + "/raw")
        what = f"downloading {package_id} {version} from {self.server}"
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            transfer = PartFile(part, expected_size, max_bytes, what)
        except OSError as error:
            raise BadInput(f"cannot write {str(part)!r}: {error.strerror}") from None
        try:
            self._download_into(url, what, transfer, progress)
            digest = transfer.digest.hexdigest()
            expected = (expected_sha256 or transfer.etag_sha or "").lower()
            if not expected:
                expected = str(self.package_detail(package_id, version).get("Sha256", "")).lower()
            if digest != expected:
                raise OperationFailed(
                    f"{what}: SHA-256 {digest} does not match the expected {expected}; "
                    "the download was discarded"
                )
            os.replace(part, dest)
        except BaseException:
            transfer.close()
            part.unlink(missing_ok=True)
            raise
        return DownloadResult(dest, digest, transfer.written, transfer.resumes)

    def _download_into(
        self, url: str, what: str, transfer: PartFile, progress: Progress | None
    ) -> None:
        """Fetch into the transfer, resuming with Range; retries count only attempts without progress."""
        attempt = 0
        while True:
            before = transfer.written
            response = None
            try:
                response = self._session.get(
                    url, headers=transfer.request_headers(), stream=True, timeout=self.timeout
                )
                with response:
                    if response.status_code in RETRY_STATUSES:
                        failure = f"{self.server} answered {response.status_code}"
                    else:
                        if response.status_code == 404:
                            raise OperationFailed(f"{what}: {self.server} has no such package")
                        if response.status_code not in (200, 206):
                            raise self._failed(response, what)
                        transfer.accept(response, what)
                        receive(response, transfer, progress, READ_BLOCK)
                        if transfer.total is None or transfer.written >= transfer.total:
                            transfer.finish()
                            return
                        failure = "the body ended early"
            except (*NETWORK_ERRORS, requests.exceptions.ChunkedEncodingError) as error:
                failure = f"the connection to {self.server} broke ({error.__class__.__name__})"
            if transfer.written > before:
                attempt = 0
            else:
                if attempt >= self.retries:
                    raise OperationFailed(
                        f"{what} failed after {attempts_text(attempt + 1)}: {failure}"
                    )
                self._wait(attempt, response)
                attempt += 1
            transfer.resumes += 1
