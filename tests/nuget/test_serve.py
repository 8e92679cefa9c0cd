"""NuGet endpoints under `octopack serve` (gunicorn, two workers): chunked push, freshness."""

from __future__ import annotations

import http.client
from pathlib import Path
from urllib.parse import urlsplit

import requests

from tests.helpers.feed_server import ADMIN_KEY, feed_process
from tests.nuget.conftest import Packer


def chunked_push(url: str, path: Path) -> int:
    """PUT a nupkg as the NuGet client does: multipart, chunked, no Content-Length."""
    boundary = "octopack-chunked"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="package"; '
        'filename="package.nupkg"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    body = head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.putrequest("PUT", "/v3/package")
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.putheader("X-NuGet-ApiKey", ADMIN_KEY)
        connection.endheaders()
        for start in range(0, len(body), 4096):
            chunk = body[start : start + 4096]
            connection.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        connection.send(b"0\r\n\r\n")
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_chunked_pushes_and_fresh_answers_from_every_worker(tmp_path: Path, nupkg: Packer) -> None:
    with feed_process(str(tmp_path / "store"), workers=2) as feed:
        flat = feed.url + "/v3/flatcontainer/acme.web/index.json"
        expected: list[str] = []
        for version in ("1.0.0", "1.1.0", "2.0.0"):
            assert chunked_push(feed.url, nupkg("Acme.Web", version)) == 201
            expected.append(version)
            with requests.Session() as session:  # fresh connections reach both workers
                for _ in range(6):
                    assert requests.get(flat, timeout=30).json() == {"versions": expected}
                    hits = session.get(feed.url + "/v3/search?q=acme", timeout=30).json()
                    assert hits["data"][0]["version"] == version
        assert chunked_push(feed.url, nupkg("Acme.Web", "2.0.0")) == 409
