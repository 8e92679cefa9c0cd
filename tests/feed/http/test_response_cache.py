"""The Octopus read views' response cache: fresh across feed processes, keyed, bounded in age.

Two apps on one storage stand for two feed processes: each has its own response cache, so
an answer the reader cached must give way at once to a change made through the writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from feed.core.config import config_from_env
from feed.core.errors import BadRequest
from feed.http.cache import CACHE_EXTENSION, ResponseCache
from tests.feed.http.test_octopus_push import push
from tests.feed.packages import digests, make_zip
from tests.helpers.feed_server import ADMIN_KEY, RunningFeed, running_feed

ADMIN = {"X-Octopus-ApiKey": ADMIN_KEY}
VERSIONS = "/api/feeds/feeds-builtin/packages/versions?packageId=Acme.Svc&includePreRelease=true"
DETAIL = "/api/Spaces-1/packages/packages-Acme.Svc.1.0.0"


class CacheClock:
    """A monotonic clock the test moves by hand (the cache's age, not Published)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pair(backend, clock) -> Iterator[tuple[RunningFeed, RunningFeed]]:
    """A reader and a writer feed over one storage, each with its own response cache."""
    with (
        running_feed(backend.storage, clock=clock) as reader,
        running_feed(backend.storage, clock=clock) as writer,
    ):
        yield reader, writer


def _zip(tmp_path: Path, version: str, payload: bytes = b"one") -> Path:
    folder = tmp_path / f"{version}-{payload.decode()}"
    folder.mkdir()
    return make_zip(folder, f"Acme.Svc.{version}.zip", {"v": payload})


def _versions(feed: RunningFeed) -> list[str]:
    response = requests.get(feed.url + VERSIONS, timeout=10)
    assert response.status_code == 200, response.text
    return [item["Version"] for item in response.json()["Items"]]


def _detail(feed: RunningFeed) -> requests.Response:
    return requests.get(feed.url + DETAIL, timeout=10)


def _cache(feed: RunningFeed) -> ResponseCache:
    return feed.app.extensions[CACHE_EXTENSION]


def test_push_overwrite_delete_are_seen_at_once_by_the_other_process(pair, tmp_path) -> None:
    reader, writer = pair
    for _ in range(2):  # the second answer comes from the reader's cache
        assert _versions(reader) == []
        assert _detail(reader).status_code == 404
    first, second = _zip(tmp_path, "1.0.0"), _zip(tmp_path, "1.0.0", b"two")

    assert push(writer, first).status_code == 201
    assert _versions(reader) == ["1.0.0"]
    assert _versions(reader) == ["1.0.0"]
    assert _detail(reader).json()["Sha256"] == digests(first)["sha256"]

    overwritten = push(writer, second, params={"overwriteMode": "OverwriteExisting"})
    assert overwritten.status_code == 200
    assert _detail(reader).json()["Sha256"] == digests(second)["sha256"]
    listed = requests.get(reader.url + "/api/packages", timeout=10).json()["Items"]
    assert [i["Sha256"] for i in listed] == [digests(second)["sha256"]]

    assert requests.delete(writer.url + DETAIL, headers=ADMIN, timeout=10).status_code == 200
    assert _versions(reader) == []
    assert _detail(reader).status_code == 404
    assert requests.get(reader.url + "/api/packages", timeout=10).json()["TotalResults"] == 0


def test_retention_and_unlisting_are_seen_at_once_by_the_other_process(
    pair, clock, tmp_path
) -> None:
    reader, writer = pair
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        assert push(writer, _zip(tmp_path, version)).status_code == 201
    clock.advance(60)  # retention keeps what was published at or after its "now"
    assert _versions(reader) == ["2.0.0", "1.1.0", "1.0.0"]
    assert _detail(reader).status_code == 200

    run = requests.post(
        writer.url + "/api/octopack/retention/run", json={"keep_last": 1}, headers=ADMIN, timeout=10
    )
    assert run.status_code == 200, run.text
    assert _versions(reader) == ["2.0.0"]
    assert _detail(reader).status_code == 404

    writer.repository.set_listed("Acme.Svc", "2.0.0", False)  # NuGet's delete
    assert _versions(reader) == []


def test_generation_is_read_before_the_answer_is_computed(pair, tmp_path) -> None:
    """A change landing while the reader computes must not be cached under the new marker."""
    reader, writer = pair
    repository = reader.repository
    real_find = repository.find_versions
    pushed: list[int] = []

    def find_then_change(*args, **kwargs):
        answer = real_find(*args, **kwargs)
        if not pushed:  # a write commits after we listed, before we answer
            pushed.append(push(writer, _zip(tmp_path, "3.0.0")).status_code)
        return answer

    repository.find_versions = find_then_change
    try:
        assert _versions(reader) == []  # began before the push: the old answer is right
    finally:
        repository.find_versions = real_find
    assert pushed == [201]
    assert _versions(reader) == ["3.0.0"]  # cached under the old marker: not served


def test_a_lost_marker_rewrite_is_bounded_by_cache_max_age(backend, clock, tmp_path) -> None:
    with running_feed(backend.storage, clock=clock, cache_max_age=30) as feed:
        cache_clock = CacheClock()
        _cache(feed).clock = cache_clock
        assert _cache(feed).max_age == 30
        assert push(feed, _zip(tmp_path, "1.0.0")).status_code == 201
        assert _versions(feed) == ["1.0.0"]
        # a writer that died after its commit, before rewriting the marker
        key = _key(feed)
        feed.storage.delete_record(key, if_match=feed.storage.stat(key).etag)
        cache_clock.now += 29
        assert _versions(feed) == ["1.0.0"]  # the documented window
        cache_clock.now += 1
        assert _versions(feed) == []


def _key(feed: RunningFeed) -> str:
    keys = [i.key for i in feed.storage.list("packages/") if i.key.endswith(".json")]
    assert len(keys) == 1, keys
    return keys[0]


def test_cache_max_age_zero_turns_the_cache_off(disk_backend, clock, tmp_path) -> None:
    with running_feed(disk_backend.storage, clock=clock, cache_max_age=0) as feed:
        assert push(feed, _zip(tmp_path, "1.0.0")).status_code == 201
        assert _versions(feed) == ["1.0.0"]
        key = _key(feed)
        feed.storage.delete_record(key, if_match=feed.storage.stat(key).etag)
        assert _versions(feed) == []  # no marker rewrite, yet nothing stale was served


def test_private_feed_checks_the_key_before_serving_from_the_cache(
    disk_backend, clock, tmp_path
) -> None:
    with running_feed(disk_backend.storage, clock=clock, private=True) as feed:
        assert push(feed, _zip(tmp_path, "1.0.0")).status_code == 201
        created = requests.post(
            feed.url + "/api/octopack/keys", json={"scope": "read", "name": "r"}, headers=ADMIN
        )
        assert created.status_code in (200, 201), created.text
        reader = {"X-Octopus-ApiKey": created.json()["key"]}
        for url in (feed.url + VERSIONS, feed.url + DETAIL, feed.url + "/api/packages"):
            assert requests.get(url, headers=reader, timeout=10).status_code == 200
            assert requests.get(url, headers=reader, timeout=10).status_code == 200  # cached
            anonymous = requests.get(url, timeout=10)
            assert anonymous.status_code == 401
            assert "API key" in anonymous.json()["ErrorMessage"]
            assert "Items" not in anonymous.text and "Sha256" not in anonymous.text
        revoke = requests.delete(feed.url + "/api/octopack/keys/r", headers=ADMIN, timeout=10)
        assert revoke.status_code == 200, revoke.text
        assert requests.get(feed.url + VERSIONS, headers=reader, timeout=10).status_code == 401


def test_answers_are_keyed_by_query_and_host(disk_feed, tmp_path) -> None:
    for version in ("1.0.0", "2.0.0-rc.1"):
        assert push(disk_feed, _zip(tmp_path, version)).status_code == 201
    assert _versions(disk_feed) == ["2.0.0-rc.1", "1.0.0"]
    url = disk_feed.url + VERSIONS.replace("true", "false")
    assert [i["Version"] for i in requests.get(url, timeout=10).json()["Items"]] == ["1.0.0"]
    paged = requests.get(disk_feed.url + VERSIONS + "&take=1", timeout=10).json()
    assert [i["Version"] for i in paged["Items"]] == ["2.0.0-rc.1"]
    assert paged["Links"]["Page.Next"].startswith("/api/feeds/feeds-builtin/packages/versions?")
    spaced = requests.get(disk_feed.url + "/api/Spaces-1" + VERSIONS[4:], timeout=10).json()
    assert spaced["Items"][0]["Links"]["Self"].startswith("/api/Spaces-1/packages/")
    assert spaced["Links"]["Self"].startswith("/api/Spaces-1/feeds/")
    other = requests.get(disk_feed.url + VERSIONS, headers={"Host": "other.example"}, timeout=10)
    assert other.status_code == 200 and other.json()["TotalResults"] == 2
    assert "other.example" not in other.text and "127.0.0.1" not in other.text  # relative


def test_absolute_nuget_links_are_cached_per_host(disk_feed) -> None:
    for _ in range(2):
        index = requests.get(disk_feed.url + "/v3/index.json", timeout=10).json()
        assert index["resources"][0]["@id"].startswith(disk_feed.url + "/")
    other = requests.get(disk_feed.url + "/v3/index.json", headers={"Host": "other.example:81"})
    assert other.json()["resources"][0]["@id"].startswith("http://other.example:81/")


def test_bad_cache_max_age_is_refused_with_its_value() -> None:
    with pytest.raises(BadRequest, match="OCTOPACK_CACHE_MAX_AGE='soon'"):
        config_from_env({"OCTOPACK_CACHE_MAX_AGE": "soon"})
    assert config_from_env({"OCTOPACK_CACHE_MAX_AGE": "45"}).cache_max_age == 45
    with pytest.raises(BadRequest, match="cache_max_age=-1"):
        ResponseCache(max_age=-1)
