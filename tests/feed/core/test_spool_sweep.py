"""Spools are swept when no live process holds them, whatever their age past the grace."""

from __future__ import annotations

import os
import time
from pathlib import Path

from feed.core.spool import create_spool, sweep_spools


def test_a_held_spool_stays_and_a_released_one_goes(tmp_path: Path) -> None:
    fd, held = create_spool(str(tmp_path))
    os.utime(held, (0, 0))  # old, but its process is alive and holds it
    try:
        assert sweep_spools(str(tmp_path), now=time.time()) == 0
        assert held.exists()
    finally:
        os.close(fd)  # the process "dies": its lock goes with the descriptor
    assert sweep_spools(str(tmp_path), now=time.time()) == 1
    assert not held.exists()


def test_a_spool_younger_than_the_grace_stays(tmp_path: Path) -> None:
    fresh = tmp_path / "octopack-upload-fresh.part"
    fresh.write_bytes(b"x")
    now = fresh.stat().st_mtime
    assert sweep_spools(str(tmp_path), now=now + 1, grace=60) == 0
    assert sweep_spools(str(tmp_path), now=now + 61, grace=60) == 1
