"""The raw push under gunicorn, where the body is read straight from the connection.

Bodies of several 4 MiB pieces, a connection reused after a raw push, and bodies that
lie about themselves: a wrong hash, a Content-Length too short or too long, too large.
"""

from __future__ import annotations

import hashlib
import os
import socket
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.feed.packages import digests
from tests.helpers.feed_server import ADMIN_KEY, FeedProcess, feed_process


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FeedProcess, Path]]:
    """One gunicorn feed on disk (packages up to 20 MiB) and its store."""
    store = tmp_path_factory.mktemp("raw-gunicorn") / "store"
    with feed_process(str(store), args=["--max-package-size", "20MiB"]) as feed:
        yield feed, store


def big_zip(folder: Path, name: str, size: int) -> Path:
    """A stored zip of `size` random bytes: several raw-read pieces."""
    path = folder / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("payload.bin", os.urandom(size))
    return path


def headers(data: bytes, sha256: str | None = None) -> dict[str, str]:
    declared = sha256 or hashlib.sha256(data).hexdigest()
    return {"X-Octopus-ApiKey": ADMIN_KEY, "X-Octopack-Sha256": declared}


def blobs(store: Path, package: str) -> list[Path]:
    """The package files stored below `packages/{id}` (no records, no temp files)."""
    return [p for p in (store / "packages" / package).rglob("*.zip") if p.is_file()]


def test_large_raw_push_keeps_the_connection_usable(served, tmp_path) -> None:
    feed, _ = served
    first = big_zip(tmp_path, "Big.Raw.1.0.0.zip", 9 * 1024 * 1024)
    second = big_zip(tmp_path, "Big.Raw.1.0.1.zip", 5 * 1024 * 1024 + 17)
    with requests.Session() as session:
        for path in (first, second):
            data = path.read_bytes()
            url = f"{feed.url}/api/octopack/packages/{path.name}"
            answer = session.put(url, data=data, headers=headers(data), timeout=60)
            assert answer.status_code == 201, answer.text
        detail = session.get(f"{feed.url}/api/packages/packages-Big.Raw.1.0.0", timeout=30)
        download = session.get(f"{feed.url}/api/packages/packages-Big.Raw.1.0.1/raw", timeout=30)
    expected = digests(first)
    assert detail.status_code == 200
    assert (detail.json()["Hash"], detail.json()["Sha512"]) == (
        expected["sha1"],
        expected["sha512"],
    )
    assert download.content == second.read_bytes()


def test_wrong_hash_under_gunicorn_stores_nothing(served, tmp_path) -> None:
    feed, store = served
    data = big_zip(tmp_path, "Bad.Hash.1.0.0.zip", 6 * 1024 * 1024).read_bytes()
    with requests.Session() as session:
        answer = session.put(
            f"{feed.url}/api/octopack/packages/Bad.Hash.1.0.0.zip",
            data=data,
            headers=headers(data, "0" * 64),
            timeout=60,
        )
        assert answer.status_code == 400
        assert "nothing was stored" in answer.json()["ErrorMessage"]
        assert session.get(f"{feed.url}/api/packages/packages-Bad.Hash.1.0.0").status_code == 404
    assert blobs(store, "bad.hash") == []


def raw_request(feed: FeedProcess, name: str, body: bytes, length: int, sha256: str) -> bytes:
    """Send a PUT by hand (any Content-Length), close our side, return what came back.

    `sha256` is the X-Octopack-Sha256 value (64 hex digits or "trailer").
    """
    where = urlsplit(feed.url)
    head = (
        f"PUT /api/octopack/packages/{name} HTTP/1.1\r\nHost: {where.netloc}\r\n"
        f"X-Octopus-ApiKey: {ADMIN_KEY}\r\nX-Octopack-Sha256: {sha256}\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((where.hostname, where.port), timeout=60) as conn:
        conn.sendall(head + body)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while piece := conn.recv(65536):
            answer += piece
    return answer


def test_cut_body_is_refused_and_nothing_stored(served, tmp_path) -> None:
    feed, store = served
    data = big_zip(tmp_path, "Cut.Body.1.0.0.zip", 5 * 1024 * 1024).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    answer = raw_request(feed, "Cut.Body.1.0.0.zip", data, len(data) + 1000, sha)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert blobs(store, "cut.body") == []
    assert requests.get(f"{feed.url}/health", timeout=10).status_code == 200


def test_short_content_length_is_a_hash_mismatch(served, tmp_path) -> None:
    feed, store = served
    data = big_zip(tmp_path, "Short.Length.1.0.0.zip", 5 * 1024 * 1024).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    answer = raw_request(feed, "Short.Length.1.0.0.zip", data, len(data) - 10, sha)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"nothing was stored" in answer
    assert blobs(store, "short.length") == []


def test_oversized_body_is_refused_before_it_is_read(served, tmp_path) -> None:
    feed, store = served
    data = b"x" * 1024
    answer = raw_request(feed, "Too.Big.1.0.0.zip", data, 21 * 1024 * 1024, "0" * 64)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert blobs(store, "too.big") == []
