"""`GET /metrics`: the feed's Prometheus metrics, correct under gunicorn's several workers.

Counters and the latency histogram live in prometheus-client's module-level registry. Under
`octopack serve`, `PROMETHEUS_MULTIPROC_DIR` names a private folder the server made before
forking (feed.http.server), so every worker writes its values there and a scrape answered
by any worker adds them all up. Package and version counts are gauges computed at scrape
time from one listing of the feed, cached while the feed's generation marker (one HEAD)
says nothing changed, so a scrape of an idle feed costs one small read.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

from flask import Flask, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from feed.core.repository import Repository
from feed.http.context import require, services
from feed.http.requestlog import elapsed, route_template

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
COUNTS_EXTENSION = "octopack-metrics-counts"

REQUESTS = Counter(
    "octopack_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "octopack_http_request_duration_seconds",
    "Time to answer a request (until the response starts), by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
PUSH_BYTES = Counter(
    "octopack_push_bytes", "Request bytes of accepted pushes (every dialect).", ["route"]
)
DOWNLOAD_BYTES = Counter(
    "octopack_download_bytes", "Package bytes sent by downloads (GET, whole or ranged)."
)
RETENTION_RUNS = Counter(
    "octopack_retention_runs", "Retention runs in this feed, by kind.", ["kind"]
)
RETENTION_DELETIONS = Counter(
    "octopack_retention_deletions", "Package versions deleted by retention runs."
)
DEPLOYMENTS = Counter(
    "octopack_deployments_reported", "Deployments reported to the feed, by status.", ["status"]
)


def init_app(app: Flask) -> None:
    """Register /metrics and the hooks that count every request."""
    app.extensions[COUNTS_EXTENSION] = FeedCounts()
    app.add_url_rule("/metrics", "metrics", metrics_view)
    app.after_request(_count_request)


# -- what other modules call --------------------------------------------------------------


def count_download(size: int) -> None:
    """Count package bytes a download sends."""
    DOWNLOAD_BYTES.inc(max(0, size))


def count_retention(deleted: int, dry_run: bool, scheduled: bool = False) -> None:
    """Count one retention run and the versions it deleted."""
    kind = "dry_run" if dry_run else ("scheduled" if scheduled else "manual")
    RETENTION_RUNS.labels(kind=kind).inc()
    RETENTION_DELETIONS.inc(0 if dry_run else deleted)


def count_deployment_reported(status: str = "unknown") -> None:
    """Count one deployment report the feed stored (called by the deployments endpoint)."""
    DEPLOYMENTS.labels(status=status or "unknown").inc()


# -- request hooks ------------------------------------------------------------------------


def _count_request(response: Response) -> Response:
    """Count the request by route template and status, its latency and pushed bytes."""
    route, method = route_template(), request.method
    REQUESTS.labels(route=route, method=method, status=str(response.status_code)).inc()
    LATENCY.labels(route=route, method=method).observe(elapsed())
    endpoint = request.endpoint or ""
    if endpoint.endswith(".push") and 200 <= response.status_code < 300:
        PUSH_BYTES.labels(route=route).inc(request.content_length or 0)
    return response


# -- the scrape ---------------------------------------------------------------------------


def metrics_view() -> Response:
    """Answer a Prometheus scrape; a private feed wants a read key unless metrics are public."""
    config = services().config
    if config.private and not getattr(config, "metrics_public", False):
        require("read")
    body = generate_latest(_process_registry())
    counts = CollectorRegistry(auto_describe=False)
    counts.register(current_app.extensions[COUNTS_EXTENSION].collector(services().repository))
    return Response(body + generate_latest(counts), mimetype=CONTENT_TYPE_LATEST)


def _process_registry() -> CollectorRegistry:
    """Return the registry to scrape: every worker's values under gunicorn, else this one's."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


class FeedCounts:
    """Packages and versions in the feed, recounted only when the generation marker moved."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: tuple[str, int, int] | None = None  # (generation, packages, versions)

    def counts(self, repository: Repository) -> tuple[int, int]:
        """Return (packages, versions), listing the feed only after a change."""
        generation = repository.generation()
        with self._lock:
            if self._seen is not None and self._seen[0] == generation:
                return self._seen[1], self._seen[2]
        entries = repository.id_entries()  # slim parts only: no record decoded
        versions = sum(len(entry) for entry in entries)
        with self._lock:
            self._seen = (generation, len(entries), versions)
        return len(entries), versions

    def collector(self, repository: Repository) -> _CountsCollector:
        """Return a one-scrape collector over this feed."""
        return _CountsCollector(self, repository)


class _CountsCollector:
    """Yield the package and version gauges for one scrape."""

    def __init__(self, counts: FeedCounts, repository: Repository) -> None:
        self._counts = counts
        self._repository = repository

    def collect(self) -> Iterator[Metric]:
        packages, versions = self._counts.counts(self._repository)
        yield GaugeMetricFamily("octopack_packages", "Package ids in the feed.", value=packages)
        yield GaugeMetricFamily(
            "octopack_versions", "Package versions in the feed (listed or not).", value=versions
        )
