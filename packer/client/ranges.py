"""Byte ranges of one package on the feed: the tail, and any span, streamed.

Used by delta deploys (packer/target/delta.py). Each request asks for one range and must
get a 206 for exactly that range of the same object (`If-Range` holds the ETag of the
first answer); anything else raises `RangeRefused`, and the caller downloads whole.
Retries follow the feed client's: network errors and retryable statuses, with its backoff.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import requests

from packer.client.feed import FeedClient
from packer.client.http import NETWORK_ERRORS, RETRY_STATUSES, attempts_text
from packer.client.transfer import READ_BLOCK

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
_BROKEN = (*NETWORK_ERRORS, requests.exceptions.ChunkedEncodingError)


class RangeRefused(Exception):
    """The ranges cannot be had (no 206, a wrong range, a broken connection): download whole."""


class PackageRanges:
    """Ranged GETs of one package's `/raw` URL over the feed client's session and retries.

    `received` counts the body bytes of every answer and `requests` the requests sent, for
    the deploy's transfer report.
    """

    def __init__(self, client: FeedClient, package_id: str, version: str) -> None:
        self._client = client
        self.url = client._url(client._package_path(package_id, version) + "/raw")
        self.size: int | None = None  # the object's length, from the first Content-Range
        self.etag: str | None = None
        self.received = 0
        self.requests = 0

    def tail(self, count: int) -> bytes:
        """Return the last `count` bytes (fewer when the package is smaller); learn its size."""
        response = self._open(f"bytes=-{count}")
        with response:
            first, last, total = self._content_range(response)
            if last != total - 1 or last - first + 1 != min(count, total):
                raise RangeRefused(f"asked for the last {count} bytes, got {first}-{last}/{total}")
            chunks: list[bytes] = []
            self._read(response, last - first + 1, chunks.append)
        return b"".join(chunks)

    def read(self, start: int, end: int) -> bytes:
        """Return the bytes [start, end)."""
        chunks: list[bytes] = []
        self.stream(start, end, chunks.append)
        return b"".join(chunks)

    def stream(self, start: int, end: int, sink: Callable[[bytes], None]) -> None:
        """Pass the bytes [start, end) to `sink` in order; resume after a cut connection."""
        position = start
        attempt = 0
        while position < end:
            before = position
            try:
                response = self._open(f"bytes={position}-{end - 1}")
                with response:
                    first, last, _ = self._content_range(response)
                    if (first, last) != (position, end - 1):
                        raise RangeRefused(f"asked for {position}-{end - 1}, got {first}-{last}")
                    position += self._read(response, end - position, sink)
            except _BROKEN as error:
                failure = f"the connection broke ({error.__class__.__name__})"
            else:
                failure = "the body ended early"
            if position > before:
                attempt = 0
            elif position < end:
                if attempt >= self._client.retries:
                    raise RangeRefused(f"range {before}-{end - 1}: {failure}")
                self._client._wait(attempt, None)
                attempt += 1

    def _read(self, response: requests.Response, wanted: int, sink: Callable[[bytes], None]) -> int:
        """Pass at most `wanted` body bytes to `sink`; return how many came."""
        done = 0
        for block in response.iter_content(READ_BLOCK):
            block = block[: wanted - done]
            sink(block)
            done += len(block)
            self.received += len(block)
            if done >= wanted:
                break
        return done

    def _open(self, byte_range: str) -> requests.Response:
        """Send one ranged GET (retrying as the feed client does); return its 206 answer."""
        headers = {"Range": byte_range, "Accept-Encoding": "identity"}
        if self.etag:
            headers["If-Range"] = self.etag
        client = self._client
        attempt = 0
        while True:
            response = None
            self.requests += 1
            try:
                response = client._session.get(
                    self.url, headers=headers, stream=True, timeout=client.timeout
                )
                if response.status_code == 206:
                    self.etag = self.etag or response.headers.get("ETag")
                    return response
                response.close()
                if response.status_code not in RETRY_STATUSES:
                    raise RangeRefused(
                        f"{client.server} answered {response.status_code} to a Range request"
                        + (" (it ignores Range)" if response.status_code == 200 else "")
                    )
                failure = f"{client.server} answered {response.status_code}"
            except NETWORK_ERRORS as error:
                failure = f"cannot reach {client.server}: {error.__class__.__name__}"
            if attempt >= client.retries:
                raise RangeRefused(f"after {attempts_text(attempt + 1)}: {failure}")
            client._wait(attempt, response)
            attempt += 1

    def _content_range(self, response: requests.Response) -> tuple[int, int, int]:
        """Return (first, last, total) of a 206; refuse a total that changed between answers."""
        header = response.headers.get("Content-Range", "")
        match = _CONTENT_RANGE.fullmatch(header)
        if match is None:
            raise RangeRefused(f"a 206 with Content-Range {header!r}")
        first, last, total = (int(group) for group in match.groups())
        if self.size is not None and total != self.size:
            raise RangeRefused(f"the package changed size ({self.size} then {total})")
        self.size = total
        return first, last, total
