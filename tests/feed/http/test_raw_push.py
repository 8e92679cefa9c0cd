"""octopack's raw push (PUT /api/octopack/packages/{filename} + X-Octopack-Sha256)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import requests

from tests.feed.conftest import stored_keys
from tests.feed.packages import digests, make_nupkg, make_zip
from tests.helpers.feed_server import RunningFeed


def put_raw(
    feed: RunningFeed, path: Path, sha256: str | None = None, name: str | None = None, **params: str
) -> requests.Response:
    """PUT a package file as the raw body with its (or the given) SHA-256 declared."""
    data = path.read_bytes()
    declared = sha256 if sha256 is not None else hashlib.sha256(data).hexdigest()
    return requests.put(
        f"{feed.url}/api/octopack/packages/{name or path.name}",
        params=params,
        data=data,
        headers={"X-Octopus-ApiKey": feed.admin_key, "X-Octopack-Sha256": declared},
        timeout=30,
    )


def test_raw_push_round_trip_has_every_hash(feed, tmp_path) -> None:
    path = make_zip(tmp_path, "Acme.Raw.1.0.0.zip", {"a.txt": b"raw bytes"})
    expected = digests(path)

    response = put_raw(feed, path)
    assert response.status_code == 201, response.text
    assert response.headers["X-Octopack-Push-Status"] == "created"
    resource = response.json()
    assert (resource["PackageId"], resource["Version"]) == ("Acme.Raw", "1.0.0")
    assert resource["Sha256"] == expected["sha256"]
    # SHA-1 and SHA-512 come after the commit: never shown empty, complete on every read
    assert "Hash" not in resource or resource["Hash"] == expected["sha1"]
    assert "Sha512" not in resource or resource["Sha512"] == expected["sha512"]
    detail = requests.get(feed.url + resource["Links"]["Self"], timeout=10).json()
    assert detail["Hash"] == expected["sha1"]
    assert detail["Sha512"] == expected["sha512"]
    assert detail == resource | {"Hash": expected["sha1"], "Sha512": expected["sha512"]}
    download = requests.get(feed.url + resource["Links"]["Raw"], timeout=10)
    assert download.content == path.read_bytes()
    assert put_raw(feed, path).status_code == 409


def test_raw_pushed_nupkg_has_sha512_in_nuget_answers(feed, tmp_path) -> None:
    path = make_nupkg(tmp_path, "whatever.nupkg", "Acme.Lib", "3.1.0")
    expected = digests(path)
    assert put_raw(feed, path).status_code == 201
    entry = requests.get(
        f"{feed.url}/api/v2/FindPackagesById()", params={"id": "'Acme.Lib'"}, timeout=10
    )
    assert entry.status_code == 200, entry.text
    wanted = base64.b64encode(bytes.fromhex(expected["sha512"])).decode()
    assert wanted in entry.text
    octopus = requests.get(f"{feed.url}/api/packages/packages-Acme.Lib.3.1.0", timeout=10)
    assert octopus.json()["Hash"] == expected["sha1"]
    assert octopus.json()["Sha512"] == expected["sha512"]


def test_declared_hash_mismatch_is_refused_and_nothing_stored(feed, tmp_path) -> None:
    path = make_zip(tmp_path, "Acme.Raw.1.0.0.zip")
    actual = digests(path)["sha256"]
    wrong = "0" * 64

    response = put_raw(feed, path, sha256=wrong)
    assert response.status_code == 400
    message = response.json()["ErrorMessage"]
    assert actual in message and wrong in message
    assert not [key for key in stored_keys(feed.storage) if key.startswith("packages/")]
    assert requests.get(f"{feed.url}/api/packages", timeout=10).json()["TotalResults"] == 0


def test_missing_or_malformed_declared_hash_is_refused(feed, tmp_path) -> None:
    path = make_zip(tmp_path, "Acme.Raw.1.0.0.zip")
    for declared in ("", "abc", "g" * 64):
        response = put_raw(feed, path, sha256=declared)
        assert response.status_code == 400
        assert "X-Octopack-Sha256" in response.json()["ErrorMessage"]


def test_raw_push_needs_a_key_and_refuses_a_bad_archive(feed, tmp_path) -> None:
    path = make_zip(tmp_path, "Acme.Raw.1.0.0.zip")
    anonymous = requests.put(
        f"{feed.url}/api/octopack/packages/{path.name}",
        data=path.read_bytes(),
        headers={"X-Octopack-Sha256": digests(path)["sha256"]},
        timeout=10,
    )
    assert anonymous.status_code == 401
    junk = tmp_path / "Acme.Junk.1.0.0.zip"
    junk.write_bytes(b"not a zip at all")
    refused = put_raw(feed, junk)
    assert refused.status_code == 400
    assert "Acme.Junk.1.0.0.zip" in refused.json()["ErrorMessage"]
