"""NuGet benchmark: flat-container `index.json` and a v3 search, beside the bare-Flask floor.

    python3 bench/nuget.py [--quick] [--workers 2] [--seconds 5] [--versions 10]

Two `octopack serve` processes (gunicorn, the feed's own settings) on disk feeds of 10 and
10,000 nupkg packages (`--versions` each; records in the real PackageRecord format and
22-byte dummy blobs written straight into the storage layout), and `bench.loadgen:bare_app`
(constant JSON, same gunicorn settings). wrk on loopback (a bounded Python loop without it)
loads, in alternating rounds:

* `GET /v3/flatcontainer/bench.target/index.json`
* `GET /v3/search?q=bench.target&prerelease=true&take=20`

Target: each at 70% or more of the bare app's requests per second (also shown as server
CPU per request, steadier on a shared host). `--quick`: 1,000
packages instead of 10,000.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # run as a script: bench/ must not shadow the `feed` package
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _REPO / "bench"]
    sys.path.insert(0, str(_REPO))

import requests  # noqa: E402

from bench._common import print_table, tree_cpu_seconds, verdict  # noqa: E402
from bench.loadgen import Load, bare_server, have_wrk, run_python_load, run_wrk  # noqa: E402
from feed.core.records import PackageRecord, blob_key, record_key  # noqa: E402

TARGET_ID = "Bench.Target"
DUMMY_BLOB = b"PK\x05\x06" + b"\0" * 18  # an empty zip: 22 bytes
MIN_RATIO = 0.70
QUERIES = {
    "flat index.json": f"/v3/flatcontainer/{TARGET_ID.lower()}/index.json",
    "v3 search": f"/v3/search?q={TARGET_ID.lower()}&prerelease=true&take=20",
}
Row = tuple[str, str, str, str]


def nupkg_objects(packages: int, versions: int) -> Iterator[tuple[str, bytes]]:
    """Yield (key, bytes) of nupkg records and blobs: Bench.Target, then Bench.Other{n}."""
    hashes = {n: hashlib.new(n, DUMMY_BLOB).hexdigest() for n in ("sha1", "sha256", "sha512")}
    for index in range(packages):
        package_id = TARGET_ID if index == 0 else f"Bench.Other{index:05d}"
        for minor in range(versions):
            version = f"1.{minor}.0"
            blob = blob_key(package_id.lower(), version, hashes["sha256"], "nupkg")
            record = PackageRecord(
                id=package_id,
                version=version,
                normalized_version=version,
                format="nupkg",
                extension="nupkg",
                blob=blob,
                size=len(DUMMY_BLOB),
                published=f"2026-01-{1 + minor:02d}T00:00:00.000Z",
                description=f"Benchmark package {index}",
                authors=["bench"],
                **hashes,
            )
            yield blob, DUMMY_BLOB
            yield record_key(package_id.lower(), version), record.to_bytes()


def fill(root: Path, packages: int, versions: int) -> float:
    """Write the fixture as plain files in the disk layout; return seconds."""
    began = time.perf_counter()
    for key, data in nupkg_objects(packages, versions):
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return time.perf_counter() - began


@dataclass
class Figures:
    """Requests per second of one URL over the rounds."""

    pid: int
    loads: list[Load] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # server CPU per request, per round

    @property
    def rate(self) -> float:
        """Mean requests per second."""
        return sum(load.requests_per_second for load in self.loads) / len(self.loads)

    @property
    def cpu(self) -> float:
        """Median server CPU milliseconds per request."""
        return statistics.median(self.cpu_ms)

    @property
    def errors(self) -> int:
        """Failed requests over all rounds."""
        return sum(load.errors for load in self.loads)


def measure(
    counts: tuple[int, ...],
    versions: int,
    workers: int,
    seconds: int,
    rounds: int,
    use_wrk: bool | None = None,
    python_requests: int = 400,
) -> list[Row]:
    """Serve each feed size and the bare app; load every URL in alternating rounds."""
    from tests.helpers.feed_server import feed_process, free_port

    use_wrk = have_wrk() if use_wrk is None else use_wrk
    if not use_wrk:
        print("no wrk: a bounded Python loop loads the servers (figures are lower)")

    def load(url: str) -> Load:
        if use_wrk:
            return run_wrk(url, seconds=seconds)
        return run_python_load(url, python_requests, 4)

    with tempfile.TemporaryDirectory(prefix="octopack-bench-nuget-") as work, ExitStack() as stack:
        targets: dict[str, tuple[str, Figures]] = {}
        for count in counts:
            root = Path(work, f"feed-{count}")
            root.mkdir()
            # started first: the feed's start-up sweep of stray temp files walks the store
            feed = stack.enter_context(feed_process(str(root), workers=workers))
            spent = fill(root, count, versions)
            print(f"[nuget] fixture: {count} packages x {versions} versions in {spent:.1f} s")
            for name, path in QUERIES.items():
                targets[f"{name}, {count} packages"] = (feed.url + path, Figures(feed.process.pid))
        bare = stack.enter_context(bare_server(free_port(), workers))
        targets["bare Flask (constant JSON)"] = (bare.url + "/v3/search", Figures(bare.pid))
        for name, (url, _) in targets.items():  # check answers, warm every worker and cache
            began = time.perf_counter()
            response = requests.get(url, timeout=300)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
            cold = time.perf_counter() - began
            print(f"[nuget] {name}: first (uncached) answer in {cold * 1000:,.1f} ms")
            warm(url, 4 * workers)
        after_push(targets, counts[-1], work)
        for _ in range(rounds):
            for url, figures in targets.values():
                before = tree_cpu_seconds(figures.pid)
                figures.loads.append(load(url))
                spent = tree_cpu_seconds(figures.pid) - before
                figures.cpu_ms.append(spent * 1000 / max(1, figures.loads[-1].requests))
        return _report(targets, workers)  # before the (slow) removal of the fixture


def warm(url: str, requests_total: int) -> None:
    """Send a few requests from 4 threads with a long timeout, so every worker fills its cache.

    The first search of a worker on a big feed lists the whole store (tens of seconds
    cold on a slow disk), longer than a load tool's timeout.
    """
    with ThreadPoolExecutor(4) as pool:
        codes = list(
            pool.map(lambda _: requests.get(url, timeout=600).status_code, range(requests_total))
        )
    if set(codes) != {200}:
        raise RuntimeError(f"warming {url} gave {sorted(set(codes))}")


def after_push(targets: dict[str, tuple[str, Figures]], count: int, work: str) -> None:
    """Push one nupkg to the biggest feed and time the next search: the cost of a change."""
    from tests.feed.http.nuget.packages import make_package
    from tests.helpers.feed_server import ADMIN_KEY

    url = targets[f"v3 search, {count} packages"][0]
    feed_url = url.split("/v3/", 1)[0]
    package = make_package(Path(work), "Bench.Pushed", "1.0.0")
    with package.open("rb") as body:
        pushed = requests.put(
            feed_url + "/v3/package",
            files={"package": ("package.nupkg", body)},
            headers={"X-NuGet-ApiKey": ADMIN_KEY},
            timeout=120,
        )
    if pushed.status_code != 201:
        raise RuntimeError(f"push to {feed_url} answered {pushed.status_code}: {pushed.text}")
    began = time.perf_counter()
    requests.get(url, timeout=600).raise_for_status()
    spent = time.perf_counter() - began
    print(f"[nuget] v3 search, {count} packages: first answer after a push {spent * 1000:,.1f} ms")
    warm(url, 4 * len(targets))


def _report(targets: dict[str, tuple[str, Figures]], workers: int) -> list[Row]:
    """Print each URL's rate and return summary rows against the bare floor."""
    floor = targets["bare Flask (constant JSON)"][1]
    rows: list[Row] = []
    for name, (_, figures) in targets.items():
        rates = ", ".join(f"{load.requests_per_second:,.0f}" for load in figures.loads)
        tool = figures.loads[0].tool
        print(
            f"[nuget] {name}: {rates} req/s, server CPU {figures.cpu:.2f} ms per request "
            f"({tool}, {workers} gthread workers; {figures.errors} errors)"
        )
        if figures is floor:
            continue
        ratio = figures.rate / floor.rate
        # a short run can fall below the kernel's CPU tick; as bench/feed.py, no figure then
        cpu_ratio = floor.cpu / figures.cpu if figures.cpu > 0 else math.nan
        ok = ratio >= MIN_RATIO and figures.errors == 0
        figure = f"{figures.rate:,.0f} / {floor.rate:,.0f} req/s = {ratio:.2f}"
        rows.append((name, figure, f">= {MIN_RATIO:.2f}", verdict(ok)))
        cpu = f"{figures.cpu:.2f} vs {floor.cpu:.2f} ms = {cpu_ratio:.2f}"
        rows.append(
            (
                "  same, by server CPU per request",
                cpu,
                f">= {MIN_RATIO:.2f}",
                verdict(cpu_ratio >= MIN_RATIO),
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Parse options, measure, print the summary."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1,000 packages instead of 10,000")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers [2]")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per round [5]")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds [2]")
    parser.add_argument("--versions", type=int, default=10, help="versions per package [10]")
    args = parser.parse_args(argv)
    large = 1_000 if args.quick else 10_000
    os.environ.setdefault("OCTOPACK_PRIVATE", "false")
    rows = measure((10, large), args.versions, args.workers, args.seconds, args.rounds)
    print("== summary ==")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
