"""Delta deploys from a real feed on loopback, with real packages made by `octopack pack`.

Version 1.0.0 is packed from a tree; 1.1.0 from the same tree with 1% of its files
changed. Bytes are counted at a loopback proxy in front of the feed.
"""

from __future__ import annotations

import json
import random
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from packer.archive.zip.directory import CentralDirectory
from packer.client.feed import FeedClient
from packer.target.delta import DeltaUnavailable, Segment, _segments, coalesce
from tests.helpers.faulty_proxy import faulty_proxy
from tests.helpers.feed_server import running_feed

FILES = 200
FILE_BYTES = 12_000


def _make_tree(path: Path, changed: int = 0) -> Path:
    """Write FILES files of incompressible bytes; the first `changed` differ from the original."""
    for number in range(FILES):
        seed = f"{number}-changed" if number < changed else str(number)
        content = random.Random(seed).randbytes(FILE_BYTES)
        target = path / f"dir{number % 7}" / f"file{number:04d}.bin"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    (path / "Deploy.sh").write_text("#!/bin/sh\necho deployed\n")
    return path


def _pack(octopack, tree: Path, out: Path, package_id: str, version: str, fmt: str) -> Path:
    result = octopack(
        "pack", "--id", package_id, "--version", version, "--base-path", tree,
        "--out-folder", out, "--format", fmt, "--output-format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return Path(json.loads(result.stdout)["path"])


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A feed with Delta.App (zip), Delta.Nu (nupkg), Delta.Tar (tar.gz) at 1.0.0 and 1.1.0
    (1% of files changed), and Delta.Big at 1.0.0 and 1.1.0 (60% changed)."""
    from click.testing import CliRunner

    from packer.cli import main

    def octopack(*args):
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    tmp = tmp_path_factory.mktemp("delta")
    out = tmp / "out"
    same, one_percent = _make_tree(tmp / "v1"), _make_tree(tmp / "v2", FILES // 100)
    most = _make_tree(tmp / "v3", FILES * 6 // 10)
    packages = []
    for package_id, fmt in (("Delta.App", "zip"), ("Delta.Nu", "nupkg"), ("Delta.Tar", "tar.gz")):
        packages.append(_pack(octopack, same, out, package_id, "1.0.0", fmt))
        packages.append(_pack(octopack, one_percent, out, package_id, "1.1.0", fmt))
    packages.append(_pack(octopack, same, out, "Delta.Big", "1.0.0", "zip"))
    packages.append(_pack(octopack, most, out, "Delta.Big", "1.1.0", "zip"))
    with running_feed(tmp / "store") as running:
        with FeedClient(running.url, running.admin_key) as client:
            for package in packages:
                assert client.push(package).ok
        yield running


def _deploy(octopack, url: str, key: str, root: Path, package_id: str, version: str) -> dict:
    result = octopack(
        "deploy", package_id, "--version", version, "--root", root, "--server", url,
        "--api-key", key, "--output-format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    document["output"] = result.stderr  # progress goes to stderr with JSON on stdout
    return document


def _tree(path: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below `path` with its bytes and mode bits."""
    return {
        p.relative_to(path).as_posix(): (p.read_bytes(), p.stat().st_mode & 0o777)
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def _size(feed, package_id: str, version: str) -> int:
    with FeedClient(feed.url, feed.admin_key) as client:
        return int(client.package_detail(package_id, version)["PackageSizeBytes"])


def _full_release(octopack, feed, tmp_path: Path, package_id: str) -> dict:
    """The tree of 1.1.0 deployed on a fresh target (a full download)."""
    document = _deploy(octopack, feed.url, feed.admin_key, tmp_path / "full", package_id, "1.1.0")
    assert document["transfer"]["mode"] == "full"
    return _tree(Path(document["directory"]))


@pytest.mark.parametrize("package_id", ["Delta.App", "Delta.Nu"])
def test_delta_fetches_only_the_changed_entries(feed, octopack, root, tmp_path, package_id):
    first = _deploy(octopack, feed.url, feed.admin_key, root, package_id, "1.0.0")
    assert first["transfer"]["mode"] == "full"
    assert "no delta: no other version of it in the cache" in first["output"]
    size = _size(feed, package_id, "1.1.0")
    with faulty_proxy(feed.url) as proxy:
        second = _deploy(octopack, proxy.url, feed.admin_key, root, package_id, "1.1.0")
    assert second["transfer"]["mode"] == "delta"
    assert 0 < second["transfer"]["bytes"] < size // 10
    assert proxy.bytes_to_client < size // 10  # bodies plus headers, at the wire
    assert second["transfer"]["bytes"] < proxy.bytes_to_client
    lines = [line for line in second["output"].splitlines() if line.startswith("transfer:")]
    assert len(lines) == 1 and "transfer: delta from cached" in lines[0], second["output"]
    assert _tree(Path(second["directory"])) == _full_release(octopack, feed, tmp_path, package_id)
    cache = root / ".octopack" / "cache"
    assert not list(cache.glob("*.part"))


def test_deploy_output_names_the_mode_in_one_line(feed, octopack, root):
    args = ["--root", root, "--server", feed.url, "--api-key", feed.admin_key]
    assert octopack("deploy", "Delta.App", "--version", "1.0.0", *args).exit_code == 0
    result = octopack("deploy", "Delta.App", "--version", "1.1.0", *args)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("transfer:")]
    assert len(lines) == 1 and lines[0].startswith("transfer: delta from cached Delta.App.1.0.0")


def test_no_cache_downloads_whole(feed, octopack, root):
    document = _deploy(octopack, feed.url, feed.admin_key, root, "Delta.App", "1.1.0")
    assert document["transfer"] == {"mode": "full", "bytes": _size(feed, "Delta.App", "1.1.0")}
    assert "no delta: no other version of it in the cache" in document["output"]


def test_cached_version_transfers_nothing(feed, octopack, root):
    _deploy(octopack, feed.url, feed.admin_key, root, "Delta.App", "1.0.0")
    again = _deploy(octopack, feed.url, feed.admin_key, root, "Delta.App", "1.0.0")
    assert again["transfer"] == {"mode": "cached", "bytes": 0}


def test_tar_gz_downloads_whole(feed, octopack, root, tmp_path):
    _deploy(octopack, feed.url, feed.admin_key, root, "Delta.Tar", "1.0.0")
    document = _deploy(octopack, feed.url, feed.admin_key, root, "Delta.Tar", "1.1.0")
    assert document["transfer"] == {"mode": "full", "bytes": _size(feed, "Delta.Tar", "1.1.0")}
    assert "no delta: tar.gz packages have no central directory" in document["output"]


def test_delta_above_half_the_package_downloads_whole(feed, octopack, root, tmp_path):
    _deploy(octopack, feed.url, feed.admin_key, root, "Delta.Big", "1.0.0")
    size = _size(feed, "Delta.Big", "1.1.0")
    document = _deploy(octopack, feed.url, feed.admin_key, root, "Delta.Big", "1.1.0")
    assert document["transfer"]["mode"] == "full"
    assert "is above half the package" in document["output"]
    spent = document["transfer"]["bytes"] - size  # the end and central directory, read first
    assert 0 < spent < size // 10
    assert _tree(Path(document["directory"])) == _full_release(
        octopack, feed, tmp_path, "Delta.Big"
    )


def test_corrupted_cached_version_falls_back_and_deploys_right(feed, octopack, root, tmp_path):
    _deploy(octopack, feed.url, feed.admin_key, root, "Delta.App", "1.0.0")
    cached = root / ".octopack" / "cache" / "Delta.App.1.0.0.zip"
    with zipfile.ZipFile(cached) as archive:
        info = archive.getinfo("dir6/file0006.bin")  # unchanged in 1.1.0: copied by a delta
    data = bytearray(cached.read_bytes())
    data[info.header_offset + 30 + len(info.filename) + 100] ^= 0xFF
    cached.write_bytes(bytes(data))
    document = _deploy(octopack, feed.url, feed.admin_key, root, "Delta.App", "1.1.0")
    assert document["transfer"]["mode"] == "full"
    assert "the assembled package's SHA-256" in document["output"]
    assert _tree(Path(document["directory"])) == _full_release(
        octopack, feed, tmp_path, "Delta.App"
    )


def test_server_that_ignores_range_gets_a_full_download(feed, octopack, root, tmp_path):
    _deploy(octopack, feed.url, feed.admin_key, root, "Delta.App", "1.0.0")
    inner = feed.app.wsgi_app

    def ignore_range(environ, start_response):
        environ.pop("HTTP_RANGE", None)
        return inner(environ, start_response)

    feed.app.wsgi_app = ignore_range
    try:
        with faulty_proxy(feed.url) as proxy:
            document = _deploy(octopack, proxy.url, feed.admin_key, root, "Delta.App", "1.1.0")
    finally:
        feed.app.wsgi_app = inner
    size = _size(feed, "Delta.App", "1.1.0")
    assert document["transfer"]["mode"] == "full"
    assert "answered 200 to a Range request (it ignores Range)" in document["output"]
    assert size <= document["transfer"]["bytes"] < 2 * size
    assert _tree(Path(document["directory"])) == _full_release(
        octopack, feed, tmp_path, "Delta.App"
    )


def test_rollback_builds_from_the_newer_cached_version(feed, octopack, root):
    _deploy(octopack, feed.url, feed.admin_key, root, "Delta.App", "1.1.0")
    document = _deploy(octopack, feed.url, feed.admin_key, root, "Delta.App", "1.0.0")
    assert document["transfer"]["mode"] == "delta"
    assert "delta from cached Delta.App.1.1.0.zip" in document["output"]


def test_the_cache_keeps_no_part_file_after_a_fallback(feed, octopack, root):
    _deploy(octopack, feed.url, feed.admin_key, root, "Delta.Big", "1.0.0")
    _deploy(octopack, feed.url, feed.admin_key, root, "Delta.Big", "1.1.0")
    names = sorted(p.name for p in (root / ".octopack" / "cache").iterdir())
    assert [n for n in names if not n.startswith(".")] == [
        "Delta.Big.1.0.0.zip",
        "Delta.Big.1.1.0.zip",
    ]


# -- the plan, on its own ------------------------------------------------------------------


def test_coalesce_joins_fetches_across_short_copies_only():
    segments = [
        Segment(0, 100),
        Segment(100, 50, base=1000),  # short, between two fetches: fetched too
        Segment(150, 100),
        Segment(250, 100_000, base=2000),  # long: copied
        Segment(100_250, 10, base=102_000),  # contiguous in the base: joined with the copy
        Segment(100_260, 40),
    ]
    assert coalesce(segments, gap=64) == [
        Segment(0, 250),
        Segment(250, 100_010, base=2000),
        Segment(100_260, 40),
    ]


def test_a_signed_nupkg_is_not_rebuilt():
    directory = CentralDirectory(start_dir=100)
    directory.names.append(".signature.p7s")
    with pytest.raises(DeltaUnavailable, match="signed nupkg"):
        _segments(directory, CentralDirectory(start_dir=0))


def test_copy_tree_helper_sees_a_difference(tmp_path):
    """_tree compares bytes and modes (so the identity assertions above can fail)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_bytes(b"1")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    (tmp_path / "b" / "x").chmod(0o755)
    assert _tree(tmp_path / "a") != _tree(tmp_path / "b")
