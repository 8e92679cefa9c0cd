"""Retention from the catalog, on disk and on S3: same decisions as from the records, no
record read to plan, a stale catalog never deletes, a failed read deletes nothing."""

from __future__ import annotations

import threading

import pytest

from feed.core.catalog import shard_of
from feed.core.config import FeedConfig
from feed.core.parallel import read_all
from feed.retention.job import run_retention
from feed.retention.policy import Rules
from feed.retention.store import RetentionStore
from feed.services import open_feed
from packer.model.conventions import OverwriteMode
from storage import StorageError
from tests.feed.retention.conftest import START, push, versions_of
from tests.feed.retention.hooks import HookedStorage

RULES = Rules(keep_last=1, keep_prerelease=1, keep_days=3)


def fill(repository, store, folder, clock):
    """Two packages a day apart per version, a pin and a deployment."""
    for text in ["1.0.0", "1.1.0", "1.2.0", "2.0.0-beta.1", "2.0.0-beta.2"]:
        push(repository, folder, "Acme.Web", text)
        push(repository, folder, "Acme", text)
        clock.advance(days=1)
    store.pin(repository, "Acme", "1.0.0", "test")
    store.deployments.report(
        {
            "package_id": "Acme.Web",
            "version": "1.1.0",
            "environment": "Production",
            "target": "web",
            "status": "succeeded",
            "started": START.isoformat(),
            "finished": START.isoformat(),
        }
    )
    repository.list_ids()  # the first feed-wide query builds the catalog (once per feed)
    clock.advance(days=10)


def cold(storage, clock):
    """A new feed process over the same storage: nothing cached."""
    return open_feed(storage, FeedConfig(clock=clock)).repository, RetentionStore(storage, clock)


def plan(storage, clock, **options):
    repository, store = cold(storage, clock)
    report = run_retention(repository, store, actor="t", rules=RULES, dry_run=True, **options)
    return [(d.id, d.version, d.decision, d.rule) for d in report.decisions]


def test_the_catalog_plans_as_the_records_do(repository, store, storage, clock, tmp_path):
    fill(repository, store, tmp_path, clock)
    from_records = plan(storage, clock, from_catalog=False)
    assert plan(storage, clock) == from_records
    assert plan(storage, clock, package="acme*") == plan(
        storage, clock, package="acme*", from_catalog=False
    )
    assert [entry[0] for entry in from_records[:1]] == ["Acme.Web"]  # key order, as before
    assert ("Acme", "1.0.0", "kept", "pinned") in from_records
    assert ("Acme.Web", "1.1.0", "kept", "current in Production") in from_records
    assert ("Acme.Web", "1.0.0", "deleted", "beyond newest 1 stable, older than 3 days") in (
        from_records
    )


def test_a_cold_plan_reads_no_record(repository, store, storage, clock, tmp_path):
    fill(repository, store, tmp_path, clock)
    hooked = HookedStorage(storage)
    seen: list[tuple[str, str]] = []
    hooked.before = lambda op, key: seen.append((op, key))
    repository, store = cold(hooked, clock)
    run_retention(repository, store, actor="t", rules=RULES, dry_run=True)
    reads = [key for op, key in seen if op == "read_record"]
    assert [key for key in reads if key.startswith("packages/")] == []
    assert len(reads) <= 32 + 3  # the catalog's shards, the policy, the pin, the state
    assert sorted(key for op, key in seen if op == "list") == [
        "deployments/state/",
        "index/catalog/",
        "retention/pins/",
    ]


def make_stale(storage, change):
    """Run `change`, then put Acme.Web's catalog shard back as it was: a writer killed
    between its record and its shard."""
    key = shard_of("acme.web")
    before, _ = storage.read_record(key)
    change()
    _, etag = storage.read_record(key)
    storage.replace_record(key, before, if_match=etag)


def test_a_stale_catalog_never_causes_a_delete(repository, store, storage, clock, tmp_path):
    fill(repository, store, tmp_path, clock)
    # 1.0.0 pushed again today: the records keep it (last 3 days), the stale copy does not
    again = OverwriteMode.OVERWRITE_EXISTING
    make_stale(storage, lambda: push(repository, tmp_path, "Acme.Web", "1.0.0", b"new", again))
    clock.advance(hours=1)
    doomed = ("Acme.Web", "1.0.0", "deleted", "beyond newest 1 stable, older than 3 days")
    assert doomed in plan(storage, clock)  # a dry run shows the catalog's view
    repository, store = cold(storage, clock)
    report = run_retention(repository, store, actor="t", rules=RULES)
    decided = {(d.id, d.version): (d.decision, d.rule) for d in report.decisions}
    assert decided["Acme.Web", "1.0.0"] == ("kept", "published in the last 3 days")
    assert "1.0.0" in versions_of(repository, "Acme.Web")
    assert "2.0.0-beta.1" not in versions_of(repository, "Acme.Web"), decided


def test_a_version_the_catalog_lacks_is_planned_before_deleting(
    repository, store, storage, clock, tmp_path
):
    fill(repository, store, tmp_path, clock)
    make_stale(storage, lambda: push(repository, tmp_path, "Acme.Web", "3.0.0"))
    clock.advance(hours=1)
    assert ("Acme.Web", "1.2.0", "kept", "latest stable") in plan(storage, clock)  # the copy
    repository, store = cold(storage, clock)
    report = run_retention(repository, store, actor="t", rules=RULES)
    decided = {(d.id, d.version): d.rule for d in report.decisions}
    assert decided["Acme.Web", "3.0.0"] == "latest stable"
    assert decided["Acme.Web", "1.2.0"] == "beyond newest 1 stable, older than 3 days"
    assert versions_of(repository, "Acme.Web") == ["3.0.0", "2.0.0-beta.2", "1.1.0"]


def test_a_deployment_after_the_plan_is_kept(repository, store, storage, clock, tmp_path):
    fill(repository, store, tmp_path, clock)
    hooked = HookedStorage(storage)
    cold_repository, cold_store = cold(hooked, clock)

    fired: list[str] = []
    lock = threading.Lock()

    def deploy_while_confirming(op: str, key: str) -> None:
        with lock:  # records are read from several threads
            if op != "read_record" or not key.startswith("packages/acme.web/") or fired:
                return
            fired.append(key)
            store.deployments.report(
                {
                    "package_id": "Acme.Web",
                    "version": "1.0.0",
                    "environment": "Test",
                    "target": "web",
                    "status": "succeeded",
                    "started": START.isoformat(),
                    "finished": START.isoformat(),
                }
            )

    hooked.before = deploy_while_confirming
    report = run_retention(cold_repository, cold_store, actor="t", rules=RULES)
    decided = {(d.id, d.version): d.rule for d in report.decisions}
    assert decided["Acme.Web", "1.0.0"] == "current in Test"
    assert "1.0.0" in versions_of(repository, "Acme.Web")


def test_a_failed_read_stops_the_run_and_deletes_nothing(
    repository, store, storage, clock, tmp_path
):
    fill(repository, store, tmp_path, clock)
    hooked = HookedStorage(storage)

    def fail(op: str, key: str) -> None:
        if op == "read_record" and key == "packages/acme.web/1.1.0/package.json":
            raise StorageError(f"cannot read {key}: connection reset")

    hooked.before = fail
    cold_repository, cold_store = cold(hooked, clock)
    with pytest.raises(StorageError, match=r"cannot read packages/acme\.web/1\.1\.0/package\.json"):
        run_retention(cold_repository, cold_store, actor="t", rules=RULES)
    assert len(versions_of(repository, "Acme")) == 5
    assert len(versions_of(repository, "Acme.Web")) == 5


def test_read_all_keeps_order_and_raises_the_first_error_in_key_order():
    later_failed = threading.Event()

    def read(n: int) -> int:
        if n == 70:
            later_failed.set()
            raise ValueError("read 70 failed")
        if n == 40:
            later_failed.wait(60)  # fail after 70 did: the error raised is still 40's
            raise ValueError("read 40 failed")
        return n * n

    assert read_all(read, range(30)) == [n * n for n in range(30)]
    with pytest.raises(ValueError, match="read 40 failed"):
        read_all(read, list(range(100)))
    assert later_failed.is_set()
