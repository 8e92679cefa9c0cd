"""API keys: where they are accepted, scopes, revocation, private feeds, hashed storage."""

from __future__ import annotations

import json

import pytest
import requests

from feed.core.keys import KeyStore, hash_key
from tests.feed.packages import make_zip
from tests.helpers.feed_server import running_feed


def _push(url: str, path, **kwargs):
    with path.open("rb") as stream:
        return requests.post(
            f"{url}/api/packages/raw", files={"f": (path.name, stream)}, timeout=10, **kwargs
        )


@pytest.fixture
def keys(feed):
    """Stored keys of each scope on the feed's storage: {scope: plain key}."""
    store = KeyStore(feed.storage)
    return {scope: store.create(scope, f"test-{scope}")[1] for scope in ("read", "push", "admin")}


def test_push_without_key_is_401_with_basic_challenge(feed, tmp_path) -> None:
    response = _push(feed.url, make_zip(tmp_path, "Acme.A.1.0.0.zip"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert "X-Octopus-ApiKey" in response.json()["ErrorMessage"]


def test_wrong_key_is_401(feed, tmp_path) -> None:
    headers = {"X-Octopus-ApiKey": "API-WRONG"}
    response = _push(feed.url, make_zip(tmp_path, "Acme.A.1.0.0.zip"), headers=headers)
    assert response.status_code == 401
    assert "not known" in response.json()["ErrorMessage"]


def test_read_key_cannot_push_and_push_key_cannot_overwrite(feed, keys, tmp_path) -> None:
    path = make_zip(tmp_path, "Acme.A.1.0.0.zip")
    denied = _push(feed.url, path, headers={"X-Octopus-ApiKey": keys["read"]})
    assert denied.status_code == 403
    assert "'test-read'" in denied.json()["ErrorMessage"]
    assert _push(feed.url, path, headers={"X-NuGet-ApiKey": keys["push"]}).status_code == 201
    overwrite = _push(
        feed.url,
        path,
        headers={"X-Octopus-ApiKey": keys["push"]},
        params={"overwriteMode": "OverwriteExisting"},
    )
    assert overwrite.status_code == 403
    admin = _push(
        feed.url, path, headers={"X-Octopus-ApiKey": keys["admin"]}, params={"replace": "true"}
    )
    assert admin.status_code == 200


def test_basic_auth_password_and_query_parameter(feed, keys, tmp_path) -> None:
    basic = _push(feed.url, make_zip(tmp_path, "Acme.B.1.0.0.zip"), auth=("any", keys["push"]))
    assert basic.status_code == 201
    query = _push(feed.url, make_zip(tmp_path, "Acme.C.1.0.0.zip"), params={"apikey": keys["push"]})
    assert query.status_code == 201


def test_revoked_key_stops_working_at_once(feed, keys, tmp_path) -> None:
    KeyStore(feed.storage).revoke("test-push")
    response = _push(
        feed.url, make_zip(tmp_path, "Acme.A.1.0.0.zip"), headers={"X-Octopus-ApiKey": keys["push"]}
    )
    assert response.status_code == 401


def test_keys_are_stored_hashed_never_plain(feed, keys) -> None:
    for info in feed.storage.list("keys/"):
        data, _ = feed.storage.read_record(info.key)
        for plain in keys.values():
            assert plain.encode() not in data
    stored = json.loads(feed.storage.read_record("keys/names/test-push.json")[0])
    assert stored["sha256"] == hash_key(keys["push"]) and stored["scope"] == "push"


def test_private_feed_needs_a_read_key(disk_backend, tmp_path) -> None:
    with running_feed(disk_backend.storage, private=True) as feed:
        reader = KeyStore(feed.storage).create("read", "reader")[1]
        url = f"{feed.url}/api/packages"
        assert requests.get(url, timeout=10).status_code == 401
        assert requests.get(url, headers={"X-Octopus-ApiKey": reader}, timeout=10).ok
        assert requests.get(url, params={"apikey": "API-NOPE"}, timeout=10).status_code == 401
    with running_feed(disk_backend.storage) as public:
        assert requests.get(f"{public.url}/api/packages", timeout=10).ok


def test_key_admin_api(disk_feed) -> None:
    base = f"{disk_feed.url}/api/octopack/keys"
    admin = {"X-Octopus-ApiKey": disk_feed.admin_key}
    created = requests.post(base, json={"scope": "push", "name": "ci"}, headers=admin, timeout=10)
    assert created.status_code == 201
    plain = created.json()["key"]
    duplicate = requests.post(base, json={"scope": "push", "name": "ci"}, headers=admin, timeout=10)
    assert duplicate.status_code == 409
    listing = requests.get(base, headers=admin, timeout=10).json()["keys"]
    assert [(k["name"], k["scope"]) for k in listing] == [("ci", "push")]
    assert plain not in json.dumps(listing)
    assert requests.get(base, headers={"X-Octopus-ApiKey": plain}, timeout=10).status_code == 403
    bad = requests.post(base, json={"scope": "root"}, headers=admin, timeout=10)
    assert bad.status_code == 400 and "'root'" in bad.json()["ErrorMessage"]
    assert requests.delete(f"{base}/ci", headers=admin, timeout=10).status_code == 200
    assert requests.delete(f"{base}/ci", headers=admin, timeout=10).status_code == 404


def test_initial_admin_key_only_when_no_key_exists(disk_backend) -> None:
    first = KeyStore(disk_backend.storage).ensure_initial_admin()
    assert first and first.startswith("API-")
    assert KeyStore(disk_backend.storage).ensure_initial_admin() is None
    assert KeyStore(disk_backend.storage).lookup(first).scope == "admin"
