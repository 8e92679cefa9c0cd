"""Feed-wide queries on the catalog: time and storage calls of the first query after a
restart and after a push, on a small and a large feed, on disk and on moto S3.

Fixtures are written directly (records and blobs by `bench.feed.fixture_objects`, the
catalog shards from those records by `Catalog.expected`), so 100,000 versions take
seconds to build; every version is a nupkg, so NuGet queries see the whole feed. Each
"restart" is a new feed (no memory); each "after a push" is a warm feed asked again after
another one pushed a version. NuGet queries go through the Flask app (test client, no
socket), the others call the repository as the Octopus and web routes do.

The aim (issue 13): every query under AIM_MS after a restart and after a push, at the
largest feed and at the smallest; a PASS/MISS verdict line per aim closes each backend.

    python3 bench/catalog.py [--disk 10,10000] [--s3 10,1000] [--rounds 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # run as a script: bench/ must not shadow the `feed` package
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _REPO / "bench"]
    sys.path.insert(0, str(_REPO))

from bench.feed import (  # noqa: E402
    VERSIONS_PER_PACKAGE,
    fill_disk,
    fill_s3,
    fixture_objects,
    quiet_request_logs,
)
from feed.core.catalog import COMPLETE_KEY, Catalog  # noqa: E402
from feed.core.config import FeedConfig  # noqa: E402
from feed.core.records import PackageRecord, is_record_key  # noqa: E402
from feed.http.app import create_app  # noqa: E402
from feed.services import open_feed  # noqa: E402

try:
    from feed.core.catalog import shard_bytes  # noqa: E402
except ImportError:  # the catalog before slim shards (A/B against octopack f037e0e)
    from feed.core.catalog import SHARDS  # noqa: E402

    shard_bytes = SHARDS.encode

AIM_MS = 100.0
FORMAT = "nupkg"


def get(path: str) -> Callable:
    """A query through the app: GET `path`, which must answer 200."""

    def query(feed) -> None:
        response = feed.client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.data[:300])

    return query


QUERIES: dict[str, Callable] = {
    "search 'other00042' latest": lambda feed: feed.repository.search("other00042", True, 0, 30),
    "search (all) page 1": lambda feed: feed.repository.search(None, False, 0, 30),
    "list ids": lambda feed: feed.repository.list_ids(),
    "v3 search q=other0004": get("/v3/search?q=other0004&take=20"),
    "v3 search (all)": get("/v3/search?take=20&prerelease=true&semVerLevel=2.0.0"),
    "v2 Search() IsLatestVersion": get(
        "/api/v2/Search()?searchTerm='other0004'&$filter=IsLatestVersion&$top=30"
    ),
    "v2 Packages() page 1": get("/api/v2/Packages()?$top=30"),
}


class Feed:
    """One feed process: its repository and a test client of its app."""

    def __init__(self, storage, config: FeedConfig) -> None:
        services = open_feed(storage, config)
        self.repository = services.repository
        self.client = create_app(services).test_client()


def write_catalog(storage, packages: int) -> None:
    """Write the shards the fixture records call for, and the completeness marker."""
    records = (
        PackageRecord.from_bytes(data)
        for key, data in fixture_objects(packages, fmt=FORMAT)
        if is_record_key(key)
    )
    for key, shard in Catalog(storage, lambda _: []).expected(records).items():
        storage.create_record(key, shard_bytes(shard))
    storage.create_record(COMPLETE_KEY, shard_bytes({}))


def calls(storage) -> int:
    return sum(storage.calls.values()) if hasattr(storage, "calls") else 0


def measure(storage, location: str, rounds: int, work: Path) -> list[tuple[str, str, float, int]]:
    """Return (query, moment, median ms, storage calls) for restart and after-push queries."""
    rows = []
    config = FeedConfig(storage=location)
    for name, query in QUERIES.items():
        times, used = [], 0
        for _ in range(rounds):
            feed = Feed(storage, config)
            before, began = calls(storage), time.perf_counter()
            query(feed)
            times.append(time.perf_counter() - began)
            used = calls(storage) - before
        rows.append((name, "first after restart", sorted(times)[len(times) // 2] * 1000, used))
    warm = Feed(storage, config)
    pusher = open_feed(storage, config).repository
    for name, query in QUERIES.items():
        times = []
        for n in range(rounds):
            query(warm)
            package = work / f"Bench.Pushed.{len(rows)}.{n}.zip"
            with zipfile.ZipFile(package, "w") as archive:
                archive.writestr("a.txt", b"x")
            pusher.add_package(package, f"Bench.Pushed.1.0.{n}.zip")
            before, began = calls(storage), time.perf_counter()
            query(warm)
            times.append(time.perf_counter() - began)
            used = calls(storage) - before
            pusher.delete("Bench.Pushed", f"1.0.{n}")
        rows.append((name, "first after a push", sorted(times)[len(times) // 2] * 1000, used))
    return rows


def print_rows(title: str, versions: int, rows) -> None:
    print(f"\n{title}, {versions:,} versions")
    print(f"{'query':30} {'moment':22} {'median ms':>10} {'storage calls':>14}")
    for name, moment, ms, used in rows:
        print(f"{name:30} {moment:22} {ms:10.1f} {used:14d}")


def print_verdicts(title: str, by_size: dict[int, list]) -> None:
    """Print one PASS/MISS line per aim: each moment, every query under AIM_MS at every size."""
    for moment in ("first after restart", "first after a push"):
        misses = [
            f"{name} {ms:.0f} ms at {versions:,}"
            for versions, rows in sorted(by_size.items())
            for name, at, ms, _ in rows
            if at == moment and ms >= AIM_MS
        ]
        sizes = " and ".join(f"{v:,}" for v in sorted(by_size))
        verdict = "PASS" if not misses else "MISS"
        detail = "; ".join(misses) if misses else f"every query under {AIM_MS:.0f} ms"
        print(f"{verdict} {title} {moment} ({sizes} versions): {detail}")


def disk_fixture(root: Path, packages: int) -> None:
    """Build the disk fixture at `root`, unless a finished one is there (--keep)."""
    from storage import open_storage

    if root.with_name(root.name + ".done").exists():
        print(f"\n(disk fixture of {packages * VERSIONS_PER_PACKAGE:,} versions: kept, {root})")
        return
    began = time.perf_counter()
    fill_disk(root, packages, fmt=FORMAT)
    write_catalog(open_storage(str(root)), packages)
    root.with_name(root.name + ".done").write_text("")
    built = time.perf_counter() - began
    print(f"\n(disk fixture of {packages * VERSIONS_PER_PACKAGE:,} versions: {built:.1f} s)")


def run_disk(sizes: list[int], rounds: int, keep: str | None = None) -> None:
    from storage import open_storage

    by_size: dict[int, list] = {}
    for packages in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(keep) / f"disk-{packages}" if keep else Path(tmp) / "store"
            disk_fixture(root, packages)
            storage = open_storage(str(root))
            rows = measure(storage, str(root), rounds, Path(tmp))
            print_rows("disk", packages * VERSIONS_PER_PACKAGE, rows)
            by_size[packages * VERSIONS_PER_PACKAGE] = rows
    print_verdicts("disk", by_size)


def run_s3(sizes: list[int], rounds: int) -> None:
    from storage.s3 import S3Storage
    from tests.helpers.moto_server import create_bucket, moto_s3_endpoint, s3_client

    quiet_request_logs()
    by_size: dict[int, list] = {}
    with moto_s3_endpoint() as endpoint, tempfile.TemporaryDirectory() as tmp:
        client = s3_client(endpoint)
        for packages in sizes:
            bucket = create_bucket(endpoint)
            fill_s3(client, bucket, "feed", packages, fmt=FORMAT)
            storage = S3Storage(bucket, "feed", endpoint_url=endpoint)
            write_catalog(storage, packages)
            rows = measure(storage, f"s3://{bucket}/feed", rounds, Path(tmp))
            print_rows("moto S3", packages * VERSIONS_PER_PACKAGE, rows)
            by_size[packages * VERSIONS_PER_PACKAGE] = rows
    print_verdicts("moto S3", by_size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--disk", default="10,10000", help="disk feed sizes in packages")
    parser.add_argument("--s3", default="10,1000", help="S3 feed sizes in packages ('' skips)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", help="build disk fixtures under this folder once, reuse them")
    args = parser.parse_args(argv)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    sizes = lambda text: [int(n) for n in text.split(",") if n]  # noqa: E731
    run_disk(sizes(args.disk), args.rounds, args.keep)
    if sizes(args.s3):
        run_s3(sizes(args.s3), args.rounds)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
