"""Deploys from a real feed on loopback: version choice, cache, verification, resume."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from packer.cli import main
from packer.client.feed import FeedClient
from tests.helpers.faulty_proxy import Fault, faulty_proxy
from tests.helpers.feed_server import running_feed
from tests.packer.target.packages import write_zip

VERSIONS = ["1.0.0", "1.2.0", "1.9.5", "2.0.0", "2.1.0-beta.1"]


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A feed holding Web.App in several versions (one prerelease, newest); tests only read."""
    tmp_path = tmp_path_factory.mktemp("feed")
    with running_feed(tmp_path / "store") as running:
        with FeedClient(running.url, running.admin_key) as client:
            for version in VERSIONS:
                files = {"version.txt": (version.encode(), 0o644)}
                if version == "1.9.5":  # big and incompressible: the resume test cuts it
                    files["blob.bin"] = (os.urandom(3_000_000), 0o644)
                package = write_zip(tmp_path / f"Web.App.{version}.zip", files)
                assert client.push(package).ok
        yield running


def _deploy(octopack, feed, root: Path, *args: str):
    return octopack(
        "deploy", "Web.App", "--root", root, "--server", feed.url, "--api-key", feed.admin_key,
        "--output-format", "json", *args,
    )  # fmt: skip


@pytest.mark.parametrize(
    "args,expected",
    [
        ((), "2.0.0"),
        (("--prerelease",), "2.1.0-beta.1"),
        (("--range", "[1.2,2.0)"), "1.9.5"),
        (("--range", "(,1.2]"), "1.2.0"),
        (("--version", "1.0.0"), "1.0.0"),
    ],
)
def test_version_selection(feed, root, octopack, args, expected):
    result = _deploy(octopack, feed, root, *args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["version"] == expected
    assert (root / "Web.App" / "current" / "version.txt").read_text() == expected


def test_nothing_in_range_fails_with_a_clear_message(feed, root, octopack):
    result = _deploy(octopack, feed, root, "--range", "[5.0,6.0)")
    assert result.exit_code == 1
    assert "has no version of Web.App in range [5.0,6.0)" in result.stderr
    assert not (root / "Web.App").exists()


def test_cached_verified_package_is_not_downloaded_again(feed, root, octopack, tmp_path):
    cache = tmp_path / "cache"
    with faulty_proxy(feed.url) as proxy:
        for _ in range(2):
            result = octopack(
                "deploy", "Web.App", "--version", "2.0.0", "--root", root, "--cache", cache,
                "--server", proxy.url, "--api-key", feed.admin_key,
            )  # fmt: skip
            assert result.exit_code == 0, result.output
    raw = [line for line in proxy.request_lines if line.split()[1].endswith("/raw")]
    assert len(raw) == 1
    assert "using cached Web.App.2.0.0.zip (SHA-256 verified)" in result.output
    assert sorted(p.name for p in cache.iterdir() if not p.name.startswith(".")) == [
        "Web.App.2.0.0.zip"
    ]


def test_tampered_cache_file_is_downloaded_again(feed, root, octopack):
    assert _deploy(octopack, feed, root, "--version", "1.2.0").exit_code == 0
    cached = root / ".octopack" / "cache" / "Web.App.1.2.0.zip"
    cached.write_bytes(b"tampered")
    result = _deploy(octopack, feed, root, "--version", "1.2.0")
    assert result.exit_code == 0, result.output
    assert "does not match the feed's SHA-256; downloading again" in result.stderr
    assert cached.read_bytes()[:2] == b"PK"


def test_download_resumes_after_the_connection_is_cut(feed, root, octopack):
    # the first connection may carry only the detail request; either way the download
    # itself meets a cut after 1.5 MB of its 3 MB and must resume with Range
    cut = Fault.cut_response_after(1_500_000)
    with faulty_proxy(feed.url, [cut, cut]) as proxy:
        result = octopack(
            "deploy", "Web.App", "--version", "1.9.5", "--root", root,
            "--server", proxy.url, "--api-key", feed.admin_key,
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert proxy.faults_applied[0] == "cut_response"
    assert any("Range: bytes=" in head for head in proxy.request_heads)
    assert "download resumed" in result.output
    assert (root / "Web.App" / "1.9.5" / "blob.bin").stat().st_size == 3_000_000


def test_private_feed_needs_the_api_key(tmp_path, root, octopack):
    with running_feed(tmp_path / "private", private=True) as private:
        with FeedClient(private.url, private.admin_key) as client:
            assert client.push(write_zip(tmp_path / "Web.App.1.0.0.zip", {"a": (b"a", 0o644)})).ok
        refused = octopack("deploy", "Web.App", "--root", root, "--server", private.url)
        assert refused.exit_code == 1
        assert "needs an API key" in refused.stderr
        assert not (root / "Web.App").exists()
        env = {"OCTOPACK_SERVER": private.url, "OCTOPACK_API_KEY": private.admin_key}
        result = CliRunner(env=env).invoke(main, ["deploy", "Web.App", "--root", str(root)])
        assert result.exit_code == 0, result.output


def test_missing_version_fails_with_a_clear_message(feed, root, octopack):
    result = _deploy(octopack, feed, root, "--version", "9.9.9")
    assert result.exit_code == 1
    assert "has no package Web.App 9.9.9" in result.stderr
    assert json.loads(result.stdout)["status"] == "failed"
    assert not (root / "Web.App").exists()
