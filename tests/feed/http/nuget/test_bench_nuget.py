"""Smoke test of bench/nuget.py at the smallest scale: it still runs and yields figures.

Never asserts on timing: only that every URL answered, loads ran without errors and the
summary rows are well formed.
"""

from __future__ import annotations

from pathlib import Path

from bench import nuget as bench_nuget
from feed.core.records import PackageRecord


def test_fixture_writes_real_nupkg_records(tmp_path: Path) -> None:
    bench_nuget.fill(tmp_path, packages=2, versions=3)
    records = sorted(tmp_path.glob("packages/*/*/package.json"))
    assert len(records) == 6
    parsed = PackageRecord.from_bytes(records[0].read_bytes())
    assert parsed.format == "nupkg" and parsed.id.startswith("Bench.")


def test_measure_runs_every_url_against_the_bare_app() -> None:
    rows = bench_nuget.measure(
        (2, 3), versions=2, workers=1, seconds=1, rounds=1, use_wrk=False, python_requests=20
    )
    assert len(rows) == 2 * len(bench_nuget.QUERIES) * 2  # rate row and CPU row per URL
    for row in rows:
        assert len(row) == 4 and all(row) and row[3] in ("PASS", "MISS")
