"""Downloads: HEAD, single ranges, 416, ETag and If-None-Match, on disk and S3."""

from __future__ import annotations

import random

import pytest
import requests

from feed.http.downloads import parse_range
from tests.feed.http.test_octopus_push import push
from tests.feed.packages import digests, make_zip


@pytest.fixture
def package(feed, tmp_path):
    """One pushed zip of about 200 KB; yield (raw URL, bytes, sha256)."""
    noise = random.Random(3).randbytes(200_000)
    path = make_zip(tmp_path, "Acme.Dl.1.0.0.zip", {"noise.bin": noise})
    resource = push(feed, path).json()
    return feed.url + resource["Links"]["Raw"], path.read_bytes(), digests(path)["sha256"]


def test_head_has_headers_and_no_body(package) -> None:
    url, data, sha = package
    response = requests.head(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(data))
    assert response.headers["ETag"] == f'"{sha}"'
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.content == b""


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-9", 0, 10), ("bytes=1000-", 1000, None), ("bytes=-500", -500, None)],
)
def test_single_ranges(package, header, start, end) -> None:
    url, data, _ = package
    response = requests.get(url, headers={"Range": header}, timeout=10)
    assert response.status_code == 206
    expected = data[start:end]
    assert response.content == expected
    first = start if start >= 0 else len(data) + start
    assert response.headers["Content-Range"] == (
        f"bytes {first}-{first + len(expected) - 1}/{len(data)}"
    )


def test_range_past_the_end_is_416(package) -> None:
    url, data, _ = package
    response = requests.get(url, headers={"Range": f"bytes={len(data)}-"}, timeout=10)
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(data)}"


def test_if_none_match_gives_304_and_other_etag_the_bytes(package) -> None:
    url, data, sha = package
    fresh = requests.get(url, headers={"If-None-Match": f'"{sha}"'}, timeout=10)
    assert fresh.status_code == 304 and fresh.content == b""
    stale = requests.get(url, headers={"If-None-Match": '"something-else"'}, timeout=10)
    assert stale.status_code == 200 and stale.content == data


def test_if_range_with_a_changed_etag_sends_everything(package) -> None:
    url, data, _ = package
    response = requests.get(url, headers={"Range": "bytes=0-9", "If-Range": '"old"'}, timeout=10)
    assert response.status_code == 200 and response.content == data


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-0", (0, 1)),
        ("bytes=5-2", None),
        ("bytes=0-5,7-9", None),
        ("items=0-5", None),
        ("bytes=-0", "unsatisfiable"),
        ("bytes=-50", (0, 10)),
        ("bytes=3-100", (3, 10)),
        ("bytes=10-", "unsatisfiable"),
    ],
)
def test_parse_range(header, expected) -> None:
    assert parse_range(header, 10) == expected
