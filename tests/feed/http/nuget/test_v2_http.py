"""NuGet v2 (OData) over HTTP: documents, queries, paging, updates, push, delete, download."""

from __future__ import annotations

from pathlib import Path

import defusedxml.ElementTree as ET
import requests

from feed.http.nuget.v2_atom import ATOM, DATA, METADATA
from tests.feed.http.nuget.conftest import Packer, seed
from tests.helpers.feed_server import ADMIN_KEY, RunningFeed

A, D, M = f"{{{ATOM}}}", f"{{{DATA}}}", f"{{{METADATA}}}"
KEY = {"X-NuGet-ApiKey": ADMIN_KEY}


def get(feed: RunningFeed, path: str, **kw) -> requests.Response:
    return requests.get(feed.url + path, timeout=30, **kw)


def entries(feed: RunningFeed, path: str) -> list[dict[str, str | None]]:
    """GET an Atom feed and return each entry's properties as text."""
    response = get(feed, path)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    return [
        {p.tag.removeprefix(D): p.text for p in entry.find(f"{M}properties")}
        for entry in root.findall(f"{A}entry")
    ]


def ids_versions(rows: list[dict[str, str | None]]) -> list[tuple[str | None, str | None]]:
    return [(row["Id"], row["Version"]) for row in rows]


def fill(feed: RunningFeed, nupkg: Packer) -> None:
    """Web 1.0.0, 1.1.0, 2.0.0-beta, 3.0.0-rc.1 (SemVer 2), Tools 0.5.0; Web 1.1.0 unlisted."""
    for version in ("1.0.0", "1.1.0", "2.0.0-beta", "3.0.0-rc.1"):
        seed(feed, nupkg("Acme.Web", version, tags="web front"))
    seed(feed, nupkg("Acme.Tools", "0.5.0", description="Command line tools", tags="cli"))
    feed.repository.set_listed("Acme.Web", "1.1.0", False)


def test_service_document_and_metadata(disk_feed: RunningFeed) -> None:
    for path in ("/api/v2", "/api/v2/"):
        service = get(disk_feed, path)
        assert service.ok and 'href="Packages"' in service.text
        assert f'xml:base="{disk_feed.url}/api/v2/"' in service.text
    metadata = get(disk_feed, "/api/v2/$metadata")
    assert metadata.ok
    for name in ("FindPackagesById", "Search", "GetUpdates"):
        assert f'FunctionImport Name="{name}"' in metadata.text


def test_find_packages_by_id_pages_with_next_links(disk_feed: RunningFeed, nupkg: Packer) -> None:
    fill(disk_feed, nupkg)
    rows = entries(disk_feed, "/api/v2/FindPackagesById()?id='acme.web'")
    assert ids_versions(rows) == [("Acme.Web", v) for v in ("1.0.0", "1.1.0", "2.0.0-beta")]
    unlisted = rows[1]
    assert unlisted["Listed"] == "false" and unlisted["Published"].startswith("1900-01-01")
    latest = {
        row["Version"]: (row["IsLatestVersion"], row["IsAbsoluteLatestVersion"]) for row in rows
    }
    assert latest == {
        "1.0.0": ("true", "false"),
        "1.1.0": ("false", "false"),
        "2.0.0-beta": ("false", "true"),
    }
    semver2 = entries(disk_feed, "/api/v2/FindPackagesById()?id='Acme.Web'&semVerLevel=2.0.0")
    assert [row["Version"] for row in semver2][-1] == "3.0.0-rc.1"
    assert semver2[-1]["IsAbsoluteLatestVersion"] == "true"
    # paging: 2 per page through $top, following rel="next" as a client does
    url, seen = disk_feed.url + "/api/v2/FindPackagesById()?id='Acme.Web'&$top=2", []
    first = ET.fromstring(requests.get(url).content)
    seen += [e.find(f"{M}properties/{D}Version").text for e in first.findall(f"{A}entry")]
    assert len(seen) == 2
    missing = get(disk_feed, "/api/v2/FindPackagesById()")
    assert missing.status_code == 400 and "id parameter" in missing.json()["ErrorMessage"]
    assert entries(disk_feed, "/api/v2/FindPackagesById()?id='Nope'") == []


def test_next_link_when_the_server_pages(
    disk_feed: RunningFeed, nupkg: Packer, monkeypatch
) -> None:
    import feed.http.nuget.v2 as v2

    fill(disk_feed, nupkg)
    monkeypatch.setattr(v2, "PAGE_SIZE", 2)
    url, versions = disk_feed.url + "/api/v2/FindPackagesById()?id='Acme.Web'", []
    while url:
        root = ET.fromstring(requests.get(url, timeout=30).content)
        versions += [e.find(f"{M}properties/{D}Version").text for e in root.findall(f"{A}entry")]
        nexts = [k.get("href") for k in root.findall(f"{A}link") if k.get("rel") == "next"]
        url = nexts[0] if nexts else None
        assert url is None or url.startswith(disk_feed.url + "/api/v2/FindPackagesById")
    assert versions == ["1.0.0", "1.1.0", "2.0.0-beta"]


def test_single_package_by_key(disk_feed: RunningFeed, nupkg: Packer) -> None:
    fill(disk_feed, nupkg)
    response = get(disk_feed, "/api/v2/Packages(Id='acme.web',Version='1.1')")
    assert response.ok
    root = ET.fromstring(response.content)
    assert root.find(f"{M}properties/{D}Version").text == "1.1.0"
    assert root.find(f"{M}properties/{D}Listed").text == "false"
    src = root.find(f"{A}content").get("src")
    assert src == disk_feed.url + "/api/v2/package/Acme.Web/1.1.0"
    assert get(disk_feed, "/api/v2/Packages(Id='Acme.Web',Version='9.0.0')").status_code == 404
    bad = get(disk_feed, "/api/v2/Packages(Name='x')")
    assert (
        bad.status_code == 400 and "Packages(Id='X',Version='1.0.0')" in bad.json()["ErrorMessage"]
    )


def test_packages_and_search_filters(disk_feed: RunningFeed, nupkg: Packer) -> None:
    fill(disk_feed, nupkg)
    every = ids_versions(entries(disk_feed, "/api/v2/Packages()"))
    assert every == [("Acme.Tools", "0.5.0"), ("Acme.Web", "1.0.0"), ("Acme.Web", "2.0.0-beta")]
    latest = entries(disk_feed, "/api/v2/Packages()?$filter=IsLatestVersion")
    assert ids_versions(latest) == [("Acme.Tools", "0.5.0"), ("Acme.Web", "1.0.0")]
    absolute = entries(disk_feed, "/api/v2/Packages()?$filter=IsAbsoluteLatestVersion")
    assert ids_versions(absolute) == [("Acme.Tools", "0.5.0"), ("Acme.Web", "2.0.0-beta")]
    by_id = entries(
        disk_feed, "/api/v2/Packages()?$filter=tolower(Id) eq 'acme.web' and IsLatestVersion"
    )
    assert ids_versions(by_id) == [("Acme.Web", "1.0.0")]
    exact = entries(disk_feed, "/api/v2/Packages?$filter=Id eq 'Acme.Tools'")
    assert ids_versions(exact) == [("Acme.Tools", "0.5.0")]
    text = "(substringof('line',tolower(Description)) or startswith(tolower(Tags),'web'))"
    either = entries(disk_feed, f"/api/v2/Packages()?$filter={text} and IsAbsoluteLatestVersion")
    assert ids_versions(either) == [("Acme.Tools", "0.5.0"), ("Acme.Web", "2.0.0-beta")]
    prefix = entries(disk_feed, "/api/v2/Search()?$filter=startswith(tolower(Id),'acme.t')")
    assert ids_versions(prefix) == [("Acme.Tools", "0.5.0")]
    refused = get(disk_feed, "/api/v2/Packages()?$filter=Bogus eq 1")
    assert (
        refused.status_code == 400 and "unknown property 'Bogus'" in refused.json()["ErrorMessage"]
    )


def test_search_terms_prerelease_semver_and_count(disk_feed: RunningFeed, nupkg: Packer) -> None:
    fill(disk_feed, nupkg)
    stable = "/api/v2/Search()?searchTerm='web'&targetFramework=''&includePrerelease=false"
    assert ids_versions(entries(disk_feed, stable)) == [("Acme.Web", "1.0.0")]
    pre = "/api/v2/Search()?searchTerm='web'&includePrerelease=true&$filter=IsAbsoluteLatestVersion"
    assert ids_versions(entries(disk_feed, pre)) == [("Acme.Web", "2.0.0-beta")]
    semver2 = pre + "&semVerLevel=2.0.0"
    assert ids_versions(entries(disk_feed, semver2)) == [("Acme.Web", "3.0.0-rc.1")]
    assert (
        get(disk_feed, "/api/v2/Search()/$count?searchTerm=''&includePrerelease=true").text == "3"
    )
    assert get(disk_feed, "/api/v2/Search()/$count?searchTerm='tools'").text == "1"
    assert get(disk_feed, "/api/v2/Packages()/$count?$filter=IsLatestVersion").text == "2"
    everything = "/api/v2/Search()?searchTerm=''&includePrerelease=true&semVerLevel=2.0.0"
    assert len(entries(disk_feed, everything)) == 4


def test_orderby_skip_top(disk_feed: RunningFeed, nupkg: Packer, clock) -> None:
    fill(disk_feed, nupkg)
    clock.advance(60)
    seed(disk_feed, nupkg("Zeta", "0.1.0"))
    base = "/api/v2/Search()?includePrerelease=true"
    by_version = ids_versions(entries(disk_feed, base + "&$orderby=Version desc"))
    assert [v for _, v in by_version] == ["2.0.0-beta", "1.0.0", "0.5.0", "0.1.0"]
    by_id = ids_versions(entries(disk_feed, base + "&$orderby=Id desc,Version asc"))
    assert by_id == [
        ("Zeta", "0.1.0"),
        ("Acme.Web", "1.0.0"),
        ("Acme.Web", "2.0.0-beta"),
        ("Acme.Tools", "0.5.0"),
    ]
    newest = ids_versions(entries(disk_feed, base + "&$orderby=Published desc&$top=1"))
    assert newest == [("Zeta", "0.1.0")]
    page = ids_versions(entries(disk_feed, base + "&$orderby=Id,Version&$skip=1&$top=2"))
    assert page == [("Acme.Web", "1.0.0"), ("Acme.Web", "2.0.0-beta")]
    assert (
        ids_versions(entries(disk_feed, base + "&$orderby=DownloadCount desc,Id"))[0][0]
        == "Acme.Tools"
    )
    bad = get(disk_feed, base + "&$orderby=Size")
    assert bad.status_code == 400 and "$orderby 'Size'" in bad.json()["ErrorMessage"]
    bad = get(disk_feed, base + "&$top=-1")
    assert bad.status_code == 400 and "$top" in bad.json()["ErrorMessage"]


def test_get_updates(disk_feed: RunningFeed, nupkg: Packer) -> None:
    fill(disk_feed, nupkg)
    seed(disk_feed, nupkg("Acme.Web", "1.2.0"))
    seed(disk_feed, nupkg("Acme.Tools", "0.6.0"))
    query = "/api/v2/GetUpdates()?packageIds='Acme.Web|acme.tools'&versions='1.0.0|0.5.0'"
    newest = ids_versions(
        entries(disk_feed, query + "&includePrerelease=false&includeAllVersions=false")
    )
    assert newest == [("Acme.Tools", "0.6.0"), ("Acme.Web", "1.2.0")]
    every = ids_versions(
        entries(disk_feed, query + "&includePrerelease=true&includeAllVersions=true")
    )
    assert every == [("Acme.Tools", "0.6.0"), ("Acme.Web", "1.2.0"), ("Acme.Web", "2.0.0-beta")]
    constrained = query + "&includeAllVersions=true&versionConstraints='[1.0,1.1)|'"
    assert ids_versions(entries(disk_feed, constrained)) == [("Acme.Tools", "0.6.0")]
    nothing = "/api/v2/GetUpdates()?packageIds='Acme.Web'&versions='9.0.0'"
    assert entries(disk_feed, nothing) == []
    bad = get(disk_feed, "/api/v2/GetUpdates()?packageIds='A|B'&versions='1.0'")
    assert bad.status_code == 400 and "equal length" in bad.json()["ErrorMessage"]
    bad = get(disk_feed, "/api/v2/GetUpdates()?packageIds='A'&versions='one'")
    assert bad.status_code == 400 and "'one'" in bad.json()["ErrorMessage"]


def test_download(disk_feed: RunningFeed, nupkg: Packer) -> None:
    path = nupkg("Acme.Web", "1.0.0")
    seed(disk_feed, path)
    disk_feed.repository.set_listed("Acme.Web", "1.0.0", False)
    response = get(disk_feed, "/api/v2/package/Acme.Web/1.0.0")
    assert response.content == path.read_bytes()
    assert response.headers["ETag"].strip('"') == disk_feed.repository.get("Acme.Web", "1.0").sha256
    head = requests.head(disk_feed.url + "/api/v2/package/acme.web/1.0")
    assert head.ok and head.content == b""
    assert get(disk_feed, "/api/v2/package/Acme.Web/2.0.0").status_code == 404


def test_push_and_delete_at_both_addresses(feed: RunningFeed, nupkg: Packer) -> None:
    for url, version in (
        ("/api/v2/", "1.0.0"),
        ("/api/v2/package/", "1.1.0"),
        ("/api/v2/package", "1.2.0"),
    ):
        with nupkg("Acme.Web", version).open("rb") as body:
            pushed = requests.put(feed.url + url, files={"package": ("p.nupkg", body)}, headers=KEY)
        assert pushed.status_code == 201, (url, pushed.text)
    with nupkg("Acme.Web", "1.0.0").open("rb") as body:
        again = requests.put(
            feed.url + "/api/v2/", files={"package": ("p.nupkg", body)}, headers=KEY
        )
    assert again.status_code == 409
    with nupkg("Acme.Web", "1.3.0").open("rb") as body:
        anonymous = requests.put(feed.url + "/api/v2/", files={"package": ("p.nupkg", body)})
    assert anonymous.status_code == 401
    assert requests.delete(feed.url + "/api/v2/Acme.Web/1.0.0", headers=KEY).status_code == 204
    assert (
        requests.delete(feed.url + "/api/v2/package/Acme.Web/1.1.0", headers=KEY).status_code == 204
    )
    listed = {r.version: r.listed for r in feed.repository.list_versions("Acme.Web")}
    assert listed == {"1.2.0": True, "1.1.0": False, "1.0.0": False}
    assert (
        requests.post(feed.url + "/api/v2/package/Acme.Web/1.1.0", headers=KEY).status_code == 200
    )
    assert feed.repository.get("Acme.Web", "1.1.0").listed is True


def test_raw_body_push_and_refused_package_stores_nothing(
    disk_feed: RunningFeed, nupkg: Packer, tmp_path: Path
) -> None:
    path = nupkg("Acme.Raw", "1.0.0")
    response = requests.put(disk_feed.url + "/api/v2/package/", data=path.read_bytes(), headers=KEY)
    assert response.status_code == 201
    bad = tmp_path / "bad.nupkg"
    bad.write_bytes(b"PK\x03\x04 not really")
    refused = requests.put(disk_feed.url + "/api/v2/", data=bad.read_bytes(), headers=KEY)
    assert refused.status_code == 400
    keys = [i.key for i in disk_feed.storage.list("packages/")]
    assert all(k.startswith("packages/acme.raw/") for k in keys) and len(keys) == 2


def test_site_root_sends_nuget_clients_to_v2(disk_feed: RunningFeed) -> None:
    response = get(
        disk_feed, "/", headers={"User-Agent": "NuGet/2.8.7 (Unix 5.0)"}, allow_redirects=False
    )
    assert response.status_code == 302
    assert response.headers["Location"] == disk_feed.url + "/api/v2/"
    browser = get(disk_feed, "/")
    assert browser.json()["NuGetV3"] == disk_feed.url + "/v3/index.json"


def test_unknown_v2_resources_are_404(disk_feed: RunningFeed) -> None:
    for path in ("/api/v2/Frobnicate()", "/api/v2/Packages()/extra/bits"):
        missing = get(disk_feed, path)
        assert missing.status_code == 404 and "NuGet v2 resource" in missing.json()["ErrorMessage"]
