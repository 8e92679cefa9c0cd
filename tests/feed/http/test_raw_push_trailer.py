"""The raw push with its SHA-256 as a trailer (`X-Octopack-Sha256: trailer`), under gunicorn.

The body is the package followed by its SHA-256 as 64 hex digits: stored byte-exact when
the trailer matches, refused with nothing stored when it does not or when the body is
shorter than the trailer; the connection stays usable after a trailer push; octopack's own
client pushes this way and falls back to multipart on a feed without the route.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from packer.client.feed import FeedClient
from tests.feed.http.test_raw_push_gunicorn import big_zip, blobs, raw_request
from tests.feed.packages import digests
from tests.helpers.faulty_proxy import faulty_proxy
from tests.helpers.feed_server import ADMIN_KEY, FeedProcess, feed_process

TRAILER = {"X-Octopus-ApiKey": ADMIN_KEY, "X-Octopack-Sha256": "trailer"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FeedProcess, Path]]:
    """One gunicorn feed on disk (packages up to 20 MiB) and its store."""
    store = tmp_path_factory.mktemp("raw-trailer") / "store"
    with feed_process(str(store), args=["--max-package-size", "20MiB"]) as feed:
        yield feed, store


def with_trailer(data: bytes, sha256: str | None = None) -> bytes:
    return data + (sha256 or hashlib.sha256(data).hexdigest()).encode()


def stored_blob(store: Path, package: str) -> bytes:
    (found,) = blobs(store, package)
    return found.read_bytes()


def test_trailer_push_is_stored_byte_exact_with_every_hash(served, tmp_path) -> None:
    feed, store = served
    path = big_zip(tmp_path, "Trail.Exact.1.0.0.zip", 9 * 1024 * 1024 + 5)
    data = path.read_bytes()
    url = f"{feed.url}/api/octopack/packages/{path.name}"
    answer = requests.put(url, data=with_trailer(data), headers=TRAILER, timeout=60)
    assert answer.status_code == 201, answer.text
    expected = digests(path)
    assert answer.json()["Sha256"] == expected["sha256"]
    detail = requests.get(f"{feed.url}/api/packages/packages-Trail.Exact.1.0.0", timeout=30)
    assert (detail.json()["Hash"], detail.json()["Sha256"], detail.json()["Sha512"]) == (
        expected["sha1"],
        expected["sha256"],
        expected["sha512"],
    )
    assert stored_blob(store, "trail.exact") == data


def test_uppercase_trailer_is_accepted(served, tmp_path) -> None:
    feed, store = served
    data = big_zip(tmp_path, "Trail.Upper.1.0.0.zip", 1000).read_bytes()
    body = with_trailer(data, hashlib.sha256(data).hexdigest().upper())
    url = f"{feed.url}/api/octopack/packages/Trail.Upper.1.0.0.zip"
    assert requests.put(url, data=body, headers=TRAILER, timeout=60).status_code == 201
    assert stored_blob(store, "trail.upper") == data


def test_wrong_trailer_is_refused_and_nothing_stored(served, tmp_path) -> None:
    feed, store = served
    data = big_zip(tmp_path, "Trail.Wrong.1.0.0.zip", 6 * 1024 * 1024).read_bytes()
    url = f"{feed.url}/api/octopack/packages/Trail.Wrong.1.0.0.zip"
    answer = requests.put(url, data=with_trailer(data, "0" * 64), headers=TRAILER, timeout=60)
    assert answer.status_code == 400
    assert "the trailer says '" + "0" * 64 in answer.json()["ErrorMessage"]
    assert "nothing was stored" in answer.json()["ErrorMessage"]
    assert requests.get(f"{feed.url}/api/packages/packages-Trail.Wrong.1.0.0").status_code == 404
    assert blobs(store, "trail.wrong") == []


def test_missing_trailer_is_a_mismatch(served, tmp_path) -> None:
    """A client that says `trailer` but sends only the package: its last 64 bytes are no hash."""
    feed, store = served
    data = big_zip(tmp_path, "Trail.None.1.0.0.zip", 5 * 1024 * 1024).read_bytes()
    answer = raw_request(feed, "Trail.None.1.0.0.zip", data, len(data), "trailer")
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"nothing was stored" in answer
    assert blobs(store, "trail.none") == []


def test_body_shorter_than_the_trailer_is_refused(served) -> None:
    feed, store = served
    answer = raw_request(feed, "Trail.Short.1.0.0.zip", b"a" * 63, 63, "trailer")
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"shorter than its 64-byte SHA-256 trailer" in answer
    assert blobs(store, "trail.short") == []


def test_connection_is_reused_after_a_trailer_push(served, tmp_path) -> None:
    feed, _ = served
    first = big_zip(tmp_path, "Trail.Reuse.1.0.0.zip", 5 * 1024 * 1024 + 3)
    second = big_zip(tmp_path, "Trail.Reuse.2.0.0.zip", 1000)
    with faulty_proxy(feed.url) as proxy, requests.Session() as session:
        for path in (first, second):
            url = f"{proxy.url}/api/octopack/packages/{path.name}"
            body = with_trailer(path.read_bytes())
            answer = session.put(url, data=body, headers=TRAILER, timeout=60)
            assert answer.status_code == 201, answer.text
        download = session.get(f"{proxy.url}/api/packages/packages-Trail.Reuse.2.0.0/raw")
    assert download.content == second.read_bytes()
    assert proxy.connections == 1


def test_client_pushes_with_a_trailer_under_gunicorn(served, tmp_path) -> None:
    feed, store = served
    path = big_zip(tmp_path, "Trail.Client.1.0.0.zip", 9 * 1024 * 1024)
    with FeedClient(feed.url, api_key=ADMIN_KEY) as client:
        report = client.push(path)
        again = client.push(path, "ignore-if-exists")
    assert (report.status, again.status) == ("created", "kept")
    assert report.package["Sha256"] == digests(path)["sha256"]
    assert stored_blob(store, "trail.client") == path.read_bytes()
