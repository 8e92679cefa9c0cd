"""Ids and versions in queries are checked in one place (the repository core) for every
dialect: a value no package can have is a clear 400 (404 where NuGet routes name it),
never a listing of something else and never a word about storage keys or prefixes."""

from __future__ import annotations

import pytest
import requests

from tests.feed.http.test_octopus_push import push
from tests.feed.packages import make_zip

HOSTILE_IDS = ["Acme/1.0.0", "..", ".", "a/../b", "Acme%2F1.0.0", "a\\b", "-", " Acme", "x" * 101]
INTERNALS = ("storage", "prefix", "segment", "key ")


@pytest.fixture
def acme_feed(disk_feed, tmp_path):
    assert push(disk_feed, make_zip(tmp_path, "Acme.1.0.0.zip")).status_code == 201
    return disk_feed


def assert_clean(response: requests.Response, statuses: tuple[int, ...]) -> None:
    assert response.status_code in statuses, (response.status_code, response.text)
    text = response.text.lower()
    assert not any(word in text for word in INTERNALS), response.text


@pytest.mark.parametrize("package_id", HOSTILE_IDS)
def test_octopus_versions_refuses_ids_no_package_can_have(acme_feed, package_id: str) -> None:
    response = requests.get(
        f"{acme_feed.url}/api/feeds/feeds-builtin/packages/versions",
        params={"packageId": package_id},
        timeout=10,
    )
    assert_clean(response, (400,))
    assert "invalid package id" in response.json()["ErrorMessage"]


@pytest.mark.parametrize("package_id", ["Acme/1.0.0", "..", "a/../b"])
def test_every_dialect_refuses_the_same_ids(acme_feed, package_id: str) -> None:
    url = acme_feed.url
    quoted = package_id.replace("'", "''")
    answers = [
        requests.get(f"{url}/api/v2/FindPackagesById()", params={"id": f"'{quoted}'"}, timeout=10),
        requests.get(
            f"{url}/api/v2/GetUpdates()",
            params={"packageIds": f"'{quoted}'", "versions": "'1.0.0'"},
            timeout=10,
        ),
        # (a client resolves '..' in a path itself, so the path form needs no '..' case)
        requests.get(
            f"{url}/v3/flatcontainer/{package_id.replace('..', '%2E.')}/index.json", timeout=10
        ),
        requests.get(f"{url}/api/packages/packages-{package_id}.1.0.0", timeout=10),
    ]
    for response in answers:
        assert_clean(response, (400, 404))


def test_the_acme_listing_is_not_reached_through_a_slash(acme_feed) -> None:
    ok = requests.get(
        f"{acme_feed.url}/api/feeds/feeds-builtin/packages/versions",
        params={"packageId": "Acme"},
        timeout=10,
    )
    assert [item["Version"] for item in ok.json()["Items"]] == ["1.0.0"]


def test_a_version_that_is_no_version_is_400(acme_feed) -> None:
    response = requests.get(
        f"{acme_feed.url}/api/feeds/feeds-builtin/packages/versions",
        params={"packageId": "Acme", "versionRange": "1.0.0/../x"},
        timeout=10,
    )
    assert_clean(response, (400,))


def test_repository_refuses_bad_ids_itself(acme_feed) -> None:
    from packer.model.errors import InvalidId

    for package_id in HOSTILE_IDS:
        with pytest.raises(InvalidId):
            acme_feed.repository.list_versions(package_id)
        with pytest.raises(InvalidId):
            acme_feed.repository.get(package_id, "1.0.0")
