"""Fixtures for NuGet tests: real nupkgs and pushes as NuGet clients send them.

Backends, the clock and the feed come from tests/feed/conftest.py.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.feed.http.nuget.packages import make_package
from tests.helpers.feed_server import ADMIN_KEY, RunningFeed

Packer = Callable[..., Path]


@pytest.fixture
def nupkg(tmp_path: Path) -> Packer:
    """Build a real nupkg: nupkg("Acme.Web", "1.0.0", dependency_groups=[...])."""
    return lambda package_id, version, **kw: make_package(tmp_path, package_id, version, **kw)


def v3_push(
    feed: RunningFeed, path: Path, key: str | None = ADMIN_KEY, url: str = "/v3/package"
) -> requests.Response:
    """Push like the NuGet client: PUT multipart, the package in the first part."""
    headers = {"X-NuGet-ApiKey": key} if key else {}
    with path.open("rb") as body:
        return requests.put(
            feed.url + url, files={"package": ("package.nupkg", body)}, headers=headers, timeout=30
        )


def seed(feed: RunningFeed, path: Path) -> None:
    """Add a package straight through the repository core (fast test setup)."""
    feed.repository.add_package(path, path.name)


def chunked_push(
    url: str,
    path: Path,
    route: str = "/v3/package",
    chunk_size: int = 4096,
    boundary: str = "octopack-chunked",
    timeout: float = 60,
) -> tuple[int, bytes]:
    """PUT a nupkg as the NuGet client does: multipart, chunked, no Content-Length."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="package"; '
        'filename="package.nupkg"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    body = head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.putrequest("PUT", route)
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.putheader("X-NuGet-ApiKey", ADMIN_KEY)
        connection.endheaders()
        for start in range(0, len(body), chunk_size):
            chunk = body[start : start + chunk_size]
            connection.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        connection.send(b"0\r\n\r\n")
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
