"""fsck finds what killed processes leave (orphan blobs, blob-less records, stale temp and
spool files, pending retention work) and `repair` removes it: then a second check is clean.
Every case is made for real in storage on disk and on S3 (moto), then checked."""

from __future__ import annotations

import fcntl
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from feed.core.config import FeedConfig
from feed.maintenance.fsck import fsck
from feed.retention.scheduler import RetentionScheduler
from feed.services import open_feed
from packer.cli import main
from tests.feed.packages import make_zip


def clock() -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def feed(backend, tmp_path: Path):
    spool = tmp_path / "spool"
    spool.mkdir()
    config = FeedConfig(storage=backend.location, upload_dir=str(spool), clock=clock)
    services = open_feed(backend.storage, config)
    for name in ("Acme.App.1.0.0.zip", "Beta.App.1.0.0.zip"):
        folder = tmp_path / name
        folder.mkdir()
        services.repository.add_package(make_zip(folder, name), name)
    return backend, services, spool


def break_things(backend, services, spool: Path) -> None:
    """Leave what a killed feed or job would: one of each kind of problem."""
    storage = backend.storage
    storage.put_blob("packages/acme.app/1.0.0/" + "0" * 64 + ".dead.zip", io.BytesIO(b"orphan"))
    beta = services.repository.get("Beta.App", "1.0.0")
    storage.delete(beta.blob)
    killed = spool / "octopack-upload-killed.part"
    killed.write_bytes(b"half an upload")
    os.utime(killed, (0, 0))  # written long ago by a process now gone (nobody holds it)
    storage.create_record(
        "retention/pending/20260101T000000Z-dead/gone.app.json",
        json.dumps(
            {"job": "20260101T000000Z-dead", "actor": "x", "id": "Gone.App", "items": []}
        ).encode(),
    )
    if backend.name == "disk":
        leftover = Path(storage.root, "packages", "acme.app", ".octopack-tmp-killed")
        leftover.write_bytes(b"temp")


def test_fsck_finds_every_kind_and_repair_cleans_up(feed) -> None:
    backend, services, spool = feed
    assert fsck(backend.storage, services).findings == []
    break_things(backend, services, spool)
    found = fsck(backend.storage, services, grace=0)
    kinds = sorted(f.kind for f in found.findings)
    expected = ["missing-blob", "orphan-blob", "pending-retention", "stale-spool"]
    if backend.name == "disk":
        expected = sorted([*expected, "stale-temp"])
    assert kinds == expected
    assert found.remaining == len(expected)
    repaired = fsck(backend.storage, services, repair=True, grace=0)
    assert repaired.remaining == 0 and len(repaired.findings) == len(expected)
    assert fsck(backend.storage, services, grace=0).findings == []
    acme = services.repository.get("Acme.App", "1.0.0")
    assert backend.storage.open_blob(acme.blob).read()  # the good version is untouched
    assert [r.id for r in services.repository.list_versions("Beta.App")] == []
    assert os.listdir(spool) == []


def test_repair_leaves_orphans_younger_than_the_grace(feed) -> None:
    backend, services, _ = feed
    key = "packages/acme.app/1.0.0/" + "1" * 64 + ".young.zip"
    info = backend.storage.put_blob(key, io.BytesIO(b"in flight"))
    report = fsck(
        backend.storage, services, repair=True, grace=3600, now=info.modified.timestamp() + 10
    )
    assert [(f.kind, f.key, f.repaired) for f in report.findings] == [("orphan-blob", key, False)]
    assert "younger than the grace" in report.findings[0].detail
    assert backend.storage.stat(key).size == len(b"in flight")


def test_a_spool_a_live_process_holds_is_left_alone(feed) -> None:
    backend, services, spool = feed
    held = spool / "octopack-upload-live.part"
    with held.open("wb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        report = fsck(backend.storage, services, repair=True, grace=0)
        assert report.findings == [] and held.exists()


def test_verify_reports_bytes_that_do_not_match(feed) -> None:
    backend, services, _ = feed
    acme = services.repository.get("Acme.App", "1.0.0")
    backend.storage.put_blob(acme.blob, io.BytesIO(b"not the package"))
    assert fsck(backend.storage, services).findings == []  # sizes are not compared without --verify
    report = fsck(backend.storage, services, verify=True, repair=True, grace=0)
    assert [(f.kind, f.key, f.repaired) for f in report.findings] == [
        ("corrupt-blob", acme.blob, False)
    ]
    assert acme.sha256 in report.findings[0].detail


def test_the_cli_prints_one_line_each_and_exits_by_what_remains(feed) -> None:
    backend, services, spool = feed
    break_things(backend, services, spool)
    env = {**(backend.env or {}), "OCTOPACK_UPLOAD_DIR": str(spool)}
    runner = CliRunner()
    checked = runner.invoke(main, ["fsck", "--storage", backend.location, "--grace", "0"], env=env)
    assert checked.exit_code == 1, checked.output
    assert "orphan-blob packages/acme.app/1.0.0/" in checked.output
    assert "missing-blob packages/beta.app/1.0.0/package.json" in checked.output
    args = [
        "fsck",
        "--storage",
        backend.location,
        "--repair",
        "--grace",
        "0",
        "--output-format",
        "json",
    ]
    repaired = runner.invoke(main, args, env=env)
    assert repaired.exit_code == 0, repaired.output
    document = json.loads(repaired.output)
    assert document["remaining"] == 0 and document["repaired"] == document["found"] >= 4
    clean = runner.invoke(main, ["fsck", "--storage", backend.location], env=env)
    assert clean.exit_code == 0 and "0 problems found" in clean.output
    bad = runner.invoke(main, ["fsck", "--storage", backend.location, "--grace", "-1"], env=env)
    assert bad.exit_code == 2 and "--grace" in bad.output


def test_the_schedule_runs_the_sweep_under_the_retention_lease(feed) -> None:
    backend, services, _ = feed
    calls: list[str] = []

    def sweep() -> None:
        held = services.retention.lease("someone else")
        with pytest.raises(Exception, match="lease"):
            held.acquire()  # the schedule holds it while sweeping
        calls.append("swept")

    from datetime import timedelta

    scheduler = RetentionScheduler(
        services.repository, services.retention, timedelta(minutes=5), housekeeping=sweep
    )
    assert scheduler.run_once() is not None and calls == ["swept"]
    other = services.retention.lease("another feed")
    other.acquire()
    try:
        assert scheduler.run_once() is None and calls == ["swept"]  # skipped with the lease
    finally:
        other.release()


def test_the_feeds_own_housekeeping_repairs_with_the_default_grace(feed) -> None:
    backend, services, spool = feed
    break_things(backend, services, spool)
    report = services.housekeeping()
    assert report.count("stale-spool", repaired=True) == 1
    assert report.count("orphan-blob", repaired=False) == 1  # just made: inside the grace
