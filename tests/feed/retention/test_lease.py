"""The retention lease and the scheduled job: one runner at a time, expiry by injected clock."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from feed.core.config import FeedConfig
from feed.retention.job import run_retention
from feed.retention.lease import LEASE_KEY, Lease, LeaseHeld, LeaseLost
from feed.retention.policy import Rules
from feed.retention.scheduler import RetentionScheduler
from feed.retention.store import RetentionStore
from feed.services import open_feed
from tests.feed.retention.conftest import push, versions_of
from tests.feed.retention.hooks import HookedStorage


def test_second_lease_is_refused_until_the_first_expires(storage, clock):
    first = Lease(storage, "feed-a", clock)
    second = Lease(storage, "feed-b", clock)
    first.acquire()
    with pytest.raises(
        LeaseHeld,
        match=r"another retention job \(feed-a\) holds the lease until 2026-11-22T12:10:00.000Z",
    ):
        second.acquire()
    clock.advance(minutes=9, seconds=59)
    with pytest.raises(LeaseHeld):
        second.acquire()
    clock.advance(seconds=1)
    second.acquire()  # expired exactly now: taken over by compare-and-swap
    holder = json.loads(storage.read_record(LEASE_KEY)[0])
    assert holder == {"owner": "feed-b", "expires": "2026-11-22T12:20:00.000Z"}
    with pytest.raises(LeaseLost, match="feed-a expired at 2026-11-22T12:10:00.000Z"):
        first.renew_if_due()
    first.release()  # not ours any more: must not remove feed-b's lease
    assert json.loads(storage.read_record(LEASE_KEY)[0])["owner"] == "feed-b"
    second.release()
    assert list(storage.list(LEASE_KEY)) == []


def test_renewal_extends_only_after_half_the_lease_and_detects_a_takeover(storage, clock):
    lease = Lease(storage, "feed-a", clock)
    lease.acquire()
    etag = lease.etag
    clock.advance(minutes=4)
    lease.renew_if_due()
    assert lease.etag == etag  # not due yet: no storage write
    clock.advance(minutes=2)
    lease.renew_if_due()
    assert lease.etag != etag
    assert lease.expires == clock() + timedelta(minutes=10)
    thief = Lease(storage, "feed-b", clock)
    clock.advance(minutes=10)
    thief.acquire()
    with pytest.raises(LeaseLost):
        lease.renew_if_due()


def test_two_takers_of_an_expired_lease_one_wins(storage, clock):
    """Both read the expired lease; the compare-and-swap lets only the first replace it."""
    Lease(storage, "dead", clock).acquire()
    clock.advance(minutes=11)
    hooked = HookedStorage(storage)
    b = Lease(storage, "feed-b", clock)

    def b_takes_it_first(op: str, key: str) -> None:
        if op == "replace_record" and key == LEASE_KEY:
            hooked.before = None
            b.acquire()

    hooked.before = b_takes_it_first
    c = Lease(hooked, "feed-c", clock)
    with pytest.raises(LeaseHeld, match="took the lease first"):
        c.acquire()
    assert json.loads(storage.read_record(LEASE_KEY)[0])["owner"] == "feed-b"


def test_a_job_that_loses_its_lease_stops_deleting(storage, clock, tmp_path):
    """A long job renews between packages; once another took the lease it stops."""
    repository = open_feed(storage, FeedConfig(clock=clock)).repository
    for name in ("A", "B", "C"):
        for text in ("1.0.0", "2.0.0"):
            push(repository, tmp_path, name, text)
    clock.advance(days=1)
    hooked = HookedStorage(storage)
    job_repo = open_feed(hooked, FeedConfig(clock=clock)).repository

    def stall_then_lose(op: str, key: str) -> None:
        if op == "delete_record" and key.startswith("packages/a/"):
            hooked.before = None
            clock.advance(minutes=30)  # the job stalls past its lease
            Lease(storage, "other", clock).acquire()

    hooked.before = stall_then_lose
    with pytest.raises(LeaseLost):
        run_retention(job_repo, RetentionStore(hooked, clock), actor="t", rules=Rules(keep_last=0))
    assert versions_of(repository, "A") == ["2.0.0"]
    assert versions_of(repository, "B") == ["2.0.0", "1.0.0"]  # never touched
    assert json.loads(storage.read_record(LEASE_KEY)[0])["owner"] == "other"


def test_scheduler_runs_the_stored_policy_once_per_interval(storage, clock, tmp_path):
    repository = open_feed(storage, FeedConfig(clock=clock)).repository
    for text in ("1.0.0", "2.0.0", "3.0.0"):
        push(repository, tmp_path, "App", text)
    clock.advance(days=1)
    RetentionStore(storage, clock).set_policy(None, Rules(keep_last=1))
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        """Return 'stop' after two intervals, without sleeping."""
        waits.append(seconds)
        return len(waits) > 2

    store = RetentionStore(storage, clock)
    scheduler = RetentionScheduler(
        repository, store, timedelta(minutes=5), owner="feed-1", wait=wait
    )
    other = Lease(storage, "feed-2", clock)
    other.acquire()
    assert scheduler.run_once() is None  # another process holds the lease: skipped
    other.release()
    scheduler.start()
    scheduler.stop()
    assert waits == [300.0, 300.0, 300.0]
    assert versions_of(repository, "App") == ["3.0.0"]
    [entry] = [json.loads(storage.read_record(i.key)[0]) for i in storage.list("retention/audit/")]
    assert entry["actor"] == "schedule (feed-1)"


def test_a_feed_with_retention_interval_runs_the_scheduler(storage, clock, tmp_path):
    from feed.core.config import config_from_env
    from feed.http.admin.retention import SCHEDULER
    from feed.http.app import create_app

    config = config_from_env({"OCTOPACK_RETENTION_INTERVAL": "15"}, clock=clock)
    assert config.retention_interval == 15
    app = create_app(open_feed(storage, config))
    scheduler = app.extensions[SCHEDULER]
    try:
        assert scheduler.interval == timedelta(minutes=15)
        assert scheduler._thread is not None and scheduler._thread.is_alive()
        repository = app.extensions["octopack"].repository
        for text in ("1.0.0", "2.0.0"):
            push(repository, tmp_path, "App", text)
        clock.advance(days=1)
        RetentionStore(storage, clock).set_policy(None, Rules(keep_last=1))
        report = scheduler.run_once()
        assert [d.version for d in report.deleted] == ["1.0.0"]
    finally:
        scheduler.stop()
    assert not scheduler._thread.is_alive()
    plain = create_app(open_feed(storage, FeedConfig(clock=clock)))
    assert SCHEDULER not in plain.extensions


def test_serve_offers_retention_interval():
    from click.testing import CliRunner

    from packer.cli import main

    result = CliRunner().invoke(main, ["serve", "--help"])
    assert "--retention-interval MINUTES" in result.stdout
    bad = CliRunner().invoke(main, ["serve", "--retention-interval", "0"])
    assert bad.exit_code == 2
