"""The client's raw push against octopack feeds, and its multipart fallback elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import request

from packer.client.feed import FeedClient
from packer.client.rawpush import RAW_CHUNK, RawBody
from packer.client.transfer import file_sha256
from packer.model.conventions import RAW_PUSH_TRAILER_BYTES
from packer.model.errors import BadInput
from tests.helpers.faulty_proxy import faulty_proxy
from tests.helpers.feed_server import RunningFeed
from tests.packer.client.conftest import ADMIN_KEY, make_package


@pytest.fixture
def sleeps() -> list[float]:
    return []


def without_raw_route(feed: RunningFeed, status: int) -> None:
    """Make the feed answer `status` on the raw route, as a feed without it does."""

    @feed.app.before_request
    def refuse_raw() -> tuple[str, int] | None:
        if request.path.startswith("/api/octopack/packages/"):
            return "no such route", status
        return None


def methods(lines: list[str]) -> list[str]:
    return [line.split()[0] for line in lines]


def test_raw_body_is_the_file_in_large_blocks_then_its_sha256(tmp_path: Path) -> None:
    package = make_package(tmp_path, "Big.App.1.0.0.zip", size=2 * RAW_CHUNK + 1000)
    size = package.stat().st_size
    body = RawBody(package, size, None)
    assert body.sha256 is None
    blocks = list(body)
    sha = file_sha256(package)
    assert b"".join(blocks) == package.read_bytes() + sha.encode()
    assert len(body) == size + RAW_PUSH_TRAILER_BYTES == sum(len(block) for block in blocks)
    assert max(len(block) for block in blocks) == RAW_CHUNK
    assert blocks[-1] == sha.encode() and body.sha256 == sha


def test_raw_body_refuses_a_file_that_shrank(tmp_path: Path) -> None:
    package = make_package(tmp_path, "Big.App.1.0.0.zip", size=1000)
    body = RawBody(package, package.stat().st_size + 10, None)
    with pytest.raises(BadInput, match="shrank during upload"):
        list(body)


def test_client_pushes_raw_to_an_octopack_feed(feed, tmp_path: Path, sleeps) -> None:
    package = make_package(tmp_path, "Hello.App.1.0.0.zip", size=50_000)
    with faulty_proxy(feed.url) as proxy:
        with FeedClient(proxy.url, api_key=ADMIN_KEY, sleep=sleeps.append) as client:
            result = client.push(package)
    assert result.status == "created"
    assert result.package["Sha256"] == file_sha256(package)
    assert proxy.request_lines[0].startswith("PUT /api/octopack/packages/Hello.App.1.0.0.zip")
    head = proxy.request_heads[0].lower()
    assert "x-octopack-sha256: trailer" in head
    assert f"content-length: {package.stat().st_size + RAW_PUSH_TRAILER_BYTES}" in head


@pytest.mark.parametrize("status", [404, 405])
def test_client_falls_back_to_multipart(feed, tmp_path: Path, sleeps, status: int) -> None:
    without_raw_route(feed, status)
    first = make_package(tmp_path, "Hello.App.1.0.0.zip")
    second = make_package(tmp_path, "Hello.App.2.0.0.zip")
    with faulty_proxy(feed.url) as proxy:
        with FeedClient(proxy.url, api_key=ADMIN_KEY, sleep=sleeps.append) as client:
            assert client.push(first).status == "created"
            assert client.push(second).status == "created"  # remembered: no second PUT
    assert methods(proxy.request_lines) == ["PUT", "POST", "POST"]
    assert sleeps == []
    with FeedClient(feed.url) as direct:
        assert direct.package_detail("Hello.App", "2.0.0")["Sha256"] == file_sha256(second)


@pytest.fixture
def client(feed, sleeps) -> Iterator[FeedClient]:
    with FeedClient(feed.url, api_key=ADMIN_KEY, sleep=sleeps.append) as made:
        yield made


def test_raw_push_outcomes_match_multipart(client: FeedClient, tmp_path: Path) -> None:
    first = make_package(tmp_path, "Hello.App.1.0.0.zip", b"one")
    second = make_package(tmp_path / "other", "Hello.App.1.0.0.zip", b"two")
    assert client.push(first).status == "created"
    assert client.push(second, "ignore-if-exists").status == "kept"
    assert client.push(second).status == "conflict"
    assert client.push(second, "OverwriteExisting").status == "overwritten"
