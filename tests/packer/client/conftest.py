"""Fixtures for the feed client tests: a real feed on loopback and real zip packages."""

from __future__ import annotations

import random
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.feed_server import RunningFeed, running_feed

ADMIN_KEY = "admin-key-for-tests"


def make_package(folder: Path, name: str, payload: bytes = b"hello", size: int = 0) -> Path:
    """Write a real zip package; `size` adds that many incompressible bytes (stored)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.txt", payload)
        archive.writestr("Deploy.sh", "#!/bin/sh\necho deployed\n")
        if size:
            data = random.Random(name).randbytes(size)
            archive.writestr("blob.bin", data, compress_type=zipfile.ZIP_STORED)
    return path


@pytest.fixture
def feed(tmp_path: Path) -> Iterator[RunningFeed]:
    """A feed on disk in a background thread, with ADMIN_KEY as its admin key."""
    with running_feed(tmp_path / "feed", api_keys=[ADMIN_KEY]) as server:
        yield server
