"""Applying retention on disk and on S3: deletions, audit, pins, stored policy, races, kills."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from feed.core.config import FeedConfig
from feed.retention.audit import CHANGED, read_audit
from feed.retention.job import run_retention
from feed.retention.lease import LeaseHeld
from feed.retention.policy import Rules
from feed.retention.store import RetentionStore
from feed.services import open_feed
from packer.model.conventions import OverwriteMode
from tests.feed.retention.conftest import START, assert_servable, push, versions_of
from tests.feed.retention.hooks import HookedStorage, Killed
from tests.helpers.clock import FixedClock


def fill(repository, folder, clock, package_id="Acme.Web", texts=None):
    """Push versions one day apart (oldest first) and return the clock to the run's 'now'."""
    texts = texts or ["1.0.0", "1.1.0", "1.2.0", "2.0.0-beta.1", "2.0.0-beta.2"]
    for text in texts:
        push(repository, folder, package_id, text)
        clock.advance(days=1)
    return texts


def blob_keys(storage):
    return sorted(i.key for i in storage.list("packages/") if not i.key.endswith("package.json"))


def test_dry_run_reports_every_version_and_deletes_nothing(
    repository, store, storage, clock, tmp_path
):
    fill(repository, tmp_path, clock)
    before = blob_keys(storage)
    report = run_retention(
        repository, store, actor="test", rules=Rules(keep_last=1, keep_prerelease=1), dry_run=True
    )
    assert [(d.version, d.decision, d.rule) for d in report.decisions] == [
        ("2.0.0-beta.2", "kept", "newest 1 prerelease"),
        ("2.0.0-beta.1", "deleted", "beyond newest 1 prerelease"),
        ("1.2.0", "kept", "latest stable"),
        ("1.1.0", "deleted", "beyond newest 1 stable"),
        ("1.0.0", "deleted", "beyond newest 1 stable"),
    ]
    assert len(versions_of(repository, "Acme.Web")) == 5
    assert blob_keys(storage) == before
    assert read_audit(storage) == []


def test_run_deletes_records_and_bytes_and_writes_the_audit(
    repository, store, storage, clock, tmp_path
):
    fill(repository, tmp_path, clock)
    report = run_retention(repository, store, actor="key ci", rules=Rules(keep_last=2))
    assert [d.version for d in report.deleted] == ["1.0.0"]
    assert versions_of(repository, "acme.web") == [
        "2.0.0-beta.2",
        "2.0.0-beta.1",
        "1.2.0",
        "1.1.0",
    ]
    assert not any("/1.0.0/" in key for key in blob_keys(storage))
    assert_servable(repository)
    [entry] = read_audit(storage)
    assert entry["actor"] == "key ci"
    assert entry["id"] == "Acme.Web"
    assert entry["job"] == report.job
    assert entry["at"] == "2026-11-27T12:00:00.000Z"
    assert entry["versions"] == [
        {"version": "1.0.0", "decision": "deleted", "rule": "beyond newest 2 stable"}
    ]


def test_stored_policy_applies_when_no_rule_is_given(repository, store, clock, tmp_path):
    fill(repository, tmp_path, clock, "Acme.Web")
    fill(repository, tmp_path, clock, "Acme.Tools")
    fill(repository, tmp_path, clock, "Other")
    store.set_policy(None, Rules(keep_last=2))
    store.set_policy("acme.*", Rules(keep_last=1, keep_prerelease=0))
    report = run_retention(repository, store, actor="test")
    deleted = {(d.id, d.version) for d in report.deleted}
    assert deleted == {
        ("Acme.Tools", "1.0.0"),
        ("Acme.Tools", "1.1.0"),
        ("Acme.Tools", "2.0.0-beta.1"),
        ("Acme.Tools", "2.0.0-beta.2"),
        ("Acme.Web", "1.0.0"),
        ("Acme.Web", "1.1.0"),
        ("Acme.Web", "2.0.0-beta.1"),
        ("Acme.Web", "2.0.0-beta.2"),
        ("Other", "1.0.0"),
    }
    assert [d.id for d in report.decisions][:1] == ["Acme.Tools"]


def test_command_line_rules_replace_the_stored_policy(repository, store, clock, tmp_path):
    fill(repository, tmp_path, clock)
    store.set_policy(None, Rules(keep_last=1))
    report = run_retention(repository, store, actor="test", rules=Rules(keep_prerelease=1))
    assert [d.version for d in report.deleted] == ["2.0.0-beta.1"]


def test_no_policy_at_all_deletes_nothing(repository, store, clock, tmp_path):
    fill(repository, tmp_path, clock)
    report = run_retention(repository, store, actor="test")
    assert report.deleted == []
    assert {d.rule for d in report.decisions} == {"no retention rule", "latest stable"}


def test_pins_are_kept_and_unpin_releases_them(repository, store, clock, tmp_path):
    fill(repository, tmp_path, clock)
    pin = store.pin(repository, "ACME.WEB", "1.0", by="key ops")
    assert pin.to_json() == {
        "id": "Acme.Web",
        "version": "1.0.0",
        "pinned_by": "key ops",
        "pinned_at": "2026-11-27T12:00:00.000Z",
    }
    rules = Rules(keep_last=0, keep_prerelease=0)
    report = run_retention(repository, store, actor="t", rules=rules, dry_run=True)
    assert ("1.0.0", "kept", "pinned") in [
        (d.version, d.decision, d.rule) for d in report.decisions
    ]
    store.unpin("acme.web", "1.0.0")
    report = run_retention(repository, store, actor="t", rules=rules, dry_run=True)
    assert "1.0.0" in [d.version for d in report.deleted]


def test_pinning_a_missing_version_or_unpinning_an_unpinned_one_is_refused(
    repository, store, clock, tmp_path
):
    fill(repository, tmp_path, clock)
    with pytest.raises(Exception, match="Acme.Web 9.9.9 is not in the feed"):
        store.pin(repository, "Acme.Web", "9.9.9", by="t")
    with pytest.raises(Exception, match="Acme.Web 1.0.0 is not pinned"):
        store.unpin("Acme.Web", "1.0.0")
    assert store.pins() == []


def test_package_filter_by_id_and_glob(repository, store, clock, tmp_path):
    fill(repository, tmp_path, clock, "Acme.Web")
    fill(repository, tmp_path, clock, "Acme.Web.Api")
    fill(repository, tmp_path, clock, "Other")
    rules = Rules(keep_last=1)
    exact = run_retention(
        repository, store, actor="t", rules=rules, package="acme.web", dry_run=True
    )
    assert {d.id for d in exact.decisions} == {"Acme.Web"}
    glob = run_retention(repository, store, actor="t", rules=rules, package="Acme.*", dry_run=True)
    assert {d.id for d in glob.decisions} == {"Acme.Web", "Acme.Web.Api"}
    with pytest.raises(Exception, match="package pattern 'a/b'"):
        run_retention(repository, store, actor="t", rules=rules, package="a/b", dry_run=True)


def test_unlisted_versions_count_like_listed_ones(repository, store, clock, tmp_path):
    fill(repository, tmp_path, clock)
    repository.set_listed("Acme.Web", "1.2.0", False)
    report = run_retention(repository, store, actor="t", rules=Rules(keep_last=1), dry_run=True)
    decided = {d.version: d.rule for d in report.decisions}
    assert decided["1.2.0"] == "latest stable"
    assert decided["1.1.0"] == "beyond newest 1 stable"


def test_a_version_overwritten_after_the_plan_is_not_deleted(storage, clock, tmp_path):
    hooked = HookedStorage(storage)
    repository = open_feed(hooked, FeedConfig(clock=clock)).repository
    pusher = open_feed(storage, FeedConfig(clock=clock)).repository
    fill(repository, tmp_path, clock)
    fired = []

    def overwrite_after_the_plan(op: str, key: str) -> None:
        if op == "create_record" and key.startswith("retention/pending/") and not fired:
            fired.append(key)  # the plan is made; no delete has started yet
            push(pusher, tmp_path, "Acme.Web", "1.0.0", b"new", OverwriteMode.OVERWRITE_EXISTING)

    hooked.before = overwrite_after_the_plan
    store = RetentionStore(hooked, clock)
    report = run_retention(repository, store, actor="t", rules=Rules(keep_last=1))
    decided = {d.version: (d.decision, d.rule) for d in report.decisions}
    assert fired == [f"retention/pending/{report.job}/acme.web.json"]
    assert decided["1.0.0"] == ("kept", CHANGED)
    assert decided["1.1.0"] == ("deleted", "beyond newest 1 stable")
    assert "1.0.0" in versions_of(repository, "Acme.Web")
    assert_servable(repository)
    with repository.open_download(repository.get("Acme.Web", "1.0.0")) as stream:
        assert stream.read()  # the overwritten bytes, not a dangling record
    [entry] = read_audit(storage)
    assert {"version": "1.0.0", "decision": "kept", "rule": CHANGED} in entry["versions"]


def test_versions_pushed_after_the_run_started_are_never_deleted(storage, clock, tmp_path):
    hooked = HookedStorage(storage)
    repository = open_feed(hooked, FeedConfig(clock=clock)).repository
    later = FixedClock(clock.now)
    pusher = open_feed(storage, FeedConfig(clock=later)).repository
    fill(open_feed(storage, FeedConfig(clock=clock)).repository, tmp_path, clock)  # cold cache
    later.now = clock.now + timedelta(seconds=1)

    def push_during_listing(op: str, key: str) -> None:
        if op == "read_record" and key.endswith("/1.0.0/package.json"):
            hooked.before = None
            push(pusher, tmp_path, "Acme.Web", "0.5.0")  # lands in the listing being read

    hooked.before = push_during_listing
    store = RetentionStore(hooked, clock)
    report = run_retention(repository, store, actor="t", rules=Rules(keep_last=0))
    decided = {d.version: d.rule for d in report.decisions}
    assert decided.get("0.5.0", "not listed") in ("pushed after the run started", "not listed")
    assert "0.5.0" in versions_of(repository, "Acme.Web")
    assert_servable(repository)


def test_retention_while_20_pushes_arrive(storage, clock, tmp_path):
    """Real threads: pushes from other 'processes' (own repository, later clock) race the job.

    moto checks S3 conditions without a lock: on S3 this shows our logic, not S3's atomicity.
    """
    repository = open_feed(storage, FeedConfig(clock=clock)).repository
    old = [f"1.0.{n}" for n in range(10)]
    fill(repository, tmp_path, clock, texts=old)
    later = FixedClock(clock.now + timedelta(seconds=1))
    pushers = [open_feed(storage, FeedConfig(clock=later)).repository for _ in range(4)]
    new = [f"2.0.{n}" for n in range(20)]
    errors: list[BaseException] = []

    def push_some(index: int) -> None:
        try:
            for text in new[index::4]:
                push(pushers[index], tmp_path / str(index), "Acme.Web", text)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    for index in range(4):
        (tmp_path / str(index)).mkdir()
    threads = [threading.Thread(target=push_some, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    store = RetentionStore(storage, clock)
    report = run_retention(repository, store, actor="t", rules=Rules(keep_last=2))
    for thread in threads:
        thread.join()
    assert errors == []
    remaining = set(versions_of(repository, "Acme.Web"))
    assert set(new) <= remaining
    assert {d.version for d in report.deleted} <= set(old[:-2])
    assert set(old[:-2]) - {d.version for d in report.deleted} <= remaining
    assert_servable(repository)


def test_a_job_killed_at_any_point_leaves_every_shown_version_servable(storage, tmp_path):
    """Kill the job before each of its storage calls in turn; then a rerun finishes the work."""
    clock = FixedClock(START)
    setup = open_feed(storage, FeedConfig(clock=clock)).repository
    texts = ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]
    fill(setup, tmp_path, clock, "Acme.Web", texts)
    hooked = HookedStorage(storage)
    repository = open_feed(hooked, FeedConfig(clock=clock)).repository
    store = RetentionStore(hooked, clock)
    killed_at = []
    for crash_after in range(200):
        for text in texts:
            push(setup, tmp_path, "Acme.Web", text, mode=OverwriteMode.IGNORE_IF_EXISTS)
        clock.advance(minutes=11)  # after the re-pushes; and a killed job's lease expires
        hooked.count, hooked.crash_after = 0, crash_after
        try:
            run_retention(repository, store, actor="t", rules=Rules(keep_last=1))
        except Killed:
            killed_at.append(crash_after)
        hooked.crash_after = None
        assert_servable(setup)
        assert "1.3.0" in versions_of(setup, "Acme.Web")
        if not killed_at or killed_at[-1] != crash_after:
            break  # the first run that was not killed finished the work
    assert killed_at == list(range(len(killed_at))) and len(killed_at) > 10
    final = versions_of(setup, "Acme.Web")
    assert final == ["1.3.0"]
    assert all("/1.3.0/" in key for key in blob_keys(storage))  # no orphan left behind
    assert list(storage.list("retention/pending/")) == []
    recovered = [e for e in read_audit(storage, 1000) if "recovered_by" in e]
    assert recovered, "some kill fell between intent and audit; the next job wrote its entry"
    for entry in read_audit(storage, 1000):
        assert {v["decision"] for v in entry["versions"]} <= {"deleted", "kept"}


def test_a_second_job_is_refused_while_the_lease_is_held(
    repository, store, storage, clock, tmp_path
):
    from feed.retention.lease import Lease

    fill(repository, tmp_path, clock)
    other = Lease(storage, "feed-b", clock)
    other.acquire()
    with pytest.raises(LeaseHeld, match=r"another retention job \(feed-b\) holds the lease until"):
        run_retention(repository, store, actor="t", rules=Rules(keep_last=0))
    assert len(versions_of(repository, "Acme.Web")) == 5
    dry = run_retention(repository, store, actor="t", rules=Rules(keep_last=0), dry_run=True)
    assert dry.deleted  # a dry run needs no lease


def test_a_deleted_version_leaves_every_query_before_its_bytes_go(storage, clock, tmp_path):
    hooked = HookedStorage(storage)
    repository = open_feed(hooked, FeedConfig(clock=clock)).repository
    fill(repository, tmp_path, clock, texts=["1.0.0", "2.0.0"])
    observer = open_feed(storage, FeedConfig(clock=clock)).repository  # another feed process
    seen = []

    def look_when_bytes_go(op: str, key: str) -> None:
        if op == "delete" and key.startswith("packages/acme.web/1.0.0/"):
            seen.append(versions_of(observer, "Acme.Web"))
            with pytest.raises(Exception, match="is not in the feed"):
                observer.get("Acme.Web", "1.0.0")

    hooked.before = look_when_bytes_go
    report = run_retention(
        repository, RetentionStore(hooked, clock), actor="t", rules=Rules(keep_last=0)
    )
    assert [d.version for d in report.deleted] == ["1.0.0"]
    assert seen == [["2.0.0"]]


def test_a_run_writes_each_package_catalog_summary_once(storage, clock, tmp_path):
    hooked = HookedStorage(storage)
    repository = open_feed(hooked, FeedConfig(clock=clock)).repository
    texts = [f"1.{n}.0" for n in range(6)]
    fill(repository, tmp_path, clock, texts=texts)
    fill(repository, tmp_path, clock, "Acme.Api", texts)
    list(repository.all_records())  # a new feed marks its catalog complete on first use
    catalog_writes = []

    def count_catalog_writes(op: str, key: str) -> None:
        if op in ("create_record", "replace_record") and key.startswith("index/catalog/"):
            catalog_writes.append(key)

    hooked.before = count_catalog_writes
    report = run_retention(
        repository, RetentionStore(hooked, clock), actor="t", rules=Rules(keep_last=2)
    )
    assert len(report.deleted) == 8
    assert len(catalog_writes) == 2  # one per package, not one per deleted version
    fresh = open_feed(storage, FeedConfig(clock=clock)).repository  # reads the catalog anew
    found = sorted((r.id, r.version) for r in fresh.all_records())
    assert found == sorted((i, t) for i in ("Acme.Web", "Acme.Api") for t in texts[-2:])


def test_a_failed_delete_still_leaves_the_catalog_true(storage, clock, tmp_path):
    hooked = HookedStorage(storage)
    repository = open_feed(hooked, FeedConfig(clock=clock)).repository
    fill(repository, tmp_path, clock, texts=[f"1.{n}.0" for n in range(4)])

    def fail_one_delete(op: str, key: str) -> None:
        if op == "delete_record" and "/1.0.0/" in key:
            raise OSError("injected failure")

    hooked.before = fail_one_delete
    with pytest.raises(OSError, match="injected"):
        run_retention(
            repository, RetentionStore(hooked, clock), actor="t", rules=Rules(keep_last=1)
        )
    hooked.before = None
    stored = {r.version for r in repository.list_versions("Acme.Web")}
    fresh = open_feed(storage, FeedConfig(clock=clock)).repository
    assert {r.version for r in fresh.all_records()} == stored == {"1.0.0", "1.3.0"}
