"""The feed generation marker and the NuGet response cache it validates: always fresh."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from feed.core.repository import GENERATION_KEY, Repository
from feed.http.nuget.common import CACHE_ENTRIES, CACHE_MAX_BYTES, CACHE_MAX_SECONDS, ResponseCache
from packer.archive.validator import Limits
from packer.model.conventions import OverwriteMode
from tests.feed.http.nuget.conftest import Packer, v3_push
from tests.helpers.backends import Backend
from tests.helpers.feed_server import ADMIN_KEY, running_feed


def _repository(storage) -> Repository:
    return Repository(storage, Limits(), lambda: datetime(2026, 1, 2, tzinfo=UTC))


def test_marker_is_made_by_the_first_reader_only(disk_backend: Backend, nupkg: Packer) -> None:
    repository = _repository(disk_backend.storage)
    repository.add_package(nupkg("A", "1.0.0"), "a.nupkg")
    keys = [info.key for info in disk_backend.storage.list("")]
    assert GENERATION_KEY not in keys  # nobody asked: a feed without NuGet readers stays as is
    first = repository.generation()
    assert repository.generation() == first
    assert GENERATION_KEY in [info.key for info in disk_backend.storage.list("")]


def test_every_change_of_a_record_moves_the_generation(backend: Backend, nupkg: Packer) -> None:
    repository = _repository(backend.storage)
    path = nupkg("A", "1.0.0")
    seen = [repository.generation()]

    def moved() -> bool:
        seen.append(repository.generation())
        return seen[-1] != seen[-2]

    repository.add_package(path, "a.nupkg")
    assert moved()
    repository.add_package(path, "a.nupkg", OverwriteMode.IGNORE_IF_EXISTS)
    assert not moved()  # kept: nothing changed
    repository.add_package(path, "a.nupkg", OverwriteMode.OVERWRITE_EXISTING)
    assert moved()
    repository.set_listed("A", "1.0.0", False)
    assert moved()
    repository.set_listed("A", "1.0.0", True)
    assert moved()
    repository.delete("A", "1.0.0")
    assert moved()
    repository.add_package(path, "a.nupkg")
    assert moved()
    record, etag = next(iter(repository.records_with_etags("A")))
    assert repository.delete_if_unchanged(record, etag)
    assert moved()
    with pytest.raises(Exception, match="refused|not"):
        broken = path.with_name("broken.nupkg")
        broken.write_bytes(b"not a zip")
        repository.add_package(broken, "broken.nupkg")
    assert not moved()


def test_queries_see_changes_made_through_another_feed_process(
    backend: Backend, clock, nupkg: Packer
) -> None:
    with (
        running_feed(backend.storage, clock=clock) as reader,
        running_feed(backend.storage, clock=clock) as writer,
    ):
        search = reader.url + "/v3/search?q=acme"
        flat = reader.url + "/v3/flatcontainer/acme.web/index.json"
        v2 = reader.url + "/api/v2/Search()/$count?searchTerm='acme'"
        assert requests.get(search).json()["totalHits"] == 0
        assert requests.get(flat).status_code == 404
        assert requests.get(v2).text == "0"
        assert v3_push(writer, nupkg("Acme.Web", "1.0.0")).status_code == 201
        assert requests.get(search).json()["totalHits"] == 1
        assert requests.get(flat).json() == {"versions": ["1.0.0"]}
        assert requests.get(v2).text == "1"
        assert v3_push(writer, nupkg("Acme.Web", "1.1.0")).status_code == 201
        assert requests.get(flat).json() == {"versions": ["1.0.0", "1.1.0"]}
        unlist = requests.delete(
            writer.url + "/v3/package/Acme.Web/1.1.0", headers={"X-NuGet-ApiKey": ADMIN_KEY}
        )
        assert unlist.status_code == 204
        assert requests.get(search).json()["data"][0]["version"] == "1.0.0"
        writer.repository.delete("Acme.Web", "1.0.0")  # e.g. Octopus's delete or retention
        writer.repository.delete("Acme.Web", "1.1.0")
        assert requests.get(search).json()["totalHits"] == 0
        assert requests.get(flat).status_code == 404


def test_cached_answers_keep_their_type_and_headers(disk_feed, nupkg: Packer) -> None:
    v3_push(disk_feed, nupkg("Acme.Web", "1.0.0"))
    for _ in range(2):  # the second answer comes from the cache
        v2 = requests.get(disk_feed.url + "/api/v2/FindPackagesById()?id='Acme.Web'")
        assert v2.headers["Content-Type"].startswith("application/atom+xml")
        assert v2.headers["DataServiceVersion"] == "2.0;"
        v3 = requests.get(disk_feed.url + "/v3/registration/acme.web/index.json")
        assert v3.headers["Content-Type"] == "application/json"
    forwarded = requests.get(
        disk_feed.url + "/v3/index.json", headers={"Host": "other.example:81"}
    ).json()
    assert forwarded["resources"][0]["@id"].startswith("http://other.example:81/")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_response_cache_bounds() -> None:
    clock = Clock()
    cache = ResponseCache(clock)
    cache.put(("g", "a"), b"body", "application/json")
    assert cache.get(("g", "a")) == (b"body", "application/json")
    assert cache.get(("h", "a")) is None
    clock.now += CACHE_MAX_SECONDS + 1
    assert cache.get(("g", "a")) is None  # too old: a safety net for a lost marker rewrite
    cache.put(("g", "big"), b"x" * (CACHE_MAX_BYTES + 1), "text/plain")
    assert cache.get(("g", "big")) is None
    for n in range(CACHE_ENTRIES + 5):
        cache.put(("g", str(n)), b"b", "text/plain")
    assert cache.get(("g", "0")) is None
    assert cache.get(("g", str(CACHE_ENTRIES + 4))) is not None


def test_private_feed_checks_the_key_before_the_cache(disk_backend: Backend, clock) -> None:
    with running_feed(disk_backend.storage, clock=clock, private=True) as feed:
        url = feed.url + "/v3/search"
        assert requests.get(url, headers={"X-NuGet-ApiKey": ADMIN_KEY}).status_code == 200
        assert requests.get(url).status_code == 401
