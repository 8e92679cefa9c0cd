"""v2 Packages()/Search() paged from the catalog's slim flags (`v2_pages.catalog_page`)
answer byte for byte as the general way (one entry per version, filtered, sorted, paged)."""

from __future__ import annotations

from typing import Any

import pytest

from feed.http.nuget import v2, v2_pages
from tests.feed.http.nuget.conftest import Packer, seed
from tests.helpers.feed_server import RunningFeed

VERSIONS = {
    "Acme.A": ["1.0.0", "1.1.0", "2.0.0-beta"],
    "Acme.B": ["0.9.0", "1.0.0", "1.1.0"],
    "Acme.C": ["1.0.0-rc.1", "1.0.0-rc.2"],
    "Zed.D": ["3.0.0", "3.0.1-alpha", "3.0.1+build.5"],
    "Acme.E": ["0.1.0"],
}
UNLISTED = [("Acme.B", "1.1.0"), ("Acme.A", "1.0.0"), ("Acme.E", "0.1.0")]
FAST = [
    "Packages()",
    "Packages()?$top=3",
    "Packages()?$top=4&$skip=2",
    "Packages()?$top=2&$skip=5&$inlinecount=allpages",
    "Packages()?$skip=7",
    "Packages()?$skip=40",
    "Packages()?$top=0",
    "Packages()?$orderby=Id desc&$top=5&$skip=1",
    "Packages()?$orderby=Id,Version desc&$top=4&$skip=1",
    "Packages()?$orderby=Id desc,Published desc&$top=6",
    "Packages()?$orderby=id asc,DownloadCount&$top=6",
    "Packages()?$filter=IsLatestVersion",
    "Packages()?$filter=IsAbsoluteLatestVersion&$top=2&$skip=1&$inlinecount=allpages",
    "Packages()?$filter=IsPrerelease eq false and not IsLatestVersion",
    "Packages()?$filter=IsPrerelease or IsLatestVersion&$top=3&$skip=2",
    "Packages()?$filter=Id eq 'Acme.B' and Listed",
    "Packages()?$filter=tolower(Id) eq 'zed.d' or startswith(Id,'Acme.C')&$top=2",
    "Packages()?$filter=IsLatestVersion&semVerLevel=2.0.0&$inlinecount=allpages",
    "Packages()?semVerLevel=2.0.0&$top=3&$skip=4",
    "Search()?searchTerm='acme'&$top=3",
    "Search()?searchTerm='acme'&includePrerelease=true&$skip=2&$top=3&$inlinecount=allpages",
    "Search()?searchTerm=''&$filter=IsLatestVersion&$orderby=Id desc",
    "Search()?searchTerm='id:zed'&includePrerelease=true&semVerLevel=2.0.0",
    "Search()?searchTerm='nothing-like-it'",
    "Packages()/$count",
    "Packages()/$count?$filter=IsAbsoluteLatestVersion&semVerLevel=2.0.0",
    "Search()/$count?searchTerm='acme'&includePrerelease=true&$filter=not IsPrerelease",
]
SLOW = [
    "Packages()?$orderby=Version desc&$top=4",
    "Packages()?$filter=substringof('B',Title)&$top=4",
    "Search()?searchTerm='acme'&$orderby=Published&$skip=1",
]


@pytest.fixture
def feed_with_kinds(feed: RunningFeed, nupkg: Packer) -> RunningFeed:
    for package_id, versions in VERSIONS.items():
        for version in versions:
            seed(feed, nupkg(package_id, version))
    for package_id, version in UNLISTED:
        feed.repository.set_listed(package_id, version, False)
    return feed


def answer(feed: RunningFeed, path: str) -> tuple[int, bytes]:
    response = feed.app.test_client().get("/api/v2/" + path)
    return response.status_code, response.data


@pytest.mark.parametrize("path", FAST + SLOW)
def test_paged_from_flags_answers_as_the_general_way(
    feed_with_kinds: RunningFeed, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[Any] = []

    def watched(*args: Any) -> Any:
        found = v2_pages.catalog_page(*args)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(v2, "catalog_page", watched)
    status, fast = answer(feed_with_kinds, path)
    assert taken == [path in FAST]
    monkeypatch.setattr(v2, "catalog_page", lambda *args: None)
    assert answer(feed_with_kinds, path) == (status, fast)
    assert status == 200
    assert fast.count(b"<entry>") or b"<feed" in fast or fast.isdigit()


def test_errors_come_as_before(feed_with_kinds: RunningFeed) -> None:
    status, body = answer(feed_with_kinds, "Packages()?$filter=Nope eq 1&$orderby=Bad")
    assert status == 400 and b"unknown property 'Nope'" in body
    status, body = answer(feed_with_kinds, "Packages()?$orderby=Title&$skip=-1")
    assert status == 400 and b"$orderby" in body
    status, body = answer(feed_with_kinds, "Packages()/$count?$orderby=Title&$skip=x")
    assert (status, body) == (200, b"6")  # semver2 and unlisted versions hidden
