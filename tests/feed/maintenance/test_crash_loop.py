"""SIGKILL a real `octopack serve` at random moments during pushes, overwrites, deletes and
retention runs: after every restart each listed version downloads with its recorded hash,
and `fsck --repair --grace 0` leaves the storage clean. 50 kills in CI (about a minute),
fewer elsewhere; OCTOPACK_CRASH_KILLS sets the count (bench runs use more)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.feed.maintenance.crashloop import CrashLoop


def kill_count() -> int:
    default = 50 if os.environ.get("CI") else 12
    return int(os.environ.get("OCTOPACK_CRASH_KILLS", default))


def test_the_feed_survives_sigkill_at_random_moments(tmp_path: Path) -> None:
    kills = kill_count()
    figures = CrashLoop(tmp_path).run(kills)
    print(f"\n{figures.line()}")
    assert figures.kills == kills
    assert figures.master_kills >= kills // 10
    assert figures.inconsistencies == []
