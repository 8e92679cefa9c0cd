"""The Octopus versions query: ranges, prereleases, paging, with and without a space id."""

from __future__ import annotations

import pytest
import requests

from tests.feed.http.test_octopus_push import push
from tests.feed.packages import make_zip

VERSIONS = ["1.0.0", "1.1.0", "1.2.0-beta.1", "1.2.0", "2.0.0-rc.1", "10.0.0"]


@pytest.fixture
def versions_feed(feed, tmp_path):
    """A feed holding Acme.Svc in several versions, pushed out of order."""
    for version in reversed(VERSIONS):
        folder = tmp_path / version
        folder.mkdir()
        assert push(feed, make_zip(folder, f"Acme.Svc.{version}.zip")).status_code == 201
    return feed


def query(feed, space: str | None = None, **params) -> dict:
    base = f"{feed.url}/api/{space}" if space else f"{feed.url}/api"
    response = requests.get(
        f"{base}/feeds/feeds-builtin/packages/versions",
        params={"packageId": "acme.svc", **params},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("space", [None, "Spaces-1"])
def test_stable_by_default_newest_first(versions_feed, space) -> None:
    document = query(versions_feed, space)
    assert [i["Version"] for i in document["Items"]] == ["10.0.0", "1.2.0", "1.1.0", "1.0.0"]
    assert document["TotalResults"] == 4 and document["ItemsPerPage"] == 30
    assert set(document) >= {"ItemType", "TotalResults", "ItemsPerPage", "Items", "Links"}
    item = document["Items"][0]
    assert set(item) >= {"PackageId", "Version", "Published", "SizeBytes", "Title", "ReleaseNotes"}


def test_prerelease_and_range(versions_feed) -> None:
    everything = query(versions_feed, includePreRelease="True")
    assert [i["Version"] for i in everything["Items"]] == [
        "10.0.0",
        "2.0.0-rc.1",
        "1.2.0",
        "1.2.0-beta.1",
        "1.1.0",
        "1.0.0",
    ]
    ranged = query(versions_feed, versionRange="[1.1,2.0)")
    assert [i["Version"] for i in ranged["Items"]] == ["1.2.0", "1.1.0"]
    floating = query(versions_feed, versionRange="1.*", includePreRelease="true")
    assert [i["Version"] for i in floating["Items"]] == ["1.2.0", "1.2.0-beta.1", "1.1.0", "1.0.0"]


def test_paging(versions_feed) -> None:
    first = query(versions_feed, take=2)
    second = query(versions_feed, take=2, skip=2)
    assert [i["Version"] for i in first["Items"]] == ["10.0.0", "1.2.0"]
    assert [i["Version"] for i in second["Items"]] == ["1.1.0", "1.0.0"]
    assert first["TotalResults"] == second["TotalResults"] == 4
    assert "packageId=acme.svc" in first["Links"]["Page.Next"]
    assert query(versions_feed, skip=10)["Items"] == []


def test_unknown_package_is_an_empty_collection(versions_feed) -> None:
    response = requests.get(
        f"{versions_feed.url}/api/feeds/feeds-builtin/packages/versions",
        params={"packageId": "Acme"},  # a prefix of another id must not match
        timeout=10,
    )
    assert response.status_code == 200 and response.json()["TotalResults"] == 0


def test_package_queries_list_one_prefix_and_reread_only_changes(versions_feed) -> None:
    """A repeated query costs one look at the change marker; a new one, one listing more."""
    storage = versions_feed.storage
    query(versions_feed)  # warms the caches of parsed records and of answers
    before = storage.calls.copy()
    query(versions_feed)
    spent = storage.calls - before
    assert sum(spent.values()) == 1, spent  # the generation marker: a stat or a HEAD
    assert spent.get("stat", 0) + spent.get("head_object", 0) == 1, spent
    before = storage.calls.copy()
    query(versions_feed, includePreRelease="true")  # not cached: one listing, no re-reads
    spent = storage.calls - before
    assert sum(spent.values()) == 2, spent
    assert spent.get("list", 0) + spent.get("list_objects_v2", 0) == 1, spent
