"""Benchmark what deployments cost the feed: `GET /api/octopack/environments` and a retention
plan, with 1,000 packages x 3 environments x 50 deployments each (on disk).

    python3 bench/deployments.py [--packages 1000] [--environments 3] [--deployments 50]
                                 [--before 10] [--versions 5]

The same feed is measured twice: with `--before` deployments per (package, environment),
then after every package got the rest (up to `--deployments`). Both queries read one
state document per (package, environment) and never a record or marker, so their storage
calls and times stay flat while the deployments grow tenfold. One package's listing is
measured too: it lists that package's own markers only.

Fixture shortcut: records and markers are written as plain files in the disk layout (the
same bytes `DiskStorage` writes, without its temp-file dance); state documents are folded
by the feed's own `apply` and written through the storage API.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.retention import write_package  # noqa: E402
from feed.core.config import FeedConfig  # noqa: E402
from feed.core.deployments.records import DeploymentRecord  # noqa: E402
from feed.core.deployments.state import apply  # noqa: E402
from feed.core.deployments.store import RECORD_CODEC  # noqa: E402
from feed.http.app import create_app  # noqa: E402
from feed.retention.job import run_retention  # noqa: E402
from feed.retention.policy import Rules  # noqa: E402
from feed.services import open_feed  # noqa: E402
from storage import ObjectNotFound  # noqa: E402
from storage.disk import DiskStorage  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = START + timedelta(days=400)
ENVIRONMENTS = ("Development", "Test", "Production", "Staging", "DR")
RULES = Rules(keep_last=2)
ROUNDS = 3


@dataclass
class Figures:
    """What one measurement round found."""

    label: str
    seconds: list[float] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    items: int = 0

    def line(self, per: int = 1, unit: str = "query") -> str:
        median = statistics.median(self.seconds)
        calls = ", ".join(f"{op} {n / per:g}" for op, n in sorted(self.calls.items()))
        total = sum(self.calls.values()) / per
        return f"{self.label}: {median * 1e3:8.1f} ms; {total:g} storage calls/{unit} ({calls})"


def package_ids(count: int) -> list[str]:
    return [f"Bench.Package{n:05d}" for n in range(count)]


def records_for(package_id: str, environment: str, count: int, texts: list[str]) -> list[Any]:
    """Deterministic reports for one (package, environment): every 7th one failed."""
    made = []
    for n in range(count):
        finished = START + timedelta(minutes=n * 10 + ENVIRONMENTS.index(environment))
        made.append(
            DeploymentRecord(
                id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{package_id}/{environment}/{n}")),
                package_id=package_id,
                version=texts[n % len(texts)],
                environment=environment,
                target=f"host-{n % 2}",
                status="failed" if n % 7 == 6 else "succeeded",
                started=finished.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                finished=finished.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            )
        )
    return made


def write_plain(root: Path, key: str, data: bytes) -> None:
    """Write one object as a plain file where DiskStorage keeps `key`."""
    path = root.joinpath(*key.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def add_deployments(
    storage: DiskStorage, root: Path, batch: dict[tuple[str, str], list[Any]]
) -> None:
    """Write records and markers, and fold them into the state documents."""
    for records in batch.values():
        for record in records:
            write_plain(root, record.key, RECORD_CODEC.encode(record))
            write_plain(root, f"{record.index_prefix}{record.marker_name}", b"")
            write_plain(root, f"deployments/all/{record.marker_name}", b"")
        key = records[0].state_key
        try:
            data, etag = storage.read_record(key)
            state = json.loads(data)
        except ObjectNotFound:  # the first batch
            state, etag = None, None
        for record in records:
            state = apply(state, record)
        encoded = json.dumps(state).encode()
        if etag is None:
            storage.create_record(key, encoded)
        else:
            storage.replace_record(key, encoded, if_match=etag)


def measure(storage: DiskStorage, label: str, packages: int, one: str) -> list[str]:
    """Time the environments endpoint, a retention plan and one package's listing."""
    os.sync()  # let the fixture's writeback finish first: it would slow the reads down
    time.sleep(1.0)
    lines = []
    services = open_feed(storage, FeedConfig(clock=lambda: NOW))
    client = create_app(services).test_client()

    def timed(figures: Figures, action: Callable[[], Any]) -> Any:
        before = Counter(storage.calls)
        began = time.perf_counter()
        result = action()
        figures.seconds.append(time.perf_counter() - began)
        figures.calls = Counter(storage.calls) - before
        return result

    cold = Figures("  GET /api/octopack/environments, cold")
    answer = timed(cold, lambda: client.get("/api/octopack/environments"))
    assert answer.status_code == 200, answer.text
    listed = sum(len(env["packages"]) for env in answer.json["environments"])
    warm = Figures("  GET /api/octopack/environments, warm")
    for _ in range(ROUNDS):
        timed(warm, lambda: client.get("/api/octopack/environments"))
    lines += [cold.line() + f"; {listed} (package, environment) lines", warm.line()]

    plan = Figures("  retention plan (dry run, cold), whole feed")
    fresh = open_feed(storage, FeedConfig(clock=lambda: NOW))
    report = timed(
        plan,
        lambda: run_retention(
            fresh.repository, fresh.retention, actor="bench", rules=RULES, dry_run=True
        ),
    )
    kept = sum(1 for d in report.decisions if "in " in d.rule and d.decision == "kept")
    lines.append(plan.line(packages, "package") + f"; {kept} versions kept by deployments")
    per = Figures(f"  one package's listing (?packageId={one}&environment=Production&take=10)")
    query = f"/api/octopack/deployments?packageId={one}&environment=Production&take=10"
    for _ in range(ROUNDS):
        answer = timed(per, lambda: client.get(query))
    lines.append(per.line() + f"; total {answer.json['total']}")
    print(f"{label}")
    for line in lines:
        print(line)
    return lines


def run(packages: int, environments: int, before: int, after: int, versions: int) -> dict[str, Any]:
    """Build the feed, measure with `before` then `after` deployments per pair."""
    envs = ENVIRONMENTS[:environments]
    texts = [f"1.0.{n}" for n in range(versions)]
    with tempfile.TemporaryDirectory(prefix="octopack-bench-deploy-") as folder:
        root = Path(folder) / "store"
        storage = DiskStorage(root, durable=False)
        began = time.perf_counter()
        for package_id in package_ids(packages):
            write_package(storage, package_id, texts)
        # the catalog, as the feed's first feed-wide query builds it (retention plans from it)
        open_feed(storage, FeedConfig(clock=lambda: NOW)).repository.catalog.rebuild()
        planned = {
            (p, e): records_for(p, e, after, texts) for p in package_ids(packages) for e in envs
        }
        add_deployments(storage, root, {k: v[:before] for k, v in planned.items()})
        setup = time.perf_counter() - began
        print(
            f"{packages} packages x {len(envs)} environments, {versions} versions each "
            f"(fixture {setup:.1f} s)"
        )
        one = package_ids(packages)[0]
        first = measure(
            storage, f"with {before} deployments per (package, environment):", packages, one
        )
        began = time.perf_counter()
        add_deployments(storage, root, {k: v[before:] for k, v in planned.items() if v[before:]})
        grown = time.perf_counter() - began
        second = measure(
            storage,
            f"with {after} deployments per (package, environment) (added in {grown:.1f} s):",
            packages,
            one,
        )
        records = sum(1 for _ in os.scandir(root / "deployments" / "records"))
        print(f"  ({records} records stored)")
        return {"before": first, "after": second, "records": records}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--environments", type=int, default=3, choices=range(1, 6))
    parser.add_argument("--deployments", type=int, default=50)
    parser.add_argument("--before", type=int, default=10)
    parser.add_argument("--versions", type=int, default=5)
    args = parser.parse_args()
    run(args.packages, args.environments, args.before, args.deployments, args.versions)


if __name__ == "__main__":
    main()
