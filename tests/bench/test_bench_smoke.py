"""Smoke test of bench/feed.py at the smallest scale: every section still runs and yields figures.

Never asserts on timing: only that numbers came out, the queries found the fixture's
versions, the children ran, and the summary rows are well formed.
"""

from __future__ import annotations

import math
import re

import pytest

from bench import download as download_bench
from bench import feed as bench_feed
from bench._common import Latency

ROW_VERDICTS = {"PASS", "MISS", "-"}


def _check_rows(rows: list[tuple[str, str, str, str]]) -> None:
    """Every summary row has four non-empty cells and a known verdict."""
    assert rows
    for row in rows:
        assert len(row) == 4 and all(row)
        assert row[3] in ROW_VERDICTS


def test_versions_on_disk_yields_latencies_and_call_counts() -> None:
    cached, uncached = bench_feed.measure_versions_disk(small=2, large=3, rounds=5)
    for result in (cached, uncached):
        for sample in (result.small, result.large):
            assert sample.items == bench_feed.VERSIONS_PER_PACKAGE
            assert len(sample.seconds) == 5 and all(s > 0 for s in sample.seconds)
            assert sample.calls_per_query > 0
        assert result.objects_written == 3 * bench_feed.VERSIONS_PER_PACKAGE * 2
        _check_rows(result.rows())
    # with the cache off every query lists the package again: more calls than a marker check
    assert uncached.large.calls_per_query > cached.large.calls_per_query


def test_versions_on_moto_s3_yields_latencies_and_the_backend_floor() -> None:
    result, _uncached = bench_feed.measure_versions_s3(small=2, large=3, rounds=3)
    assert result.large.items == bench_feed.VERSIONS_PER_PACKAGE
    assert len(result.large.floor_seconds) == 3
    assert result.small.calls_per_query >= 1
    _check_rows(result.rows())


def test_throughput_without_wrk_compares_feed_and_bare_app() -> None:
    result = bench_feed.measure_throughput(
        workers=1, seconds=1, rounds=1, use_wrk=False, python_requests=20
    )
    assert result.feed[0].requests == 20 and result.feed[0].errors == 0
    assert result.bare[0].requests == 20 and result.bare[0].errors == 0
    assert result.ratio > 0 and math.isfinite(result.ratio)
    assert len(result.feed_cpu_ms) == 1 and len(result.bare_cpu_ms) == 1
    assert all(ms >= 0 for ms in result.feed_cpu_ms + result.bare_cpu_ms)
    _check_rows(result.rows())


def test_transfer_of_a_small_package_reports_speed_and_peak_memory(tmp_path) -> None:
    result = bench_feed.measure_transfer(1024 * 1024, workers=1, work_dir=str(tmp_path))
    assert result.push.peak_mib > 0 and result.download.peak_mib > 0
    assert result.download.stdout.strip()  # the child printed the verified SHA-256
    assert result.feed_after_download and all(v > 0 for v in result.feed_after_download.values())
    assert list(tmp_path.iterdir()) == []  # the package and the store were deleted
    figures = result.downloads
    assert figures.client > 0 and figures.cp > 0
    ceilings = figures.ceilings
    assert min(ceilings.sha256, ceilings.loopback_discard, ceilings.loopback_file) > 0
    if download_bench.have_curl():
        assert figures.curl_feed and figures.curl_feed_discard and ceilings.curl_plain
    verdicts = {row[0]: row[3] for row in result.rows()}
    assert verdicts["download with octopack client"] in {"PASS", "MISS"}
    _check_rows(result.rows())


def test_only_refuses_an_unknown_section_naming_it() -> None:
    with pytest.raises(Exception, match="'versions,bogus'.*choose from"):
        bench_feed.parse_sections("versions,bogus")
    assert bench_feed.parse_sections("transfer, versions") == ["transfer", "versions"]


def test_latency_summary_of_known_durations() -> None:
    summary = Latency.of([0.001 * n for n in range(1, 101)])
    assert summary.count == 100
    assert summary.median_ms == pytest.approx(50.5)
    assert summary.p95_ms == pytest.approx(95.0, abs=1.0)


def test_deployments_bench_at_tiny_scale_stays_flat() -> None:
    from bench import deployments as bench_deployments

    figures = bench_deployments.run(packages=3, environments=2, before=2, after=6, versions=3)
    assert figures["records"] == 3 * 2 * 6
    for before, after in zip(figures["before"][:3], figures["after"][:3], strict=True):
        # the environments answer and the retention plan cost the same storage calls
        assert before.split("; ")[1] == after.split("; ")[1]


def test_delta_deploy_bench_runs_both_rows_at_a_small_size(tmp_path) -> None:
    from bench import delta as bench_delta

    rows = bench_delta.run(tmp_path / "work", megabytes=2)
    (_, _, delta, delta_wire), (_, _, full, full_wire) = rows
    assert delta["mode"] == "delta" and full["mode"] == "full"
    assert 0 < delta["bytes"] < full["bytes"] // 4
    assert delta["bytes"] <= delta_wire and full["bytes"] <= full_wire


def test_retention_bench_compares_cold_plans_with_a_verdict(tmp_path, capsys) -> None:
    from bench import retention as bench_retention
    from storage.disk import DiskStorage

    make = lambda name: DiskStorage(tmp_path / name)  # noqa: E731
    bench_retention.bench_backend("disk", make, packages=3, versions=10, threads=2)
    printed = capsys.readouterr().out
    assert "before: every record, one at a time" in printed
    assert "now: from the catalog" in printed
    assert re.search(r"(PASS|MISS): cold plan [\d.]+x faster .*decisions identical", printed)
