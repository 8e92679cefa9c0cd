"""Benchmark feed retention: plan and apply on disk (1,000 x 100) and on moto S3 (200 x 50).

    python3 bench/retention.py [--packages 1000] [--versions 100]
                               [--s3-packages 200] [--s3-versions 50] [--skip-disk] [--skip-s3]

Fixtures write commit records and small blobs straight through the storage API (no
archive validation), then build the feed's catalog as the first feed-wide query would.
Prints the plan time (dry run, cold and warm record cache), the apply time, the storage
calls per package, and the plan time per version at several package sizes to show that
planning grows linearly with the number of versions.

The cold plan is compared back to back in the same run with the way it was made before
the catalog (every record read, one at a time: `from_catalog=False` with
`feed.core.parallel.READ_THREADS` = 1), and with records read in parallel; the verdict
line says PASS when the cold plan is at least 8x faster than before (issue 13).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import io
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feed.core import parallel  # noqa: E402
from feed.core.config import FeedConfig  # noqa: E402
from feed.core.records import PackageRecord, blob_key, record_key  # noqa: E402
from feed.retention.job import run_retention  # noqa: E402
from feed.retention.policy import Rules  # noqa: E402
from feed.retention.store import RetentionStore  # noqa: E402
from feed.services import open_feed  # noqa: E402
from storage import Storage  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = START + timedelta(days=400)
RULES = Rules(keep_last=10, keep_prerelease=5, prerelease_group_labels=1)
TARGET = 8.0  # issue 13: a cold plan at least 8x faster than reading records one at a time


def version_texts(count: int) -> list[str]:
    """60% stable versions, the rest prereleases in two groups (beta and feature-x)."""
    stable = int(count * 0.6)
    texts = [f"1.{n // 10}.{n % 10}" for n in range(stable)]
    for n in range(count - stable):
        group = "beta" if n % 2 else "feature-x"
        texts.append(f"2.0.0-{group}.{n}")
    return texts


def write_package(storage: Storage, package_id: str, texts: list[str]) -> None:
    """Write one package's records and blobs directly, one hour apart."""
    lower = package_id.lower()
    for n, text in enumerate(texts):
        data = f"{package_id} {text}".encode()
        sha = hashlib.sha256(data).hexdigest()
        blob = blob_key(lower, text.lower(), sha, "zip")
        storage.put_blob(blob, io.BytesIO(data))
        record = PackageRecord(
            id=package_id,
            version=text,
            normalized_version=text,
            format="zip",
            extension="zip",
            blob=blob,
            size=len(data),
            sha1=hashlib.sha1(data).hexdigest(),
            sha256=sha,
            sha512=hashlib.sha512(data).hexdigest(),
            published=(START + timedelta(hours=n))
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            is_prerelease="-" in text,
        )
        storage.create_record(record_key(lower, text.lower()), record.to_bytes())


def fill(storage: Storage, packages: int, versions: int, threads: int) -> float:
    """Write the fixture feed and build its catalog; return seconds taken."""
    texts = version_texts(versions)
    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(
            pool.map(
                lambda n: write_package(storage, f"Bench.Package{n:05d}", texts), range(packages)
            )
        )
    open_feed(storage, FeedConfig(clock=lambda: NOW)).repository.catalog.rebuild()
    return time.perf_counter() - began


@contextmanager
def read_threads(count: int) -> Iterator[None]:
    """Read records `count` at a time meanwhile (1: the way before parallel reads)."""
    saved, parallel.READ_THREADS = parallel.READ_THREADS, count
    try:
        yield
    finally:
        parallel.READ_THREADS = saved


def timed_run(storage: Storage, dry_run: bool, repository=None, from_catalog=True):  # noqa: ANN001, ANN201
    """Run retention once; return (seconds, report, storage calls, repository)."""
    repository = repository or open_feed(storage, FeedConfig(clock=lambda: NOW)).repository
    store = RetentionStore(storage, repository.clock)
    before = Counter(storage.calls)
    gc.collect()
    began = time.perf_counter()
    report = run_retention(
        repository, store, actor="bench", rules=RULES, dry_run=dry_run, from_catalog=from_catalog
    )
    seconds = time.perf_counter() - began
    return seconds, report, Counter(storage.calls) - before, repository


def compare_cold_plans(storage: Storage, packages: int, total: int) -> None:
    """Time the cold plan before (records one at a time) and now, back to back; verdict."""
    with read_threads(1):
        old, old_report, old_calls, _ = timed_run(storage, True, from_catalog=False)
    threaded, _, threaded_calls, _ = timed_run(storage, True, from_catalog=False)
    new, new_report, new_calls, _ = timed_run(storage, True)
    same = [d.to_json() for d in old_report.decisions] == [
        d.to_json() for d in new_report.decisions
    ]
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    print(f"  cold plan, same run (load average {load}):")
    for label, seconds, calls in (
        ("before: every record, one at a time", old, old_calls),
        (f"every record, {parallel.READ_THREADS} reads at a time", threaded, threaded_calls),
        ("now: from the catalog", new, new_calls),
    ):
        print(
            f"    {label}: {seconds:.2f} s = {seconds / total * 1e6:.0f} us/version; "
            f"{per_package(calls, packages)}"
        )
    ratio = old / new
    verdict = "PASS" if ratio >= TARGET and same else "MISS"
    print(
        f"  {verdict}: cold plan {ratio:.1f}x faster than before (target {TARGET:.0f}x); "
        f"decisions {'identical' if same else 'DIFFER'}"
    )


def bench_backend(label, make_storage, packages, versions, threads, writer=None) -> None:  # noqa: ANN001
    """Fill, plan cold and warm, apply, and print the figures for one backend."""
    storage = make_storage("main")
    setup = fill((writer or (lambda s: s))(storage), packages, versions, threads)
    total = packages * versions
    print(f"{label}: {packages} packages x {versions} versions = {total} versions")
    print(f"  fixture written and catalog built in {setup:.1f} s")
    compare_cold_plans(storage, packages, total)
    cold, report, calls, repository = timed_run(storage, dry_run=True)
    doomed = len(report.deleted)
    print(
        f"  plan (dry run, cold cache): {cold:.2f} s = {cold / total * 1e6:.0f} us/version; "
        f"{per_package(calls, packages)}; would delete {doomed}"
    )
    warm, _, calls, _ = timed_run(storage, dry_run=True, repository=repository)
    print(
        f"  plan (dry run, warm cache in one feed process): {warm:.2f} s; "
        f"{per_package(calls, packages)}"
    )
    applied, report, calls, _ = timed_run(storage, dry_run=False)
    deleted = len(report.deleted)
    print(
        f"  apply (plan + delete {deleted} versions, cold cache): {applied:.2f} s = "
        f"{applied / max(deleted, 1) * 1e3:.2f} ms/deletion; {per_package(calls, packages)}"
    )
    assert deleted == doomed, (deleted, doomed)


def per_package(calls: Counter[str], packages: int) -> str:
    """Say the storage calls per package, in total and by operation."""
    parts = ", ".join(f"{op} {n / packages:.1f}" for op, n in sorted(calls.items()))
    return f"{sum(calls.values()) / packages:.1f} storage calls/package ({parts or 'none'})"


def linearity(make_storage, packages, sizes, threads, writer=None) -> None:  # noqa: ANN001
    """Plan the same number of packages at growing version counts: time per version."""
    print(f"  linearity ({packages} packages, warm cache, plan only):")
    for versions in sizes:
        storage = make_storage(f"lin{versions}")
        fill((writer or (lambda s: s))(storage), packages, versions, threads)
        repository = open_feed(storage, FeedConfig(clock=lambda: NOW)).repository
        timed_run(storage, dry_run=True, repository=repository)
        best = min(timed_run(storage, dry_run=True, repository=repository)[0] for _ in range(3))
        print(
            f"    {versions:4d} versions/package: {best:.3f} s = "
            f"{best / (packages * versions) * 1e6:.1f} us/version"
        )


def planner_linearity() -> None:
    """Time the pure planner on one package of growing size (no storage at all)."""
    from feed.retention.policy import Candidate, plan_package
    from packer.model.versions import parse_version

    print("planner alone (one package, no storage):")
    for versions in (100, 1_000, 10_000, 100_000):
        texts = version_texts(versions)
        candidates = [
            Candidate("P", parse_version(t), START + timedelta(minutes=n))
            for n, t in enumerate(texts)
        ]
        best = min(_timed(lambda c=candidates: plan_package(c, RULES, (), NOW)) for _ in range(3))
        print(f"  {versions:7d} versions: {best:.4f} s = {best / versions * 1e6:.2f} us/version")


def _timed(action) -> float:  # noqa: ANN001
    """Return the seconds one call takes (after a collection, so GC pauses do not land in it)."""
    gc.collect()
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def disk(args: argparse.Namespace) -> None:
    """Run the disk figures in a temp directory."""
    from storage.disk import DiskStorage

    with tempfile.TemporaryDirectory(prefix="octopack-bench-retention-") as root:

        def make(name: str) -> DiskStorage:
            return DiskStorage(os.path.join(root, name))

        def writer(storage: DiskStorage) -> DiskStorage:
            return DiskStorage(storage.root, durable=False)  # the fixture skips fsync

        bench_backend("disk", make, args.packages, args.versions, threads=4, writer=writer)
        linearity(make, 100, [25, 50, 100, 200], threads=4, writer=writer)


def s3(args: argparse.Namespace) -> None:
    """Run the S3 figures against moto's server on loopback (fake credentials only)."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        os.environ.pop(name, None)
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per moto request

    from storage.s3 import S3Storage, make_client

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        client = make_client(f"http://{host}:{port}")

        def make(name: str) -> S3Storage:
            client.create_bucket(Bucket=f"bench-{name}")
            return S3Storage(f"bench-{name}", "feed", client=client)

        bench_backend("s3 (moto)", make, args.s3_packages, args.s3_versions, threads=8)
    finally:
        server.stop()


def main() -> None:
    """Parse options and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--s3-packages", type=int, default=200)
    parser.add_argument("--s3-versions", type=int, default=50)
    parser.add_argument("--skip-disk", action="store_true")
    parser.add_argument("--skip-s3", action="store_true")
    args = parser.parse_args()
    print(f"rules: {RULES.describe()}")
    planner_linearity()
    if not args.skip_disk:
        disk(args)
    if not args.skip_s3:
        s3(args)


if __name__ == "__main__":
    main()
