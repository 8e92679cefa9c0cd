"""Feed benchmark: versions-query latency vs feed size, throughput vs a bare app, 1 GiB transfer.

    python3 bench/feed.py [--quick] [--only versions,throughput,transfer,nuget] [--workers 2]

* versions: `GET /api/feeds/feeds-builtin/packages/versions?packageId=Bench.Target` on a
  feed holding 10 packages and on one holding 10,000 (10 versions each), on disk; then on
  moto's S3 server with 10 and 1,000 packages. Both feeds run at once (in this process,
  werkzeug on loopback) and requests alternate between them, so load from elsewhere on
  the machine hits both alike. Fixtures write records (the real PackageRecord format) and
  22-byte dummy blobs straight into the storage layout; their generation time is printed
  apart. Storage calls per query come from `storage.calls`.
* throughput: wrk on loopback against `octopack serve` and against a bare Flask app with
  the same gunicorn settings (bench/loadgen.py); the feed should reach 70% of the floor.
* nuget: the NuGet v3 flat-container `index.json` and a search query on `octopack serve`
  with 10 and 10,000 nupkg packages, beside the bare app (bench/nuget.py).
* transfer: `octopack push` and a FeedClient download of a 1 GiB zip (random bytes,
  stored) as child processes; peak RSS of client and feed processes (VmHWM) and MB/s
  beside `cp` of the same file. Downloads also with curl, beside this machine's ceilings
  (read + SHA-256, loopback sendfile, curl from a plain sendfile server: bench/download.py).

`--quick`: 1,000 disk packages, 100 S3 packages, a 64 MiB package. Figures only; the
summary marks each target PASS or MISS.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import logging
import math
import os
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # run as a script: bench/ must not shadow the `feed` package
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _REPO / "bench"]
    sys.path.insert(0, str(_REPO))

import requests  # noqa: E402

from bench import transfer_refs  # noqa: E402
from bench._common import (  # noqa: E402
    MIB,
    ChildRun,
    Latency,
    print_table,
    run_python,
    tree_cpu_seconds,
    tree_peaks,
    verdict,
)
from bench.download import DownloadFigures, measure_ceilings, measure_feed_downloads  # noqa: E402
from bench.loadgen import Load, bare_server, have_wrk, run_python_load, run_wrk  # noqa: E402
from feed.core.records import PackageRecord, blob_key, record_key  # noqa: E402

TARGET_ID = "Bench.Target"
VERSIONS_PER_PACKAGE = 10
QUERY = "/api/feeds/feeds-builtin/packages/versions?packageId=" + TARGET_ID
DUMMY_BLOB = b"PK\x05\x06" + b"\0" * 18  # an empty zip: 22 bytes
NOISE_FACTOR = 1.25  # "within noise": the big feed's median at most 25% above the small one's
MIN_THROUGHPUT_RATIO = 0.70
MAX_RSS_MIB = 150.0
PUSH_TARGET = 0.35  # push at least this share of read+SHA-256's MB/s
Row = tuple[str, str, str, str]


# -- fixtures ---------------------------------------------------------------------------


def fixture_objects(packages: int, start: int = 0, fmt: str = "zip") -> Iterator[tuple[str, bytes]]:
    """Yield (key, bytes) of records and blobs: Bench.Target first, then Bench.Other{n}.

    `fmt` names the records' format (nupkg: NuGet queries see them; the blob stays a zip).
    """
    hashes = {
        name: hashlib.new(name, DUMMY_BLOB).hexdigest() for name in ("sha1", "sha256", "sha512")
    }
    for index in range(start, packages):
        package_id = TARGET_ID if index == 0 else f"Bench.Other{index:05d}"
        id_lower = package_id.lower()
        for minor in range(VERSIONS_PER_PACKAGE):
            version = f"1.{minor}.0"
            blob = blob_key(id_lower, version, hashes["sha256"], "zip")
            record = PackageRecord(
                id=package_id,
                version=version,
                normalized_version=version,
                format=fmt,
                extension=fmt,
                blob=blob,
                size=len(DUMMY_BLOB),
                published=f"2026-01-{1 + minor:02d}T00:00:00.000Z",
                **hashes,
            )
            yield blob, DUMMY_BLOB
            yield record_key(id_lower, version), record.to_bytes()


def fill_disk(root: Path, packages: int, start: int = 0, fmt: str = "zip") -> float:
    """Write fixture objects as plain files in the disk layout (no fsync); return seconds."""
    began = time.perf_counter()
    made: set[str] = set()
    for key, data in fixture_objects(packages, start, fmt):
        path = os.path.join(root, key)
        folder = os.path.dirname(path)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        with open(path, "wb") as handle:
            handle.write(data)
    return time.perf_counter() - began


def fill_s3(
    client: object, bucket: str, prefix: str, packages: int, start: int = 0, fmt: str = "zip"
) -> float:
    """Put fixture objects into a bucket of the in-process moto server; return seconds.

    Writes through moto's own backend (HTTP PutObject runs at ~100 objects/s on a loaded
    2-core host), then checks over HTTP that the target package is visible; falls back to
    PutObject from 16 threads when moto's internals are not where we expect them.
    """
    began = time.perf_counter()
    objects = fixture_objects(packages, start, fmt)
    backend = _moto_backend()
    if backend is not None:
        for key, data in objects:
            backend.put_object(bucket, f"{prefix}/{key}", data)
        listed = client.list_objects_v2(  # type: ignore[attr-defined]
            Bucket=bucket, Prefix=f"{prefix}/packages/{TARGET_ID.lower()}/"
        )
        if listed.get("KeyCount", 0) == 2 * VERSIONS_PER_PACKAGE or start > 0:
            return time.perf_counter() - began
        objects = fixture_objects(packages, start, fmt)

    def put(item: tuple[str, bytes]) -> None:
        client.put_object(Bucket=bucket, Key=f"{prefix}/{item[0]}", Body=item[1])  # type: ignore[attr-defined]

    with ThreadPoolExecutor(16) as pool:
        for _ in pool.map(put, objects, chunksize=64):
            pass
    return time.perf_counter() - began


def _moto_backend() -> object | None:
    """Return moto's in-process S3 backend of the default account, or None."""
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        return s3_backends[DEFAULT_ACCOUNT_ID]["global"]
    except (ImportError, KeyError, AttributeError):
        return None


# -- versions query ---------------------------------------------------------------------


@dataclass
class FeedSample:
    """Latencies and storage calls of the versions query on one feed."""

    packages: int
    seconds: list[float] = field(default_factory=list)
    calls_per_query: float = 0.0
    cold_calls: int = 0
    items: int = 0
    floor_seconds: list[float] = field(default_factory=list)  # the backend's own list time

    @property
    def latency(self) -> Latency:
        """Return median and p95."""
        return Latency.of(self.seconds)


@dataclass
class VersionsResult:
    """The versions-query comparison on one backend."""

    backend: str
    small: FeedSample
    large: FeedSample
    generation_seconds: float
    objects_written: int

    def within_noise(self) -> bool:
        """True when the big feed's median stays within the noise factor of the small one."""
        return self.large.latency.median_ms <= self.small.latency.median_ms * NOISE_FACTOR

    def print(self) -> None:
        """Print the figures of both feeds."""
        print(
            f"[versions/{self.backend}] fixtures: {self.objects_written} objects in "
            f"{self.generation_seconds:.1f} s ({self.objects_written / self.generation_seconds:,.0f}/s)"
        )
        for sample in (self.small, self.large):
            lat = sample.latency
            print(
                f"[versions/{self.backend}] {sample.packages:>6} packages: median "
                f"{lat.median_ms:.2f} ms, p95 {lat.p95_ms:.2f} ms over {lat.count} queries; "
                f"{sample.items} items; storage calls per query {sample.calls_per_query:.2f} "
                f"(first, cold: {sample.cold_calls})"
            )
        delta = self.large.latency.median_ms - self.small.latency.median_ms
        print(
            f"[versions/{self.backend}] difference of medians {delta:+.2f} ms "
            f"({100 * delta / self.small.latency.median_ms:+.0f}%)"
        )
        if self.small.floor_seconds:
            small, large = (Latency.of(s.floor_seconds) for s in (self.small, self.large))
            print(
                f"[versions/{self.backend}] the backend's own ListObjectsV2 of that prefix "
                f"(boto3 straight to moto, same rounds): median {small.median_ms:.2f} ms "
                f"({self.small.packages} packages) vs {large.median_ms:.2f} ms "
                f"({self.large.packages} packages)"
            )

    def rows(self) -> list[Row]:
        """Return summary rows."""
        small, large = self.small.latency, self.large.latency
        figure = f"{small.median_ms:.2f} -> {large.median_ms:.2f} ms median"
        name = f"versions query {self.backend}, {self.small.packages} vs {self.large.packages} pkgs"
        rows = [(name, figure, f"<= x{NOISE_FACTOR}", verdict(self.within_noise()))]
        calls_equal = self.small.calls_per_query == self.large.calls_per_query
        rows.append(
            (
                f"storage calls per query {self.backend}",
                f"{self.small.calls_per_query:.2f} vs {self.large.calls_per_query:.2f}",
                "equal",
                verdict(calls_equal),
            )
        )
        if self.small.floor_seconds:
            floors = [Latency.of(x.floor_seconds).median_ms for x in (self.small, self.large)]
            rows.append(
                (
                    "  (diagnostic) moto's own list, same prefix",
                    f"{floors[0]:.2f} -> {floors[1]:.2f} ms median",
                    "-",
                    "-",
                )
            )
        return rows


def _query_once(session: requests.Session, url: str) -> tuple[float, int]:
    """Time one versions query; return (seconds, number of items)."""
    began = time.perf_counter()
    response = session.get(url, timeout=60)
    elapsed = time.perf_counter() - began
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
    return elapsed, len(response.json()["Items"])


def compare_feeds(
    storages: tuple[object, object],
    counts: tuple[int, int],
    rounds: int,
    warmup: int = 10,
    floors: tuple[Callable[[], object], Callable[[], object]] | None = None,
    **feed_config: object,
) -> tuple[FeedSample, FeedSample]:
    """Serve both storages at once and alternate versions queries between them.

    `floors` (optional) are timed in the same rounds: the backend's own cost per feed.
    `feed_config` goes to the feeds (cache_max_age=0 measures every query uncached).
    """
    from tests.helpers.feed_server import running_feed

    quiet_request_logs()
    samples = (FeedSample(counts[0]), FeedSample(counts[1]))
    with ExitStack() as stack:
        feeds = [stack.enter_context(running_feed(s, **feed_config)) for s in storages]
        sessions = [stack.enter_context(requests.Session()) for _ in feeds]
        for feed, session, sample in zip(feeds, sessions, samples, strict=True):
            before = sum(feed.storage.calls.values())
            _, sample.items = _query_once(session, feed.url + QUERY)
            sample.cold_calls = sum(feed.storage.calls.values()) - before
            for _ in range(warmup):
                _query_once(session, feed.url + QUERY)
        before_calls = [sum(f.storage.calls.values()) for f in feeds]
        for _ in range(rounds):
            for feed, session, sample in zip(feeds, sessions, samples, strict=True):
                sample.seconds.append(_query_once(session, feed.url + QUERY)[0])
            for probe, sample in zip(floors or (), samples, strict=False):
                began = time.perf_counter()
                probe()
                sample.floor_seconds.append(time.perf_counter() - began)
        for feed, before, sample in zip(feeds, before_calls, samples, strict=True):
            sample.calls_per_query = (sum(feed.storage.calls.values()) - before) / rounds
    return samples


def quiet_request_logs() -> None:
    """Keep werkzeug's per-request log lines (feeds and moto in this process) off the output."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


# The response cache answers repeated queries after one marker check; with it off, every
# query lists the package's own prefix: both must stay flat as the feed grows.
CACHE_MODES: tuple[tuple[str, dict[str, object]], ...] = (
    ("", {}),
    (", cache off", {"cache_max_age": 0}),
)


def measure_versions_disk(small: int, large: int, rounds: int) -> list[VersionsResult]:
    """Compare the versions query on disk feeds of `small` and `large` packages."""
    from storage.disk import DiskStorage

    with tempfile.TemporaryDirectory(prefix="octopack-bench-versions-") as work:
        roots = (Path(work, "small"), Path(work, "large"))
        fill_disk(roots[0], small)
        seconds = fill_disk(roots[1], large)
        storages = (DiskStorage(roots[0]), DiskStorage(roots[1]))
        objects = large * VERSIONS_PER_PACKAGE * 2
        results = []
        for label, config in CACHE_MODES:
            samples = compare_feeds(storages, (small, large), rounds, **config)
            results.append(VersionsResult(f"disk{label}", *samples, seconds, objects))
    return results


def measure_versions_s3(small: int, large: int, rounds: int) -> list[VersionsResult]:
    """Compare the versions query on S3 feeds (moto on loopback) of `small` and `large` packages."""
    from storage.s3 import S3Storage
    from tests.helpers.moto_server import create_bucket, moto_s3_endpoint, s3_client

    quiet_request_logs()
    with moto_s3_endpoint() as endpoint:
        client = s3_client(endpoint)
        buckets = (create_bucket(endpoint), create_bucket(endpoint))
        fill_s3(client, buckets[0], "feed", small)
        seconds = fill_s3(client, buckets[1], "feed", large)
        storages = tuple(S3Storage(b, "feed", endpoint_url=endpoint) for b in buckets)
        prefix = f"feed/packages/{TARGET_ID.lower()}/"
        floors = tuple(
            functools.partial(client.list_objects_v2, Bucket=b, Prefix=prefix, MaxKeys=1000)
            for b in buckets
        )
        objects = large * VERSIONS_PER_PACKAGE * 2
        results = []
        for label, config in CACHE_MODES:
            samples = compare_feeds(storages, (small, large), rounds, floors=floors, **config)  # type: ignore[arg-type]
            results.append(VersionsResult(f"s3{label}", *samples, seconds, objects))
    return results


# -- throughput -------------------------------------------------------------------------


@dataclass
class ThroughputResult:
    """Requests per second of the feed's versions query and of the bare floor app."""

    workers: int
    feed: list[Load]
    bare: list[Load]
    feed_cpu_ms: list[float] = field(default_factory=list)  # server CPU per request
    bare_cpu_ms: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """Feed rate over floor rate (means over rounds)."""
        return _mean_rate(self.feed) / _mean_rate(self.bare)

    @property
    def cpu_ratio(self) -> float:
        """Bare CPU per request over feed CPU per request: the ratio on an idle machine."""
        feed_cpu = statistics.median(self.feed_cpu_ms)
        return statistics.median(self.bare_cpu_ms) / feed_cpu if feed_cpu > 0 else math.nan

    def print(self) -> None:
        """Print each round and the ratio."""
        for name, loads in (("feed", self.feed), ("bare", self.bare)):
            rates = ", ".join(f"{load.requests_per_second:,.0f}" for load in loads)
            errors = sum(load.errors for load in loads)
            print(
                f"[throughput] {name}: {rates} req/s ({loads[0].tool}, {self.workers} gthread "
                f"workers; {errors} errors)"
            )
        print(f"[throughput] feed / bare = {self.ratio:.2f}")
        for name, cpu in (("feed", self.feed_cpu_ms), ("bare", self.bare_cpu_ms)):
            text = ", ".join(f"{ms:.2f}" for ms in cpu)
            print(f"[throughput] {name}: server CPU per request {text} ms (all its processes)")
        print(
            f"[throughput] bare CPU / feed CPU per request = {self.cpu_ratio:.2f} (the rate ratio "
            "a machine with nothing else running would show; less sensitive to other load)"
        )

    def rows(self) -> list[Row]:
        """Return the summary row."""
        figure = (
            f"{_mean_rate(self.feed):,.0f} / {_mean_rate(self.bare):,.0f} req/s = {self.ratio:.2f}"
        )
        errors = sum(load.errors for load in self.feed + self.bare)
        ok = self.ratio >= MIN_THROUGHPUT_RATIO and errors == 0
        cpu = f"{statistics.median(self.feed_cpu_ms):.2f} vs {statistics.median(self.bare_cpu_ms):.2f} ms = {self.cpu_ratio:.2f}"
        return [
            ("versions query throughput vs bare Flask", figure, ">= 0.70", verdict(ok)),
            ("  same, by server CPU per request", cpu, ">= 0.70", verdict(self.cpu_ratio >= 0.7)),
        ]


def _mean_rate(loads: list[Load]) -> float:
    """Average requests per second over rounds."""
    return sum(load.requests_per_second for load in loads) / len(loads)


def measure_throughput(
    workers: int, seconds: int, rounds: int, use_wrk: bool, python_requests: int = 200
) -> ThroughputResult:
    """Load `octopack serve` (10 packages on disk) and the bare app alternately."""
    from tests.helpers.feed_server import feed_process, free_port

    def load(url: str) -> Load:
        if use_wrk:
            return run_wrk(url, seconds=seconds)
        return run_python_load(url, python_requests)

    result = ThroughputResult(workers, [], [])
    with tempfile.TemporaryDirectory(prefix="octopack-bench-load-") as work:
        fill_disk(Path(work), 10)
        with (
            feed_process(work, workers=workers) as feed,
            bare_server(free_port(), workers) as bare,
        ):
            targets = (
                (feed.url + QUERY, feed.process.pid, result.feed, result.feed_cpu_ms),
                (bare.url + QUERY, bare.pid, result.bare, result.bare_cpu_ms),
            )
            for url, *_ in targets:  # warm every worker and the record caches
                run_python_load(url, 8 * workers, 4)
            for _ in range(rounds):
                for url, pid, loads, cpu in targets:
                    before = tree_cpu_seconds(pid)
                    loads.append(load(url))
                    cpu.append((tree_cpu_seconds(pid) - before) * 1000 / loads[-1].requests)
    return result


# -- transfer ---------------------------------------------------------------------------


@dataclass
class TransferResult:
    """Push and download of one big package: times, throughput, peak memory."""

    size: int
    cp_seconds: float
    push: ChildRun
    download: ChildRun
    feed_after_push: dict[int, float]
    feed_after_download: dict[int, float]
    downloads: DownloadFigures
    read_sha256_seconds: float = math.nan
    multipart_push: ChildRun | None = None
    curl_seconds: float | None = None
    validation_seconds: float = math.nan
    disk_seconds: float = math.nan

    def mb_per_s(self, seconds: float) -> float:
        """Return throughput in MB/s (10^6 bytes)."""
        return self.size / 1e6 / seconds

    def print(self) -> None:
        """Print throughput and peak RSS figures."""
        print(f"[transfer] package {self.size / MIB:,.0f} MiB (random bytes, stored zip)")
        sha, cp = self.read_sha256_seconds, self.cp_seconds
        lines: list[tuple[str, float | None, str]] = [
            ("read+SHA-256", sha, "reference: the least a feed must do"),
            ("cp", cp, "reference: page cache"),
            ("disk write+sync", self.disk_seconds, "reference: what a durable copy can reach"),
            ("push (raw)", self.push.seconds, f"{sha / self.push.seconds:.2f}x read+SHA-256"),
            (
                "push (multipart)",
                self.multipart_push.seconds if self.multipart_push else None,
                "Octopus's route",
            ),
            ("validation", self.validation_seconds, "full-strength archive check alone"),
            ("download curl", self.curl_seconds, ""),
            ("download client", self.download.seconds, f"{cp / self.download.seconds:.2f}x cp"),
        ]
        for name, seconds, note in lines:
            if seconds is None or math.isnan(seconds):
                continue
            if name == "push (multipart)":
                note = f"{sha / seconds:.2f}x read+SHA-256 ({note})"
            if name == "download curl":
                note = f"{cp / seconds:.2f}x cp"
            if name == "validation":
                note = f"{seconds / self.push.seconds:.0%} of the raw push's time ({note})"
            speed = self.mb_per_s(seconds)
            print(f"[transfer] {name:<16} {seconds:6.2f} s  {speed:7.0f} MB/s  {note}")
        print(
            f"[transfer] client peak RSS: push {self.push.peak_mib:.0f} MiB, download "
            f"{self.download.peak_mib:.0f} MiB"
        )
        for when, peaks in (("push", self.feed_after_push), ("download", self.feed_after_download)):
            text = ", ".join(f"pid {pid}: {mib:.0f} MiB" for pid, mib in peaks.items())
            print(f"[transfer] feed peak RSS after {when}: {text}")
        self.downloads.print()

    def rows(self) -> list[Row]:
        """Return summary rows."""
        feed_peak = max(self.feed_after_download.values())
        limit = f"< {MAX_RSS_MIB:.0f} MiB"
        speed = (
            f"push {self.mb_per_s(self.push.seconds):.0f}, download "
            f"{self.mb_per_s(self.download.seconds):.0f}, cp {self.mb_per_s(self.cp_seconds):.0f} MB/s"
        )
        return [
            (
                "feed peak RSS (any process)",
                f"{feed_peak:.0f} MiB",
                limit,
                verdict(feed_peak < MAX_RSS_MIB),
            ),
            (
                "push client peak RSS",
                f"{self.push.peak_mib:.0f} MiB",
                limit,
                verdict(self.push.peak_mib < MAX_RSS_MIB),
            ),
            (
                "download client peak RSS",
                f"{self.download.peak_mib:.0f} MiB",
                limit,
                verdict(self.download.peak_mib < MAX_RSS_MIB),
            ),
            (
                "push (raw) / read+SHA-256",
                f"{self.push_ratio():.2f}x",
                f">= {PUSH_TARGET:.2f}x",
                verdict(self.push_ratio() >= PUSH_TARGET),
            ),
            (f"transfer of {self.size / MIB:,.0f} MiB", speed, "(figure)", "-"),
            *self.downloads.rows(),
            *self.disk_rows(),
        ]

    def disk_rows(self) -> list[Row]:
        """The durable paths beside the disk's own write+fdatasync speed (their ceiling)."""
        if math.isnan(self.disk_seconds):
            return []
        disk, client = self.disk_seconds, self.downloads.client
        return [
            ("push (raw) vs disk write+sync", f"{disk / self.push.seconds:.2f}x", "(ceiling)", "-"),
            ("octopack client vs disk write+sync", f"{disk / client:.2f}x", "(ceiling)", "-"),
        ]

    def push_ratio(self) -> float:
        """The raw push's MB/s as a share of read+SHA-256's in this run (issue 13's aim)."""
        return self.read_sha256_seconds / self.push.seconds


def write_package(path: Path, size: int) -> None:
    """Write a zip of `size` random bytes (stored: incompressible) plus a small readme."""
    block = 4 * MIB
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.writestr("README.txt", "octopack feed benchmark payload\n")
        with archive.open("payload.bin", "w", force_zip64=True) as entry:
            left = size
            while left > 0:
                entry.write(os.urandom(min(block, left)))
                left -= block


def measure_transfer(size: int, workers: int, work_dir: str | None = None) -> TransferResult:
    """Push and download a `size`-byte package through `octopack serve`; compare with cp."""
    from tests.helpers.feed_server import ADMIN_KEY, feed_process

    with tempfile.TemporaryDirectory(prefix="octopack-bench-transfer-", dir=work_dir) as work:
        package = Path(work, "Bench.Transfer.1.0.0.zip")
        write_package(package, size)
        read_sha = transfer_refs.read_sha256_seconds(package)
        cp_seconds = transfer_refs.cp_seconds(package, Path(work, "copy.zip"))
        validation = transfer_refs.validation_seconds(package)
        disk = transfer_refs.durable_write_seconds(size, Path(work, "durable.bin"))
        second = Path(work, "Bench.Transfer.1.0.1.zip")
        os.link(package, second)  # the same bytes under another version, for multipart
        store, uploads = Path(work, "store"), Path(work, "uploads")
        uploads.mkdir()
        args = ["--upload-dir", str(uploads)]
        with feed_process(str(store), workers=workers, args=args) as feed:
            transfer_refs.settle()
            push = run_python(_push_code(package, feed.url, ADMIN_KEY))
            if '"created"' not in push.stdout:
                raise RuntimeError(f"push did not create the package: {push.stdout}")
            transfer_refs.settle()
            multipart = run_python(_push_code(second, feed.url, ADMIN_KEY, multipart=True))
            after_push = tree_peaks(feed.process.pid)
            ceilings = measure_ceilings(package, Path(work))
            raw = feed.url + "/api/packages/packages-Bench.Transfer.1.0.0/raw"
            key = {"X-Octopus-ApiKey": ADMIN_KEY}
            curl_file, curl_discard = measure_feed_downloads(raw, key, Path(work))
            transfer_refs.settle()
            download = run_python(_download_code(feed.url, Path(work, "download.zip")))
            after_download = tree_peaks(feed.process.pid)
    figures = DownloadFigures(
        size,
        cp_seconds,
        ceilings,
        float(download.stdout.split()[1]),
        curl_file,
        curl_discard,
        os.getloadavg(),
    )
    return TransferResult(
        size,
        cp_seconds,
        push,
        download,
        after_push,
        after_download,
        figures,
        read_sha,
        multipart,
        curl_file,
        validation,
        disk,
    )


def _push_code(package: Path, url: str, key: str, multipart: bool = False) -> str:
    """Return a child script that runs `octopack push --output-format json`.

    With `multipart` the client behaves as against a feed without the raw route.
    """
    argv = ["octopack", "push", str(package), "--server", url, "--api-key", key]
    argv += ["--output-format", "json"]
    force = "from packer.client.feed import FeedClient\nFeedClient._raw_push = False\n"
    prelude = force if multipart else ""
    return f"import sys\nsys.argv = {argv!r}\n{prelude}from packer.cli import main\nmain()\n"


def _download_code(url: str, dest: Path) -> str:
    """Return a child script that downloads the package with FeedClient (sha-256 checked)
    and prints the verified SHA-256 and the download's own seconds (no interpreter start)."""
    return (
        "import time\n"
        "from packer.client.feed import FeedClient\n"
        f"with FeedClient({url!r}) as client:\n"
        "    began = time.perf_counter()\n"
        f"    result = client.download('Bench.Transfer', '1.0.0', {str(dest)!r})\n"
        "print(result.sha256, time.perf_counter() - began)\n"
    )


# -- command line -----------------------------------------------------------------------

SECTIONS = ("versions", "throughput", "transfer", "nuget")


@dataclass(frozen=True)
class Scale:
    """How big each section runs."""

    disk_packages: int
    s3_packages: int
    package_bytes: int
    rounds: int


FULL = Scale(disk_packages=10_000, s3_packages=1_000, package_bytes=1024 * MIB, rounds=300)
QUICK = Scale(disk_packages=1_000, s3_packages=100, package_bytes=64 * MIB, rounds=100)


def parse_sections(text: str) -> list[str]:
    """Read --only: a comma-separated subset of the sections."""
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in wanted if part not in SECTIONS]
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(
            f"--only {text!r}: choose from {', '.join(SECTIONS)} (comma-separated)"
        )
    return wanted


def run_sections(
    sections: list[str], scale: Scale, workers: int, seconds: int, use_wrk: bool
) -> list[Row]:
    """Run the chosen sections, printing figures as they come; return summary rows."""
    rows: list[Row] = []
    steps: dict[str, Callable[[], list[Row]]] = {
        "versions": lambda: _versions(scale),
        "throughput": lambda: _throughput(workers, seconds, use_wrk),
        "transfer": lambda: _transfer(scale.package_bytes, workers),
        "nuget": lambda: _nuget(scale.disk_packages, workers, seconds),
    }
    for name in sections:
        print(f"== {name} ==", flush=True)
        rows.extend(steps[name]())
    return rows


def _versions(scale: Scale) -> list[Row]:
    """Run the disk and S3 versions comparisons."""
    rows: list[Row] = []
    for measure, large in (
        (measure_versions_disk, scale.disk_packages),
        (measure_versions_s3, scale.s3_packages),
    ):
        for result in measure(10, large, scale.rounds):
            result.print()
            rows.extend(result.rows())
    return rows


def _throughput(workers: int, seconds: int, use_wrk: bool) -> list[Row]:
    """Run the throughput comparison."""
    result = measure_throughput(workers, seconds, rounds=3, use_wrk=use_wrk)
    result.print()
    return result.rows()


def _transfer(size: int, workers: int) -> list[Row]:
    """Run the transfer measurement."""
    result = measure_transfer(size, workers)
    result.print()
    return result.rows()


def _nuget(packages: int, workers: int, seconds: int) -> list[Row]:
    """Run bench/nuget.py's flat-container index.json and search throughput comparison."""
    from bench import nuget as bench_nuget

    return bench_nuget.measure((10, packages), 10, workers, seconds, rounds=3)


def main(argv: list[str] | None = None) -> int:
    """Parse options, run the sections, print the summary table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller counts for a smoke run")
    parser.add_argument(
        "--only",
        type=parse_sections,
        default=list(SECTIONS),
        help="versions,throughput,transfer,nuget",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn workers for both servers [2]"
    )
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per round [5]")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # figures as they come
    use_wrk = have_wrk()
    if not use_wrk:
        print("wrk not found: throughput uses a bounded Python loop (figures are lower)")
    rows = run_sections(
        args.only, QUICK if args.quick else FULL, args.workers, args.seconds, use_wrk
    )
    print("== summary ==")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
