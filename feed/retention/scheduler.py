"""Scheduled retention: every feed process runs the stored policy every `interval`.

The lease lets one of them delete at a time; the others skip that round. The holder
also runs the feed's housekeeping (the orphan and spool sweeps) under the same lease.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import timedelta

from feed.core.repository import Repository
from feed.retention.job import RetentionReport, run_retention
from feed.retention.lease import LeaseHeld
from feed.retention.store import RetentionStore

log = logging.getLogger(__name__)


def summary_line(report: RetentionReport, owner: str) -> str:
    """One line for the serve log: which job ran and what it did."""
    deleted = len(report.deleted)
    return (
        f"scheduled retention job {report.job} ({owner}): deleted {deleted}, "
        f"kept {len(report.decisions) - deleted} of {len(report.decisions)} versions"
    )


class RetentionScheduler:
    """Run retention with the stored policy every `interval`, one feed process at a time."""

    def __init__(
        self,
        repository: Repository,
        store: RetentionStore,
        interval: timedelta,
        owner: str | None = None,
        wait: Callable[[float], bool] | None = None,
        housekeeping: Callable[[], object] | None = None,
        on_report: Callable[[RetentionReport], None] | None = None,
    ) -> None:
        self.repository = repository
        self.store = store
        self.interval = interval
        self.owner = owner or f"feed-{secrets.token_hex(4)}"
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self.housekeeping = housekeeping
        self._on_report = on_report  # the feed's metrics count each run
        self._thread: threading.Thread | None = None

    def run_once(self) -> RetentionReport | None:
        """Run one scheduled job if no other process holds the lease; None when skipped."""
        actor = f"schedule ({self.owner})"
        lease = self.store.lease(actor)
        try:
            lease.acquire()
        except LeaseHeld as held:
            log.info("retention skipped: %s", held)
            return None
        try:
            report = run_retention(self.repository, self.store, actor=actor, lease=lease)
            if self.housekeeping is not None:
                lease.renew_if_due()
                self.housekeeping()
            return report
        finally:
            lease.release()

    def start(self) -> None:
        """Start the background thread (a daemon: it never keeps the process alive)."""
        self._thread = threading.Thread(target=self._loop, name="octopack-retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        """Sleep an interval, run, repeat; a failed run is logged and retried next time."""
        while not self._wait(self.interval.total_seconds()):
            try:
                report = self.run_once()
            except Exception:  # noqa: BLE001 - a scheduled job must survive one bad run
                log.exception("scheduled retention failed")
                continue
            if report is not None:
                log.info("%s", summary_line(report, self.owner))
                if self._on_report is not None:
                    self._on_report(report)
