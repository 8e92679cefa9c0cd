"""A full disk (a real tmpfs the test mounts) answers 507 "feed storage is full", stores nothing.

The spool and the store are filled separately: either running out of room is the same
507, the feed stays healthy, and a push that fits works right after.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
import requests

from tests.feed.packages import make_zip
from tests.helpers.feed_server import push_raw as push
from tests.helpers.feed_server import running_feed
from tests.helpers.small_disk import small_tmpfs

DISK_BYTES = 1024 * 1024
FULL = "feed storage is full; the feed's operator must free space or raise the quota"


def big_package(folder: Path) -> Path:
    noise = random.Random(15).randbytes(3 * DISK_BYTES)  # incompressible: stays 3 MiB
    return make_zip(folder, "Big.App.1.0.0.zip", {"noise.bin": noise})


@pytest.mark.parametrize("full", ["spool", "store"])
def test_a_full_disk_is_507_and_stores_nothing(tmp_path: Path, full: str) -> None:
    with small_tmpfs(DISK_BYTES) as disk:
        store = disk / "store" if full == "store" else tmp_path / "store"
        spool = disk / "spool" if full == "spool" else tmp_path / "spool"
        spool.mkdir()
        with running_feed(store, upload_dir=str(spool)) as feed:
            refused = push(feed.url, big_package(tmp_path))
            assert refused.status_code == 507, refused.text
            assert refused.json()["ErrorMessage"] == FULL
            assert str(disk) not in refused.text  # no paths of the feed in the answer
            assert list(feed.storage.list("packages/")) == []
            assert os.listdir(spool) == []
            assert requests.get(f"{feed.url}/health", timeout=10).status_code == 200
            small = make_zip(tmp_path, "Small.App.1.0.0.zip")
            assert push(feed.url, small).status_code == 201
