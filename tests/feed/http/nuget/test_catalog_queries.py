"""NuGet v3 search and v2 Search()/Packages() read the catalog's slim entries and decode
the records of the ids on the page only, with answers paged as before."""

from __future__ import annotations

import requests

from feed.core.catalog_shard import decoded_ids
from tests.feed.http.nuget.conftest import Packer, seed
from tests.helpers.feed_server import RunningFeed


def get(feed: RunningFeed, path: str) -> requests.Response:
    response = requests.get(feed.url + path, timeout=30)
    assert response.status_code == 200, response.text
    return response


def test_feed_wide_nuget_queries_decode_only_their_page(feed: RunningFeed, nupkg: Packer) -> None:
    for n in range(8):
        seed(feed, nupkg(f"Acme.N{n}", "1.0.0"))
        seed(feed, nupkg(f"Acme.N{n}", "2.0.0-beta"))
    feed.repository.set_listed("Acme.N1", "1.0.0", False)
    before = decoded_ids()
    hits = get(feed, "/v3/search?q=acme&skip=1&take=2").json()
    assert hits["totalHits"] == 7  # Acme.N1 shows no stable version
    assert [(h["id"], h["version"]) for h in hits["data"]] == [
        ("Acme.N2", "1.0.0"), ("Acme.N3", "1.0.0")
    ]  # fmt: skip
    assert decoded_ids() - before <= 2
    ids = get(feed, "/v3/autocomplete?q=acme&prerelease=true&take=3").json()
    assert ids == {"totalHits": 8, "data": ["Acme.N0", "Acme.N1", "Acme.N2"]}
    before = decoded_ids()
    body = get(feed, "/api/v2/Search()?searchTerm='acme'&$filter=IsLatestVersion&$top=2").text
    assert body.count("<entry>") == 2 and "Acme.N0" in body and "Acme.N2" in body
    assert decoded_ids() - before <= 3
    before = decoded_ids()
    count = get(feed, "/api/v2/Packages()/$count?$filter=IsAbsoluteLatestVersion").text
    assert count == "8"
    assert decoded_ids() == before
