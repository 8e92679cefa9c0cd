"""NuGet v3 over HTTP: every resource against a real feed on loopback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import requests

from tests.feed.http.nuget.conftest import Packer, chunked_push, seed, v3_push
from tests.feed.http.nuget.packages import sign
from tests.feed.packages import make_zip
from tests.helpers.feed_server import ADMIN_KEY, RunningFeed, running_feed


def get(feed: RunningFeed, path: str, **kw) -> requests.Response:
    return requests.get(feed.url + path, timeout=30, **kw)


def test_push_then_read_every_v3_resource(feed: RunningFeed, nupkg: Packer) -> None:
    path = nupkg("Acme.Web", "1.0.0")
    assert v3_push(feed, path).status_code == 201
    index = get(feed, "/v3/index.json").json()
    base = {r["@type"]: r["@id"] for r in index["resources"]}["PackageBaseAddress/3.0.0"]
    assert base == feed.url + "/v3/flatcontainer/"
    assert requests.get(base + "acme.web/index.json").json() == {"versions": ["1.0.0"]}
    content = requests.get(base + "acme.web/1.0.0/acme.web.1.0.0.nupkg")
    assert content.content == path.read_bytes()
    nuspec = requests.get(base + "acme.web/1.0.0/acme.web.nuspec")
    assert nuspec.status_code == 200 and b"<id>Acme.Web</id>" in nuspec.content
    registration = get(feed, "/v3/registration/acme.web/index.json").json()
    leaf = registration["items"][0]["items"][0]
    assert leaf["packageContent"] == base + "acme.web/1.0.0/acme.web.1.0.0.nupkg"
    hits = get(feed, "/v3/search?q=acme").json()
    assert hits["totalHits"] == 1 and hits["data"][0]["id"] == "Acme.Web"


def test_flat_container_head_range_404(disk_feed: RunningFeed, nupkg: Packer) -> None:
    path = nupkg("Acme.Web", "1.0.0")
    seed(disk_feed, path)
    url = disk_feed.url + "/v3/flatcontainer/acme.web/1.0.0/acme.web.1.0.0.nupkg"
    head = requests.head(url)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) == path.stat().st_size
    part = requests.get(url, headers={"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == b"PK\x03\x04"
    assert requests.head(disk_feed.url + "/v3/flatcontainer/acme.web/1.0.0/acme.web.nuspec").ok
    assert get(disk_feed, "/v3/flatcontainer/nope/index.json").status_code == 404
    assert (
        get(disk_feed, "/v3/flatcontainer/acme.web/9.0.0/acme.web.9.0.0.nupkg").status_code == 404
    )
    wrong = get(disk_feed, "/v3/flatcontainer/acme.web/1.0.0/other.1.0.0.nupkg")
    assert wrong.status_code == 404 and "acme.web.1.0.0.nupkg" in wrong.json()["ErrorMessage"]
    # an id asked in any case, a version in any equal form, answers the same package
    assert get(disk_feed, "/v3/flatcontainer/ACME.WEB/index.json").json()["versions"] == ["1.0.0"]
    same = get(disk_feed, "/v3/flatcontainer/acme.web/1.0/acme.web.1.0.nupkg")
    assert same.content == path.read_bytes()


def test_flat_container_lists_versions_ascending_with_unlisted(
    disk_feed: RunningFeed, nupkg: Packer
) -> None:
    for version in ("2.0.0", "1.0.0-Beta", "10.0.0", "1.0.0", "3.0.0-rc.1"):
        seed(disk_feed, nupkg("Acme.Web", version))
    disk_feed.repository.set_listed("Acme.Web", "2.0.0", False)
    versions = get(disk_feed, "/v3/flatcontainer/acme.web/index.json").json()["versions"]
    assert versions == ["1.0.0-beta", "1.0.0", "2.0.0", "3.0.0-rc.1", "10.0.0"]


def test_zip_packages_are_invisible_to_nuget(disk_feed: RunningFeed, tmp_path: Path) -> None:
    disk_feed.repository.add_package(make_zip(tmp_path, "Acme.Zip.1.0.0.zip"), "Acme.Zip.1.0.0.zip")
    assert get(disk_feed, "/v3/flatcontainer/acme.zip/index.json").status_code == 404
    missing = get(disk_feed, "/v3/flatcontainer/acme.zip/1.0.0/acme.zip.1.0.0.nupkg")
    assert missing.status_code == 404 and "Octopus API" in missing.json()["ErrorMessage"]
    assert get(disk_feed, "/v3/search").json()["totalHits"] == 0
    assert get(disk_feed, "/v3/registration/acme.zip/index.json").status_code == 404


def test_registration_with_dependencies_unlisted_and_semver2(
    disk_feed: RunningFeed, nupkg: Packer
) -> None:
    groups = [{"target_framework": "net45", "dependencies": [{"id": "Core", "range": "1.0"}]}]
    seed(disk_feed, nupkg("Acme.Web", "1.0.0", dependency_groups=groups))
    seed(disk_feed, nupkg("Acme.Web", "1.1.0"))
    seed(disk_feed, nupkg("Acme.Web", "2.0.0-rc.1"))
    disk_feed.repository.set_listed("Acme.Web", "1.1.0", False)
    plain = get(disk_feed, "/v3/registration/acme.web/index.json").json()
    leaves = {leaf["catalogEntry"]["version"]: leaf for leaf in plain["items"][0]["items"]}
    assert list(leaves) == ["1.0.0", "1.1.0"]  # no SemVer 2 in the plain hive
    entry = leaves["1.0.0"]["catalogEntry"]
    assert entry["dependencyGroups"][0]["targetFramework"] == "net45"
    assert entry["dependencyGroups"][0]["dependencies"][0]["range"] == "[1.0.0, )"
    assert leaves["1.1.0"]["catalogEntry"]["listed"] is False
    assert leaves["1.1.0"]["catalogEntry"]["published"].startswith("1900-01-01")
    assert entry["published"] == "2026-01-02T03:04:05.678Z"
    semver2 = get(disk_feed, "/v3/registration-semver2/acme.web/index.json").json()
    assert semver2["items"][0]["upper"] == "2.0.0-rc.1"
    leaf = get(disk_feed, "/v3/registration/acme.web/1.1.0.json").json()
    assert leaf["listed"] is False
    assert get(disk_feed, "/v3/registration/acme.web/2.0.0-rc.1.json").status_code == 404
    assert get(disk_feed, "/v3/registration-semver2/acme.web/2.0.0-rc.1.json").ok
    assert get(disk_feed, "/v3/nohive/acme.web/index.json").status_code == 404


def test_registration_pages_for_many_versions(disk_feed: RunningFeed, nupkg: Packer) -> None:
    path = nupkg("Many", "1.0.0")
    for n in range(70):
        clone = path.with_name(f"m{n}.nupkg")
        clone.write_bytes(_with_version(path.read_bytes(), f"1.0.{n}"))
        seed(disk_feed, clone)
    index = get(disk_feed, "/v3/registration/many/index.json").json()
    assert [p["count"] for p in index["items"]] == [64, 6]
    assert "items" not in index["items"][0]
    page = requests.get(index["items"][1]["@id"]).json()
    assert [leaf["catalogEntry"]["version"] for leaf in page["items"]][:2] == ["1.0.64", "1.0.65"]
    assert get(disk_feed, "/v3/registration/many/page/9.0.0/9.9.9.json").status_code == 404


def _with_version(data: bytes, version: str) -> bytes:
    """Rewrite the nuspec version of a packed nupkg (quick clones for paging tests)."""
    import zipfile

    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename.endswith(".nuspec"):
                body = body.replace(
                    b"<version>1.0.0</version>", f"<version>{version}</version>".encode()
                )
            target.writestr(info, body)
    return out.getvalue()


def test_search_parameters(disk_feed: RunningFeed, nupkg: Packer) -> None:
    seed(disk_feed, nupkg("Acme.Web", "1.0.0", tags="web"))
    seed(disk_feed, nupkg("Acme.Web", "1.1.0-beta"))
    seed(disk_feed, nupkg("Acme.Web", "2.0.0-rc.1"))
    seed(disk_feed, nupkg("Acme.Tool", "1.0.0", package_types=["DotnetTool"]))
    seed(disk_feed, nupkg("Other", "0.1.0", description="Mentions acme inside"))
    seed(disk_feed, nupkg("Hidden", "1.0.0"))
    disk_feed.repository.set_listed("Hidden", "1.0.0", False)

    def search(query: str) -> dict:
        return get(disk_feed, "/v3/search?" + query).json()

    everything = search("")
    assert [d["id"] for d in everything["data"]] == ["Acme.Tool", "Acme.Web", "Other"]
    web = search("q=acme.web")["data"][0]
    assert web["version"] == "1.0.0" and [v["version"] for v in web["versions"]] == ["1.0.0"]
    pre = search("q=acme.web&prerelease=true")["data"][0]
    assert pre["version"] == "1.1.0-beta"
    semver2 = search("q=acme.web&prerelease=true&semVerLevel=2.0.0")["data"][0]
    assert semver2["version"] == "2.0.0-rc.1"
    assert [v["version"] for v in semver2["versions"]] == ["1.0.0", "1.1.0-beta", "2.0.0-rc.1"]
    assert "registration-semver2" in semver2["registration"]
    ranked = search("q=acme")
    assert [d["id"] for d in ranked["data"]] == ["Acme.Tool", "Acme.Web", "Other"]
    paged = search("q=acme&skip=1&take=1")
    assert paged["totalHits"] == 3 and [d["id"] for d in paged["data"]] == ["Acme.Web"]
    assert [d["id"] for d in search("packageType=DotnetTool")["data"]] == ["Acme.Tool"]
    assert [d["id"] for d in search("q=id:tool")["data"]] == ["Acme.Tool"]
    assert search("q=hidden")["totalHits"] == 0
    bad = get(disk_feed, "/v3/search?take=lots")
    assert bad.status_code == 400 and "take" in bad.json()["ErrorMessage"]
    bad = get(disk_feed, "/v3/search?semVerLevel=two")
    assert bad.status_code == 400 and "semVerLevel" in bad.json()["ErrorMessage"]


def test_autocomplete(disk_feed: RunningFeed, nupkg: Packer) -> None:
    seed(disk_feed, nupkg("Acme.Web", "1.0.0"))
    seed(disk_feed, nupkg("Acme.Web", "1.1.0-beta"))
    seed(disk_feed, nupkg("Acme.Tool", "1.0.0"))
    assert get(disk_feed, "/v3/autocomplete?q=acme").json() == {
        "totalHits": 2,
        "data": ["Acme.Tool", "Acme.Web"],
    }
    assert get(disk_feed, "/v3/autocomplete?q=acme&take=1&skip=1").json()["data"] == ["Acme.Web"]
    versions = get(disk_feed, "/v3/autocomplete?id=acme.web&prerelease=true").json()
    assert versions["data"] == ["1.0.0", "1.1.0-beta"]
    assert get(disk_feed, "/v3/autocomplete?id=acme.web").json()["data"] == ["1.0.0"]


def test_publish_codes(feed: RunningFeed, nupkg: Packer, tmp_path: Path) -> None:
    path = nupkg("Acme.Web", "1.0.0")
    assert v3_push(feed, path, key=None).status_code == 401
    assert v3_push(feed, path, key="API-WRONG").status_code == 403  # issue 14.6
    denied = v3_push(feed, path, key=_plain(feed, "read"))
    assert denied.status_code == 403 and "scope" in denied.json()["ErrorMessage"]
    assert feed.repository.list_versions("Acme.Web") == []
    assert v3_push(feed, path, url="/v3/package/").status_code == 201
    duplicate = v3_push(feed, path)
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["ErrorMessage"]
    broken = tmp_path / "broken.nupkg"
    broken.write_bytes(b"this is not a zip")
    refused = v3_push(feed, broken)
    assert refused.status_code == 400 and refused.json()["ErrorMessage"]
    assert [r.version for r in feed.repository.list_versions("Acme.Web")] == ["1.0.0"]


def _plain(feed: RunningFeed, scope: str) -> str:
    """Create a stored key with a scope and return its plain text."""
    _, plain = feed.app.extensions["octopack"].keys.create(scope, f"{scope}-key-{scope}x")
    return plain


def test_publish_with_chunked_body_and_no_content_length(
    disk_feed: RunningFeed, nupkg: Packer
) -> None:
    path = nupkg("Acme.Chunked", "1.0.0")
    status, body = chunked_push(
        disk_feed.url,
        path,
        route="/v3/package/",
        chunk_size=1000,
        boundary="----octopackboundary",
        timeout=30,
    )
    assert status == 201, body
    record = disk_feed.repository.get("Acme.Chunked", "1.0.0")
    assert record.size == path.stat().st_size


def test_signed_package_is_accepted_and_served_unchanged(
    disk_feed: RunningFeed, nupkg: Packer
) -> None:
    path = sign(nupkg("Acme.Signed", "1.0.0"))
    assert v3_push(disk_feed, path).status_code == 201
    served = get(disk_feed, "/v3/flatcontainer/acme.signed/1.0.0/acme.signed.1.0.0.nupkg")
    assert served.content == path.read_bytes()


def test_delete_unlists_and_post_relists(feed: RunningFeed, nupkg: Packer) -> None:
    path = nupkg("Acme.Web", "1.0.0")
    seed(feed, path)
    headers = {"X-NuGet-ApiKey": ADMIN_KEY}
    assert requests.delete(feed.url + "/v3/package/Acme.Web/1.0.0").status_code == 401
    assert (
        requests.delete(feed.url + "/v3/package/Acme.Web/1.0.0", headers=headers).status_code == 204
    )
    assert feed.repository.get("Acme.Web", "1.0.0").listed is False
    assert get(feed, "/v3/search?q=acme").json()["totalHits"] == 0
    download = get(feed, "/v3/flatcontainer/acme.web/1.0.0/acme.web.1.0.0.nupkg")
    assert download.content == path.read_bytes()  # unlisted stays downloadable by version
    assert (
        requests.post(feed.url + "/v3/package/Acme.Web/1.0.0", headers=headers).status_code == 200
    )
    assert feed.repository.get("Acme.Web", "1.0.0").listed is True
    assert get(feed, "/v3/search?q=acme").json()["totalHits"] == 1
    missing = requests.delete(feed.url + "/v3/package/Acme.Web/9.0.0", headers=headers)
    assert missing.status_code == 404


def test_delete_with_push_key_and_hard_delete_mode(disk_backend, clock, nupkg: Packer) -> None:
    with running_feed(disk_backend.storage, clock=clock, nuget_delete="delete") as feed:
        seed(feed, nupkg("Acme.Web", "1.0.0"))
        pusher = {"X-NuGet-ApiKey": _plain(feed, "push")}
        url = feed.url + "/v3/package/Acme.Web/1.0.0"
        assert requests.delete(url, headers=pusher).status_code == 403
        assert requests.delete(url, headers={"X-NuGet-ApiKey": ADMIN_KEY}).status_code == 204
        assert feed.repository.list_versions("Acme.Web") == []
        assert [k for k in (i.key for i in disk_backend.storage.list("packages/"))] == []


def test_unknown_delete_mode_is_refused_at_start(disk_backend) -> None:
    with pytest.raises(Exception, match="nuget_delete='purge'"):
        with running_feed(disk_backend.storage, nuget_delete="purge"):
            pass


def test_absolute_urls_follow_a_trusted_proxy_only(disk_backend, clock) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "nuget.example.com"}
    with running_feed(disk_backend.storage, clock=clock) as untrusted:
        index = get(untrusted, "/v3/index.json", headers=forwarded).json()
        assert index["resources"][0]["@id"].startswith(untrusted.url + "/v3/")
    with running_feed(disk_backend.storage, clock=clock, trust_proxy=True) as trusted:
        index = get(trusted, "/v3/index.json", headers=forwarded).json()
        assert index["resources"][0]["@id"] == "https://nuget.example.com/v3/flatcontainer/"
        prefixed = {**forwarded, "X-Forwarded-Prefix": "/feeds/main"}
        index = get(trusted, "/v3/index.json", headers=prefixed).json()
        assert (
            index["resources"][0]["@id"] == "https://nuget.example.com/feeds/main/v3/flatcontainer/"
        )
        hostile = {"X-Forwarded-Proto": "javascript", "X-Forwarded-Host": 'a"b<c>'}
        index = get(trusted, "/v3/index.json", headers=hostile).json()
        assert index["resources"][0]["@id"].startswith(trusted.url + "/v3/")
        v2 = get(trusted, "/api/v2/", headers=forwarded).text
        assert 'xml:base="https://nuget.example.com/api/v2/"' in v2


def test_private_feed_needs_a_read_key(disk_backend, clock) -> None:
    with running_feed(disk_backend.storage, clock=clock, private=True) as feed:
        assert get(feed, "/v3/index.json").status_code == 401
        assert get(feed, "/v3/index.json", headers={"X-NuGet-ApiKey": ADMIN_KEY}).ok


@pytest.mark.parametrize(
    "path",
    [
        "/v3/flatcontainer/../index.json",
        "/v3/flatcontainer/a%00b/index.json",
        "/v3/registration/..%5C../index.json",
        "/v3/flatcontainer/.keys/1.0.0/.keys.nuspec",
        "/v3/autocomplete?id=..",
        "/api/v2/FindPackagesById()?id='..'",
        "/api/v2/package/../1.0.0",
        "/v3/flatcontainer/" + "a" * 5000 + "/index.json",
    ],
)
def test_hostile_ids_in_urls_are_plain_404s(disk_feed: RunningFeed, path: str) -> None:
    session = requests.Session()
    prepared = requests.Request("GET", disk_feed.url + path).prepare()
    prepared.url = disk_feed.url + path  # keep the dot segments requests would resolve
    response = session.send(prepared, timeout=30)
    assert response.status_code == 404, response.text
    message = response.json()["ErrorMessage"]
    assert "not a valid package id" in message and "storage" not in message
