"""Feed configuration from OCTOPACK_* variables and options; leftovers swept at start."""

from __future__ import annotations

import os
import time

import pytest

from feed.core.config import FeedConfig, config_from_env, parse_size
from feed.core.errors import BadRequest
from feed.http.server import storage_label
from feed.services import sweep_leftovers


def test_environment_then_options() -> None:
    env = {
        "OCTOPACK_STORAGE": "s3://bucket/feed",
        "OCTOPACK_API_KEY": "key-one, key-two",
        "OCTOPACK_PRIVATE": "yes",
        "OCTOPACK_MAX_PACKAGE_BYTES": "10M",
        "OCTOPACK_PORT": "9000",
    }
    config = config_from_env(env, port=9100, api_keys=("cli-key",))
    assert config.storage == "s3://bucket/feed"
    assert config.api_keys == ("cli-key", "key-one", "key-two")
    assert config.private is True
    assert config.max_package_bytes == 10 * 1024 * 1024
    assert config.port == 9100
    assert config_from_env({}) == FeedConfig(workers=config_from_env({}).workers)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"OCTOPACK_PRIVATE": "maybe"}, "'maybe'"),
        ({"OCTOPACK_PORT": "http"}, "'http'"),
        ({"OCTOPACK_MAX_PACKAGE_BYTES": "8 apples"}, "'8 apples'"),
    ],
)
def test_bad_environment_values_are_named(env, fragment) -> None:
    with pytest.raises(BadRequest, match=fragment):
        config_from_env(env)


@pytest.mark.parametrize(
    ("text", "size"), [("1048576", 1048576), ("500K", 512000), ("8G", 8 << 30), ("2mib", 2 << 20)]
)
def test_parse_size(text, size) -> None:
    assert parse_size(text) == size


def test_sweep_removes_only_stale_spools(tmp_path) -> None:
    from storage import open_storage

    stale = tmp_path / "octopack-upload-old.part"
    fresh = tmp_path / "octopack-upload-new.part"
    other = tmp_path / "keep-me.part"
    for path in (stale, fresh, other):
        path.write_bytes(b"x")
    old = time.time() - 2 * 24 * 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    config = FeedConfig(storage=str(tmp_path / "store"), upload_dir=str(tmp_path))
    assert sweep_leftovers(config, open_storage(config.storage)) == 1
    assert not stale.exists() and fresh.exists() and other.exists()


def test_storage_label_is_absolute_for_disk() -> None:
    assert storage_label("./data") == os.path.abspath("data")
    assert storage_label("s3://b/p") == "s3://b/p"
