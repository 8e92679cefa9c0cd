"""A wrong or revoked API key gets our words (403), not a credentials prompt (issue 14.6).

NuGet clients answer a 401 carrying `WWW-Authenticate: Basic` by asking for a user name,
so a key sent in `X-NuGet-ApiKey` that the feed does not know is a 403 with the message.
The Basic challenge stays only where no credentials were sent at all.
"""

from __future__ import annotations

from pathlib import Path

import requests

from feed.core.keys import KeyStore
from tests.feed.http.nuget.conftest import Packer, v3_push
from tests.feed.http.nuget.nuget_client import require_nuget, run_nuget
from tests.helpers.feed_server import RunningFeed, running_feed

UNKNOWN = "not known to this feed"


def test_wrong_nuget_key_is_403_with_the_message_and_no_challenge(
    disk_feed: RunningFeed, nupkg: Packer
) -> None:
    path = nupkg("Acme.Web", "1.0.0")
    for url in ("/v3/package", "/api/v2/package/"):
        response = v3_push(disk_feed, path, key="API-WRONG", url=url)
        assert response.status_code == 403, (url, response.text)
        assert UNKNOWN in response.json()["ErrorMessage"]
        assert "WWW-Authenticate" not in response.headers


def test_revoked_nuget_key_is_403(disk_feed: RunningFeed, nupkg: Packer) -> None:
    store = KeyStore(disk_feed.storage)
    plain = store.create("push", "ci")[1]
    store.revoke("ci")
    response = v3_push(disk_feed, nupkg("Acme.Web", "1.0.0"), key=plain)
    assert response.status_code == 403 and UNKNOWN in response.json()["ErrorMessage"]


def test_challenge_only_when_no_credentials_were_sent(disk_backend, tmp_path: Path) -> None:
    with running_feed(disk_backend.storage, private=True) as feed:
        url = feed.url + "/api/v2/Packages()"
        anonymous = requests.get(url, timeout=10)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
        wrong = requests.get(url, headers={"X-Octopus-ApiKey": "API-WRONG"}, timeout=10)
        assert wrong.status_code == 401 and "WWW-Authenticate" not in wrong.headers
        assert UNKNOWN in wrong.json()["ErrorMessage"]


def test_nuget_client_with_a_wrong_key_shows_our_message(
    disk_feed: RunningFeed, nupkg: Packer, tmp_path: Path
) -> None:
    nuget = require_nuget()
    path = nupkg("Acme.Web", "1.0.0")
    home = tmp_path / "home"
    home.mkdir()
    source = disk_feed.url + "/api/v2/"
    pushed = run_nuget(
        nuget, ["push", path.name, "-Source", source, "-ApiKey", "API-WRONG"], path.parent, home
    )
    assert pushed.returncode != 0, pushed.output
    assert "Please provide credentials" not in pushed.output
    assert "403" in pushed.output or "Forbidden" in pushed.output or UNKNOWN in pushed.output, (
        pushed.output
    )
    assert disk_feed.repository.list_versions("Acme.Web") == []
