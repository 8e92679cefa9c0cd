"""GET /metrics: Prometheus text, route templates, bytes, gauges, retention, private feeds;
and a real `octopack serve --workers 2` whose workers' counts add up in every scrape."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from feed.http.metrics import count_deployment_reported
from tests.feed.deployments.conftest import record
from tests.feed.packages import make_zip
from tests.helpers.feed_server import ADMIN_KEY, feed_process, running_feed

ADMIN = {"X-Octopus-ApiKey": ADMIN_KEY}


def sample(text: str, name: str, **labels: str) -> float:
    """Return one sample's value from Prometheus text (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$", line)
        if not match or match[1] != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match[3] or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match[4])
    return total


def push(url: str, path: Path) -> requests.Response:
    with path.open("rb") as stream:
        return requests.post(
            f"{url}/api/packages/raw",
            files={"file": (path.name, stream)},
            headers=ADMIN,
            timeout=30,
        )


def scrape(url: str, headers: dict[str, str] | None = None) -> str:
    answer = requests.get(f"{url}/metrics", headers=headers or {}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain")
    return answer.text


def test_requests_are_counted_by_route_template_never_the_raw_path(tmp_path) -> None:
    with running_feed(tmp_path / "store") as feed:
        before = scrape(feed.url)
        route = "/api/packages/<ref>"
        for ref in ("packages-A.1.0.0", "packages-B.2.0.0"):
            assert requests.get(f"{feed.url}/api/packages/{ref}", timeout=10).status_code == 404
        requests.get(f"{feed.url}/no/such/thing", timeout=10)
        after = scrape(feed.url)
    labels = {"route": route, "method": "GET", "status": "404"}
    name = "octopack_http_requests_total"
    assert sample(after, name, **labels) - sample(before, name, **labels) == 2
    assert "packages-A.1.0.0" not in after and "/no/such/thing" not in after
    assert sample(after, name, route="<unmatched>", status="404") >= 1
    histogram = "octopack_http_request_duration_seconds_count"
    assert sample(after, histogram, route=route) - sample(before, histogram, route=route) == 2


def test_bytes_gauges_and_retention_are_counted(tmp_path) -> None:
    package = make_zip(tmp_path, "Acme.Metrics.1.0.0.zip", {"a.txt": b"x" * 5000})
    second = make_zip(tmp_path, "Acme.Metrics.2.0.0.zip")
    with running_feed(tmp_path / "store") as feed:
        before = scrape(feed.url)
        assert sample(before, "octopack_packages") == 0
        assert push(feed.url, package).status_code == 201
        assert push(feed.url, second).status_code == 201
        raw = requests.get(f"{feed.url}/api/packages/packages-Acme.Metrics.1.0.0/raw", timeout=10)
        assert raw.status_code == 200
        middle = scrape(feed.url)
        run = requests.post(
            f"{feed.url}/api/octopack/retention/run",
            json={"keep_last": 1},
            headers=ADMIN,
            timeout=30,
        )
        assert run.status_code == 200
        body = record("Acme.Metrics", "2.0.0")
        for _ in range(2):  # a retry of the same report is stored and counted once
            answer = requests.post(
                f"{feed.url}/api/octopack/deployments", json=body, headers=ADMIN, timeout=10
            )
            assert answer.status_code in (200, 201), answer.text
        count_deployment_reported("failed")  # the function the other endpoints may call
        after = scrape(feed.url)
    pushed = sample(middle, "octopack_push_bytes_total") - sample(
        before, "octopack_push_bytes_total"
    )
    assert pushed > package.stat().st_size + second.stat().st_size  # the multipart bodies
    downloaded = sample(middle, "octopack_download_bytes_total") - sample(
        before, "octopack_download_bytes_total"
    )
    assert downloaded == package.stat().st_size
    assert (sample(middle, "octopack_packages"), sample(middle, "octopack_versions")) == (1, 2)
    assert (sample(after, "octopack_packages"), sample(after, "octopack_versions")) == (1, 1)
    runs = "octopack_retention_runs_total"
    assert sample(after, runs, kind="manual") - sample(before, runs, kind="manual") == 1
    deletions = "octopack_retention_deletions_total"
    assert sample(after, deletions) - sample(before, deletions) == 1
    reported = "octopack_deployments_reported_total"
    assert (
        sample(after, reported, status="succeeded") - sample(before, reported, status="succeeded")
        == 1
    )
    assert sample(after, reported, status="failed") - sample(before, reported, status="failed") == 1


@pytest.mark.parametrize("public", [False, True])
def test_a_private_feed_wants_a_read_key_unless_metrics_are_public(tmp_path, public) -> None:
    with running_feed(tmp_path / "store", private=True, metrics_public=public) as feed:
        anonymous = requests.get(f"{feed.url}/metrics", timeout=10)
        assert anonymous.status_code == (200 if public else 401)
        assert scrape(feed.url, ADMIN)


@pytest.mark.slow
def test_counts_add_up_across_gunicorn_workers(tmp_path) -> None:
    requests_sent = 40
    with feed_process(str(tmp_path / "store"), workers=2) as feed:
        for _ in range(requests_sent):  # a new connection each: the kernel spreads them
            assert requests.get(f"{feed.url}/api/spaces", timeout=10).status_code == 200
        scrapes = [scrape(feed.url) for _ in range(8)]
        log = feed.stderr()
    counted = {
        sample(text, "octopack_http_requests_total", route="/api/spaces", status="200")
        for text in scrapes
    }
    assert counted == {requests_sent}, log
    assert all("octopack_http_request_duration_seconds_bucket" in text for text in scrapes)
