"""NuGet endpoints under `octopack serve` (gunicorn, two workers): chunked push, freshness."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.feed.http.nuget.conftest import Packer, chunked_push
from tests.helpers.feed_server import feed_process


def test_chunked_pushes_and_fresh_answers_from_every_worker(tmp_path: Path, nupkg: Packer) -> None:
    with feed_process(str(tmp_path / "store"), workers=2) as feed:
        flat = feed.url + "/v3/flatcontainer/acme.web/index.json"
        expected: list[str] = []
        for version in ("1.0.0", "1.1.0", "2.0.0"):
            assert chunked_push(feed.url, nupkg("Acme.Web", version))[0] == 201
            expected.append(version)
            with requests.Session() as session:  # fresh connections reach both workers
                for _ in range(6):
                    assert requests.get(flat, timeout=30).json() == {"versions": expected}
                    hits = session.get(feed.url + "/v3/search?q=acme", timeout=30).json()
                    assert hits["data"][0]["version"] == version
        assert chunked_push(feed.url, nupkg("Acme.Web", "2.0.0"))[0] == 409
