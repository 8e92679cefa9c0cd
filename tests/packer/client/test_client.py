"""FeedClient against a real feed on loopback: push outcomes, retries, landed uploads,
versions and resumed downloads. Faults come from the faulty proxy, sleeps are recorded
instead of slept, so nothing here waits on a clock (the one timeout test uses a short
injected read timeout against a proxy that holds the answer until the test ends).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from packer.client.feed import FeedClient
from packer.client.transfer import CHUNK, MultipartBody, file_sha256
from packer.model.conventions import RAW_PUSH_TRAILER_BYTES
from packer.model.errors import BadInput, InvalidRange, OperationFailed
from tests.helpers.faulty_proxy import Fault, faulty_proxy
from tests.helpers.feed_server import running_feed
from tests.packer.client.conftest import ADMIN_KEY, make_package


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(feed, sleeps: list[float]) -> Iterator[FeedClient]:
    with FeedClient(feed.url, api_key=ADMIN_KEY, sleep=sleeps.append, timeout=30) as made:
        yield made


def proxied(url: str, sleeps: list[float], **options) -> FeedClient:
    options.setdefault("timeout", 30)
    return FeedClient(url, api_key=ADMIN_KEY, sleep=sleeps.append, **options)


# -- push outcomes -----------------------------------------------------------------------


def test_push_created_kept_conflict_overwritten(client: FeedClient, tmp_path: Path) -> None:
    first = make_package(tmp_path / "a", "Hello.App.1.0.0.zip", b"one")
    second = make_package(tmp_path / "b", "Hello.App.1.0.0.zip", b"two")

    created = client.push(first)
    assert (created.status, created.id, created.version) == ("created", "Hello.App", "1.0.0")
    assert created.ok and created.package["Sha256"] == file_sha256(first)

    kept = client.push(second, "ignore-if-exists")
    assert kept.status == "kept" and kept.ok
    assert client.package_detail("Hello.App", "1.0.0")["Sha256"] == file_sha256(first)

    conflict = client.push(second)
    assert conflict.status == "conflict" and not conflict.ok
    assert "already exists" in conflict.message

    overwritten = client.push(second, "OverwriteExisting")
    assert overwritten.status == "overwritten"
    assert client.package_detail("Hello.App", "1.0.0")["Sha256"] == file_sha256(second)
    assert created.to_json().keys() == {"file", "id", "version", "status", "message"}


def test_push_of_a_broken_archive_is_refused_and_stores_nothing(
    client: FeedClient, tmp_path: Path
) -> None:
    broken = tmp_path / "Broken.App.1.0.0.zip"
    broken.write_bytes(b"this is not a zip file")
    result = client.push(broken)
    assert result.status == "refused"
    assert "Broken.App.1.0.0.zip" in result.message
    assert client.versions("Broken.App", include_prerelease=True) == []


def test_wrong_and_missing_keys_say_so(feed, tmp_path: Path) -> None:
    package = make_package(tmp_path, "Hello.App.1.0.0.zip")
    with FeedClient(feed.url, api_key="not-a-key", sleep=lambda _: None) as wrong:
        result = wrong.push(package)
    assert result.status == "error"
    assert "refused the API key as wrong or revoked" in result.message
    with FeedClient(feed.url, sleep=lambda _: None) as anonymous:
        result = anonymous.push(package)
    assert result.status == "error"
    assert "needs an API key: give --api-key or set OCTOPACK_API_KEY" in result.message


def test_a_key_without_admin_scope_cannot_overwrite(feed, tmp_path: Path) -> None:
    from feed.core.keys import KeyStore

    _, push_key = KeyStore(feed.storage).create("push", "ci")
    package = make_package(tmp_path, "Hello.App.1.0.0.zip")
    with FeedClient(feed.url, api_key=push_key, sleep=lambda _: None) as ci:
        assert ci.push(package).status == "created"
        result = ci.push(package, "overwrite-existing")
    assert result.status == "error"
    assert "lacks the scope" in result.message and "admin" in result.message


def test_local_problems_are_bad_input_and_send_nothing(feed, tmp_path: Path) -> None:
    misnamed = make_package(tmp_path, "hello.zip")
    sleeps: list[float] = []
    with faulty_proxy(feed.url) as proxy:
        client = proxied(proxy.url, sleeps)
        with pytest.raises(BadInput, match="does not exist"):
            client.push(tmp_path / "Missing.App.1.0.0.zip")
        with pytest.raises(BadInput, match="invalid package file name 'hello.zip'"):
            client.push(misnamed)
        with pytest.raises(BadInput, match="unknown overwrite mode 'sometimes'"):
            client.push(make_package(tmp_path, "Hello.App.1.0.0.zip"), "sometimes")
    assert proxy.connections == 0


def test_bad_server_and_space_are_bad_input() -> None:
    with pytest.raises(BadInput, match="no feed server"):
        FeedClient("")
    with pytest.raises(BadInput, match="'ftp://feed' is not an http"):
        FeedClient("ftp://feed")
    with pytest.raises(BadInput, match="space 'Default' is not a space id"):
        FeedClient("http://127.0.0.1:1", space="Default")


def test_push_into_the_default_space(feed, tmp_path: Path) -> None:
    package = make_package(tmp_path, "Hello.App.1.0.0.zip")
    with FeedClient(feed.url, api_key=ADMIN_KEY, space="Spaces-1") as client:
        assert client.push(package).status == "created"
        assert [v.version for v in client.versions("Hello.App")] == ["1.0.0"]


def test_push_streams_with_a_content_length(feed, tmp_path: Path, sleeps: list[float]) -> None:
    """Bodies are generated in chunks (multipart: at most CHUNK), never chunked-encoded."""
    package = make_package(tmp_path, "Big.App.1.0.0.zip", size=3 * CHUNK)
    body = MultipartBody(package, package.name, package.stat().st_size, None)
    blocks = [len(block) for block in body]
    assert max(blocks) <= CHUNK and sum(blocks) == len(body)
    with faulty_proxy(feed.url) as proxy:
        assert proxied(proxy.url, sleeps).push(package).status == "created"
    head = proxy.request_heads[0].lower()
    assert "transfer-encoding" not in head
    length = int(head.split("content-length: ")[1].split("\r\n")[0])
    assert length == package.stat().st_size + RAW_PUSH_TRAILER_BYTES  # raw body + SHA-256 trailer


# -- retries -------------------------------------------------------------------------------


def test_push_retries_after_a_503(feed, tmp_path: Path, sleeps: list[float]) -> None:
    package = make_package(tmp_path, "Hello.App.1.0.0.zip")
    with faulty_proxy(feed.url, [Fault.answer(503)]) as proxy:
        result = proxied(proxy.url, sleeps).push(package)
    assert result.status == "created"
    assert sleeps == [0.5]
    assert [line.split()[0] for line in proxy.request_lines] == ["PUT", "PUT"]


def test_push_honours_retry_after(feed, tmp_path: Path, sleeps: list[float]) -> None:
    package = make_package(tmp_path, "Hello.App.1.0.0.zip")
    with faulty_proxy(feed.url, [Fault.answer(503, retry_after=7)]) as proxy:
        assert proxied(proxy.url, sleeps).push(package).status == "created"
    assert sleeps == [7.0]


def test_push_retries_after_a_cut_request(feed, tmp_path: Path, sleeps: list[float]) -> None:
    package = make_package(tmp_path, "Hello.App.1.0.0.zip", size=300_000)
    with faulty_proxy(feed.url, [Fault.cut_request_after(100_000)]) as proxy:
        result = proxied(proxy.url, sleeps).push(package)
    assert result.status == "created" and "landed" not in result.message
    assert sleeps == [0.5]
    # the cut PUT, then the "did it land?" check, then the retry as multipart POST
    assert proxy.faults_applied[:2] == ["cut_request", "clean"]
    assert [line.split()[0] for line in proxy.request_lines[:3]] == ["PUT", "GET", "POST"]
    with FeedClient(feed.url) as direct:
        assert direct.package_detail("Hello.App", "1.0.0")["Sha256"] == file_sha256(package)


def test_an_upload_that_landed_is_not_pushed_again(
    feed, tmp_path: Path, sleeps: list[float]
) -> None:
    """The feed stored the package but the answer was lost: the client checks the hash."""
    package = make_package(tmp_path, "Hello.App.1.0.0.zip", size=200_000)
    with faulty_proxy(feed.url, [Fault.cut_response_after(0)]) as proxy:
        result = proxied(proxy.url, sleeps).push(package)
    assert result.status == "created"
    assert "landed" in result.message
    assert sleeps == []
    assert [line.split()[0] for line in proxy.request_lines] == ["PUT", "GET"]
    assert result.package["Sha256"] == file_sha256(package)


def test_an_upload_that_landed_before_a_timeout_is_not_pushed_again(
    feed, tmp_path: Path, sleeps: list[float]
) -> None:
    package = make_package(tmp_path, "Hello.App.1.0.0.zip")
    with faulty_proxy(feed.url, [Fault.stall_response()]) as proxy:
        result = proxied(proxy.url, sleeps, timeout=(10, 0.5)).push(package)
        assert result.status == "created" and "landed" in result.message
    # even a feed slower than the timeout ends here: the retry's 409 is checked by hash too
    assert [line.split()[0] for line in proxy.request_lines[:2]] == ["PUT", "GET"]


def test_a_different_package_at_that_version_is_not_mistaken_for_ours(
    feed, client: FeedClient, tmp_path: Path, sleeps: list[float]
) -> None:
    theirs = make_package(tmp_path / "theirs", "Hello.App.1.0.0.zip", b"theirs")
    ours = make_package(tmp_path / "ours", "Hello.App.1.0.0.zip", b"ours", size=20_000)
    assert client.push(theirs).status == "created"
    with faulty_proxy(feed.url, [Fault.cut_request_after(5000)]) as proxy:
        result = proxied(proxy.url, sleeps).push(ours)
    assert result.status == "conflict"
    assert sleeps == [0.5]


def test_push_gives_up_after_the_retries(feed, tmp_path: Path, sleeps: list[float]) -> None:
    package = make_package(tmp_path, "Hello.App.1.0.0.zip")
    with faulty_proxy(feed.url, [Fault.answer(503)] * 3) as proxy:
        with pytest.raises(OperationFailed) as failure:
            proxied(proxy.url, sleeps, retries=2).push(package)
    assert str(failure.value) == (
        f"pushing Hello.App.1.0.0.zip to {proxy.url} failed after 3 attempts: "
        f"{proxy.url} answered 503: injected by the faulty proxy"
    )
    assert sleeps == [0.5, 1.0]
    with FeedClient(feed.url) as direct:
        assert direct.find_detail("Hello.App", "1.0.0") is None


def test_an_unreachable_feed_fails_after_the_retries(tmp_path: Path) -> None:
    package = make_package(tmp_path, "Hello.App.1.0.0.zip")
    sleeps: list[float] = []
    with faulty_proxy("http://127.0.0.1:9") as proxy:  # nothing listens on the discard port
        with pytest.raises(OperationFailed, match="failed after 2 attempts: the connection"):
            proxied(proxy.url, sleeps, retries=1).push(package)
    assert sleeps == [0.5]


# -- versions ------------------------------------------------------------------------------


@pytest.fixture
def many_versions(client: FeedClient, tmp_path: Path) -> FeedClient:
    for version in ["1.0.0", "1.1.0", "2.0.0-beta.2", "2.0.0-beta.10", "2.0.0", "10.0.0"]:
        assert client.push(make_package(tmp_path / version, f"Hello.App.{version}.zip")).ok
    return client


def test_versions_newest_first_across_pages(many_versions: FeedClient) -> None:
    found = many_versions.versions("Hello.App", page_size=2)
    assert [v.version for v in found] == ["10.0.0", "2.0.0", "1.1.0", "1.0.0"]
    assert all(v.size and v.size > 0 and v.published for v in found)
    everything = many_versions.versions("hello.app", include_prerelease=True, page_size=4)
    assert [v.version for v in everything] == [
        "10.0.0",
        "2.0.0",
        "2.0.0-beta.10",
        "2.0.0-beta.2",
        "1.1.0",
        "1.0.0",
    ]


def test_versions_range_and_latest(many_versions: FeedClient) -> None:
    in_range = many_versions.versions("Hello.App", "[1.0,2.0)")
    assert [v.version for v in in_range] == ["1.1.0", "1.0.0"]
    assert [v.version for v in many_versions.versions("Hello.App", latest=True)] == ["10.0.0"]
    best = many_versions.versions("Hello.App", "[2.0.0-beta.1,3.0)", True, latest=True)
    assert [v.version for v in best] == ["2.0.0"]
    assert many_versions.versions("Nobody.Here") == []


def test_versions_refuses_a_bad_range_or_id_before_asking(client: FeedClient) -> None:
    with pytest.raises(InvalidRange):
        client.versions("Hello.App", "[2.0,1.0")
    with pytest.raises(BadInput):
        client.versions("bad id!")


# -- downloads -----------------------------------------------------------------------------


def test_download_resumes_with_range_after_a_cut(
    feed, client: FeedClient, tmp_path: Path, sleeps: list[float]
) -> None:
    package = make_package(tmp_path / "src", "Big.App.1.0.0.zip", size=2_000_000)
    assert client.push(package).status == "created"
    dest = tmp_path / "cache" / "Big.App.1.0.0.zip"
    seen: list[int] = []
    with faulty_proxy(feed.url, [Fault.cut_response_after(700_000)]) as proxy:
        result = proxied(proxy.url, sleeps).download(
            "Big.App", "1.0.0", dest, progress=lambda done, total: seen.append(done)
        )
    assert dest.read_bytes() == package.read_bytes()
    assert result.sha256 == file_sha256(package) and result.resumes == 1
    assert sleeps == []
    resumed_head = proxy.request_heads[1]
    offset = int(resumed_head.split("Range: bytes=")[1].split("-")[0])
    assert 0 < offset < 700_000 and f'If-Range: "{result.sha256}"' in resumed_head
    assert seen[-1] == package.stat().st_size
    assert not dest.with_name(dest.name + ".part").exists()


def test_download_with_a_wrong_expected_hash_keeps_nothing(
    client: FeedClient, tmp_path: Path
) -> None:
    package = make_package(tmp_path / "src", "Hello.App.1.0.0.zip")
    assert client.push(package).ok
    dest = tmp_path / "cache" / "Hello.App.1.0.0.zip"
    with pytest.raises(OperationFailed, match="does not match the expected f{64}"):
        client.download("Hello.App", "1.0.0", dest, expected_sha256="f" * 64)
    assert list(dest.parent.iterdir()) == []


def test_download_verifies_against_the_feed_and_names_a_missing_package(
    client: FeedClient, tmp_path: Path
) -> None:
    package = make_package(tmp_path / "src", "Hello.App.1.0.0.zip")
    assert client.push(package).ok
    result = client.download("Hello.App", "1.0", tmp_path / "out.zip")
    assert result.sha256 == hashlib.sha256(package.read_bytes()).hexdigest()
    with pytest.raises(OperationFailed, match="has no such package"):
        client.download("Hello.App", "9.9.9", tmp_path / "none.zip")
    assert not (tmp_path / "none.zip").exists()
    with pytest.raises(OperationFailed, match="has no package Hello.App 9.9.9"):
        client.package_detail("Hello.App", "9.9.9")


# -- feeds with other settings -------------------------------------------------------------


def test_a_package_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    package = make_package(tmp_path, "Big.App.1.0.0.zip", size=200_000)
    with running_feed(tmp_path / "feed", api_keys=[ADMIN_KEY], max_package_bytes=50_000) as feed:
        with FeedClient(feed.url, api_key=ADMIN_KEY, sleep=lambda _: None) as client:
            result = client.push(package)
            assert result.status == "refused" and not result.ok
            assert client.find_detail("Big.App", "1.0.0") is None


def test_a_private_feed_needs_a_key_to_list(tmp_path: Path) -> None:
    with running_feed(tmp_path / "feed", api_keys=[ADMIN_KEY], private=True) as feed:
        with FeedClient(feed.url, api_key=ADMIN_KEY) as client:
            assert client.push(make_package(tmp_path, "Hello.App.1.0.0.zip")).ok
            assert [v.version for v in client.versions("Hello.App")] == ["1.0.0"]
        with FeedClient(feed.url) as anonymous:
            with pytest.raises(OperationFailed, match="needs an API key: give --api-key"):
                anonymous.versions("Hello.App")
