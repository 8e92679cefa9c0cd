"""Push, list, detail, versions and download through the Octopus dialect, on disk and S3."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import requests

from tests.feed.conftest import stored_keys
from tests.feed.packages import digests, make_nupkg, make_targz, make_zip
from tests.helpers.feed_server import RunningFeed


def push(
    feed: RunningFeed,
    path: Path,
    *,
    name: str | None = None,
    params: dict[str, str] | None = None,
    field: str = "file",
    space: str | None = None,
    key: str | None = None,
) -> requests.Response:
    """POST a package as multipart to /api[/space]/packages/raw."""
    base = f"{feed.url}/api/{space}" if space else f"{feed.url}/api"
    with path.open("rb") as stream:
        return requests.post(
            f"{base}/packages/raw",
            params=params or {},
            files={field: (name or path.name, stream, "application/octet-stream")},
            headers={"X-Octopus-ApiKey": key or feed.admin_key},
            timeout=30,
        )


@pytest.mark.parametrize(
    ("builder", "filename", "ext", "package_id", "version"),
    [
        (make_zip, "Acme.Web.1.2.3.zip", ".zip", "Acme.Web", "1.2.3"),
        (make_targz, "Acme.Tools.2.0.0-beta.1.tar.gz", ".tar.gz", "Acme.Tools", "2.0.0-beta.1"),
        (None, "anything-at-all.nupkg", ".nupkg", "Acme.Lib", "3.1.0"),
    ],
)
def test_round_trip(feed, clock, tmp_path, builder, filename, ext, package_id, version) -> None:
    if builder is None:
        path = make_nupkg(tmp_path, filename, package_id, version)
    else:
        path = builder(tmp_path, filename)
    expected = digests(path)

    response = push(feed, path)
    assert response.status_code == 201, response.text
    assert response.headers["X-Octopack-Push-Status"] == "created"
    resource = response.json()
    assert resource["Id"] == f"packages-{package_id}.{version}"
    assert (resource["PackageId"], resource["Version"]) == (package_id, version)
    assert resource["FileExtension"] == ext
    assert resource["PackageSizeBytes"] == path.stat().st_size
    assert resource["Hash"] == expected["sha1"]
    assert resource["Sha256"] == expected["sha256"]
    assert resource["Sha512"] == expected["sha512"]
    assert resource["Published"] == "2026-01-02T03:04:05.678Z"
    if ext == ".nupkg":
        assert resource["Title"] == "Acme.Lib title"
        assert resource["Description"] == "The Acme.Lib package."
        assert resource["Summary"] == "Short summary."
        assert resource["ReleaseNotes"] == "Fixed things."

    detail = requests.get(feed.url + resource["Links"]["Self"], timeout=10)
    assert detail.status_code == 200 and detail.json() == resource
    listing = requests.get(f"{feed.url}/api/packages", timeout=10).json()
    assert listing["ItemType"] == "Package" and listing["TotalResults"] == 1
    assert listing["Items"] == [resource]
    versions = requests.get(
        f"{feed.url}/api/feeds/feeds-builtin/packages/versions",
        params={"packageId": package_id.upper(), "includePreRelease": "true"},
        timeout=10,
    ).json()
    assert [(i["PackageId"], i["Version"], i["SizeBytes"]) for i in versions["Items"]] == [
        (package_id, version, path.stat().st_size)
    ]
    download = requests.get(feed.url + resource["Links"]["Raw"], timeout=10)
    assert download.status_code == 200
    assert download.content == path.read_bytes()
    assert download.headers["ETag"] == f'"{expected["sha256"]}"'
    assert f'filename="{package_id}.{version}{ext}"' in download.headers["Content-Disposition"]
    record_keys = [k for k in stored_keys(feed.storage) if k.endswith("package.json")]
    assert record_keys == [f"packages/{package_id.lower()}/{version.lower()}/package.json"]


def test_overwrite_modes(feed, clock, tmp_path) -> None:
    first = make_zip(tmp_path, "Acme.App.1.0.0.zip", {"a.txt": b"first"})
    (tmp_path / "second").mkdir()
    second = make_zip(tmp_path / "second", "Acme.App.1.0.0.zip", {"a.txt": b"second"})
    assert push(feed, first).status_code == 201

    clash = push(feed, second)
    assert clash.status_code == 409
    assert "already exists" in clash.json()["ErrorMessage"]

    kept = push(feed, second, params={"overwriteMode": "ignoreifexists"})
    assert kept.status_code == 200
    assert kept.headers["X-Octopack-Push-Status"] == "kept"
    assert kept.json()["Sha256"] == digests(first)["sha256"]

    clock.advance(60)
    replaced = push(feed, second, params={"overwriteMode": "OverwriteExisting"})
    assert replaced.status_code == 200, replaced.text
    assert replaced.headers["X-Octopack-Push-Status"] == "overwritten"
    assert replaced.json()["Sha256"] == digests(second)["sha256"]
    raw = requests.get(feed.url + replaced.json()["Links"]["Raw"], timeout=10)
    assert raw.content == second.read_bytes()

    legacy = push(feed, first, params={"replace": "true"})
    assert legacy.status_code == 200
    assert legacy.json()["Sha256"] == digests(first)["sha256"]
    blobs = [k for k in stored_keys(feed.storage) if not k.endswith("package.json")]
    assert len(blobs) == 1  # the overwritten blob is gone; only the latest push's remains
    assert blobs[0].startswith(f"packages/acme.app/1.0.0/{digests(first)['sha256']}.")


def test_unknown_overwrite_mode_is_refused(feed, tmp_path) -> None:
    path = make_zip(tmp_path, "Acme.App.1.0.0.zip")
    response = push(feed, path, params={"overwriteMode": "Sometimes"})
    assert response.status_code == 400
    assert "'Sometimes'" in response.json()["ErrorMessage"]
    assert stored_keys(feed.storage) == []


def test_versions_equal_by_value_meet_at_one_record(feed, tmp_path) -> None:
    short = make_zip(tmp_path, "Acme.App.1.0.zip")
    (tmp_path / "b").mkdir()
    long = make_zip(tmp_path / "b", "Acme.App.1.0.0.0.zip", {"x": b"other bytes"})
    assert push(feed, short).status_code == 201
    clash = push(feed, long)
    assert clash.status_code == 409
    for spelled in ("1.0", "1.0.0", "1.0.0.0"):
        detail = requests.get(f"{feed.url}/api/packages/packages-Acme.App.{spelled}", timeout=10)
        assert detail.status_code == 200 and detail.json()["Version"] == "1.0"


def test_second_format_of_a_version_is_a_conflict(feed, tmp_path) -> None:
    assert push(feed, make_zip(tmp_path, "Acme.App.2.0.0.zip")).status_code == 201
    clash = push(feed, make_targz(tmp_path, "Acme.App.2.0.0.tar.gz"))
    assert clash.status_code == 409
    assert "already exists as zip" in clash.json()["ErrorMessage"]
    kept = push(
        feed, make_targz(tmp_path, "Acme.App.2.0.0.tar.gz"), params={"overwriteMode": "Ignore"}
    )
    assert kept.status_code == 400  # not a mode name: nothing is guessed
    ignore = push(
        feed,
        make_targz(tmp_path, "Acme.App.2.0.0.tar.gz"),
        params={"overwriteMode": "IgnoreIfExists"},
    )
    assert ignore.status_code == 409
    assert len([k for k in stored_keys(feed.storage) if k.endswith(".tar.gz")]) == 0


def test_space_prefix_push_and_list(feed, tmp_path) -> None:
    response = push(feed, make_zip(tmp_path, "Acme.App.1.0.0.zip"), space="Spaces-1")
    assert response.status_code == 201
    listing = requests.get(f"{feed.url}/api/Spaces-1/packages", timeout=10).json()
    assert listing["TotalResults"] == 1
    other = requests.get(f"{feed.url}/api/Spaces-2/packages", timeout=10)
    assert other.status_code == 404
    assert "Spaces-2" in other.json()["ErrorMessage"]


def test_raw_body_upload_with_file_name(feed, tmp_path) -> None:
    path = make_zip(tmp_path, "Acme.Raw.1.0.0.zip")
    response = requests.post(
        f"{feed.url}/api/packages/raw",
        params={"fileName": path.name},
        data=path.read_bytes(),
        headers={"X-Octopus-ApiKey": feed.admin_key, "Content-Type": "application/zip"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    assert response.json()["PackageId"] == "Acme.Raw"


def test_bad_file_name_is_refused_and_nothing_stored(feed, tmp_path) -> None:
    path = make_zip(tmp_path, "not-a-package.zip")
    response = push(feed, path)
    assert response.status_code == 400
    body = response.json()
    assert "not-a-package.zip" in body["ErrorMessage"] and body["Errors"] == [body["ErrorMessage"]]
    assert stored_keys(feed.storage) == []


def test_list_search_latest_and_paging(disk_feed, tmp_path) -> None:
    for name in ("Acme.Web.1.0.0", "Acme.Web.1.1.0", "Acme.Api.0.9.0", "Other.Thing.1.0.0"):
        folder = tmp_path / name
        folder.mkdir()
        assert push(disk_feed, make_zip(folder, name + ".zip")).status_code == 201
    url = f"{disk_feed.url}/api/packages"
    everything = requests.get(url, timeout=10).json()
    assert [(i["PackageId"], i["Version"]) for i in everything["Items"]] == [
        ("Acme.Api", "0.9.0"),
        ("Acme.Web", "1.1.0"),
        ("Acme.Web", "1.0.0"),
        ("Other.Thing", "1.0.0"),
    ]
    latest = requests.get(url, params={"filter": "acme", "latest": "true"}, timeout=10).json()
    assert [(i["PackageId"], i["Version"]) for i in latest["Items"]] == [
        ("Acme.Api", "0.9.0"),
        ("Acme.Web", "1.1.0"),
    ]
    page = requests.get(url, params={"skip": 1, "take": 2}, timeout=10).json()
    assert page["TotalResults"] == 4 and page["ItemsPerPage"] == 2
    assert [i["Version"] for i in page["Items"]] == ["1.1.0", "1.0.0"]
    assert "skip=3" in page["Links"]["Page.Next"]


def test_delete_needs_admin_and_removes_record_then_blob(disk_feed, tmp_path) -> None:
    resource = push(disk_feed, make_zip(tmp_path, "Acme.App.1.0.0.zip")).json()
    url = disk_feed.url + resource["Links"]["Self"]
    assert requests.delete(url, timeout=10).status_code == 401
    deleted = requests.delete(url, headers={"X-Octopus-ApiKey": disk_feed.admin_key}, timeout=10)
    assert deleted.status_code == 200
    assert requests.get(url, timeout=10).status_code == 404
    assert stored_keys(disk_feed.storage, "packages/") == []
    again = requests.delete(url, headers={"X-Octopus-ApiKey": disk_feed.admin_key}, timeout=10)
    assert again.status_code == 404


def test_too_large_upload_is_413_and_stores_nothing(disk_backend, tmp_path) -> None:
    from tests.helpers.feed_server import running_feed

    noise = random.Random(7).randbytes(100_000)  # incompressible, so the zip stays large
    path = make_zip(tmp_path, "Acme.Big.1.0.0.zip", {"big.bin": noise})
    with running_feed(disk_backend.storage, max_package_bytes=2048) as small:
        response = push(small, path)
        assert response.status_code == 413
        assert "2048 bytes" in response.json()["ErrorMessage"]
        raw = requests.post(  # chunked raw body: the count stops the read, not a header
            f"{small.url}/api/packages/raw",
            params={"fileName": path.name},
            data=iter([path.read_bytes()[:1500], path.read_bytes()[1500:]]),
            headers={"X-Octopus-ApiKey": small.admin_key},
            timeout=10,
        )
        assert raw.status_code == 413
        assert stored_keys(small.storage) == []


@pytest.mark.parametrize(
    "name", ["../Acme.App.1.0.0.zip", "dir/Acme.App.1.0.0.zip", "Acme.App.zip"]
)
def test_file_names_with_paths_or_no_version_are_refused(disk_feed, tmp_path, name) -> None:
    path = make_zip(tmp_path, "upload.zip")
    response = push(disk_feed, path, name=name)
    assert response.status_code == 400
    assert name in response.json()["ErrorMessage"]
    assert stored_keys(disk_feed.storage, "packages/") == []
