"""Hostile packages on a target: each refused with a message naming the entry, nothing left.

The corpus is built here (zip and tar, 20+ cases); the refusal itself is the shared
validator's (packer.archive). After a refusal no release directory, no temp directory and
no file outside the root exists, and the journal records the refusal.
"""

from __future__ import annotations

import io
import json
import os
import struct
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from packer.archive.validator import Limits
from packer.client.feed import FeedClient
from packer.model.errors import UnsafeArchive
from packer.target.deploy import DeployOptions, deploy_file
from tests.helpers.feed_server import running_feed
from tests.helpers.hostile import HOSTILE_CASES, tar_info
from tests.packer.target.conftest import journal
from tests.packer.target.packages import nuspec, write_zip

Builder = Callable[[Path], Path]


def _zip_entries(path: Path, entries: list[tuple[str, bytes, int]]) -> Path:
    """Write raw zip entries (name, data, full st_mode) without any name cleaning."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo("placeholder", (2021, 1, 1, 0, 0, 0))
            info.filename = name  # bypass ZipInfo's own separator handling
            info.orig_filename = name
            info.external_attr = mode << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def zip_case(*entries: tuple[str, bytes, int]) -> Builder:
    return lambda d: _zip_entries(d / "Evil.1.0.0.zip", list(entries))


def _tar_entries(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for member in members:
            payload = data.get(member.name)
            if payload is not None:
                member.size = len(payload)
            archive.addfile(member, io.BytesIO(payload) if payload is not None else None)
    return path


def tar_case(*members: tarfile.TarInfo, data: dict[str, bytes] | None = None) -> Builder:
    files = data or {m.name: b"x" for m in members if m.type == tarfile.REGTYPE}
    return lambda d: _tar_entries(d / "Evil.1.0.0.tar.gz", list(members), files)


FILE, LINK, CHR, FIFO = 0o100644, 0o120777, 0o020644, 0o010644


def _patch_zip(build: Builder, patch: Callable[[bytearray], None]) -> Builder:
    def make(directory: Path) -> Path:
        path = build(directory)
        data = bytearray(path.read_bytes())
        patch(data)
        path.write_bytes(bytes(data))
        return path

    return make


def _central_offsets(data: bytearray) -> list[int]:
    """Return the positions of every central directory header."""
    found, start = [], 0
    while (position := data.find(b"PK\x01\x02", start)) != -1:
        found.append(position)
        start = position + 4
    return found


def _point_second_entry_at_first(data: bytearray) -> None:
    """Overlap: the second central record reuses the first entry's local header offset."""
    second = _central_offsets(data)[1]
    data[second + 42 : second + 46] = struct.pack("<I", 0)


def _rename_local_header(data: bytearray) -> None:
    """Make the first local header name differ from its central directory name."""
    name_at = 30
    data[name_at : name_at + 5] = b"other"


def _understate_size(data: bytearray) -> None:
    """Declare 1 byte uncompressed in both headers for an entry that inflates to 1,000."""
    data[22:26] = struct.pack("<I", 1)
    central = _central_offsets(data)[0]
    data[central + 24 : central + 28] = struct.pack("<I", 1)


def _nupkg(directory: Path, specs: dict[str, bytes]) -> Path:
    files = {name: (body, 0o644) for name, body in specs.items()}
    return write_zip(directory / "Evil.1.0.0.nupkg", {"lib/a.dll": (b"MZ", 0o644), **files})


DTD = (
    b'<?xml version="1.0"?><!DOCTYPE package [<!ENTITY x "boom">]>'
    b"<package><metadata><id>Evil</id><version>1.0.0</version></metadata></package>"
)

CASES: dict[str, tuple[Builder, str]] = {
    "zip absolute path": (zip_case(("/etc/evil", b"x", FILE)), "'/etc/evil'"),
    "zip dot-dot": (zip_case(("../evil.txt", b"x", FILE)), "'../evil.txt'"),
    "zip nested dot-dot": (zip_case(("a/../../evil", b"x", FILE)), "'a/../../evil'"),
    "zip drive letter": (zip_case(("C:/evil.txt", b"x", FILE)), "'C:/evil.txt'"),
    "zip backslash": (zip_case(("..\\evil.txt", b"x", FILE)), "backslash"),
    "zip control char": (zip_case(("a\x07b.txt", b"x", FILE)), "control character"),
    # Names equal only after case folding are refused only where the file system folds
    # them (tests/adversarial); one name spelled twice is refused everywhere.
    "zip duplicate after ./": (
        zip_case(("App.txt", b"1", FILE), ("./App.txt", b"2", FILE)),
        "'App.txt': duplicate name",
    ),
    "zip exact duplicate": (zip_case(("a.txt", b"1", FILE), ("a.txt", b"2", FILE)), "'a.txt'"),
    "zip symlink absolute": (zip_case(("passwd", b"/etc/passwd", LINK)), "'passwd'"),
    "zip symlink escape": (zip_case(("up", b"../../outside", LINK)), "'up'"),
    "zip symlink chain escape": (
        zip_case(("d/l1", b"..", LINK), ("d/l2", b"l1/../..", LINK)),
        "points outside the destination",
    ),
    "zip file through symlink": (
        zip_case(("dir", b"/tmp", LINK), ("dir/planted.txt", b"x", FILE)),
        "'dir",
    ),
    "zip device": (zip_case(("dev", b"", CHR)), "'dev': device files are not allowed"),
    "zip fifo": (zip_case(("pipe", b"", FIFO)), "'pipe': FIFOs"),
    "zip overlapping entries": (
        _patch_zip(
            zip_case(("a.txt", b"A" * 100, FILE), ("b.txt", b"B" * 100, FILE)),
            _point_second_entry_at_first,
        ),  # fmt: skip
        "'b.txt'",
    ),
    "zip local header mismatch": (
        _patch_zip(zip_case(("first", b"x" * 50, FILE)), _rename_local_header),
        "'first'",
    ),
    "zip understated size": (
        _patch_zip(zip_case(("big.txt", b"z" * 1000, FILE)), _understate_size),
        "'big.txt'",
    ),
    "zip ratio bomb": (zip_case(("zeros.bin", bytes(20_000_000), FILE)), "compression ratio"),
    "nupkg two nuspecs": (
        lambda d: _nupkg(d, {"A.nuspec": nuspec("A", "1.0.0"), "B.nuspec": nuspec("B", "1.0.0")}),
        "more than one .nuspec",
    ),
    "nupkg nuspec with DTD": (lambda d: _nupkg(d, {"Evil.nuspec": DTD}), "DTD"),
    "tar absolute path": (tar_case(tar_info("/etc/cron.d/evil")), "'/etc/cron.d/evil'"),
    "tar dot-dot": (tar_case(tar_info("../../evil")), "'../../evil'"),
    "tar symlink escape": (
        tar_case(tar_info("link", tarfile.SYMTYPE, "/etc")),
        "'link': symlink to absolute path",
    ),
    "tar file through symlink": (
        tar_case(tar_info("out", tarfile.SYMTYPE, ".."), tar_info("out/evil.txt")),
        "out",
    ),
    "tar hardlink outside": (
        tar_case(tar_info("hl", tarfile.LNKTYPE, "/etc/passwd")),
        "'hl': hard link target",
    ),
    "tar hardlink to later entry": (
        tar_case(tar_info("hl", tarfile.LNKTYPE, "later.txt"), tar_info("later.txt")),
        "'hl': hard link to 'later.txt'",
    ),
    "tar char device": (tar_case(tar_info("null", tarfile.CHRTYPE)), "'null': device files"),
    "tar fifo": (tar_case(tar_info("fifo", tarfile.FIFOTYPE)), "'fifo': FIFOs"),
    "tar duplicate after ./": (
        tar_case(tar_info("Readme"), tar_info("./Readme")),
        "'Readme': duplicate name",
    ),
}


def _snapshot(path: Path) -> dict[str, tuple[int, float]]:
    """Every path below `path` with size and mtime (to prove nothing outside changed)."""
    result = {}
    for item in path.rglob("*"):
        info = item.lstat()
        result[item.relative_to(path).as_posix()] = (info.st_size, info.st_mtime)
    return result


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_package_is_refused_and_leaves_nothing(tmp_path, root, octopack, case):
    build, expected = CASES[case]
    drop = tmp_path / "drop"
    drop.mkdir()
    _check_refused(tmp_path, root, octopack, build(drop), expected)


@pytest.mark.parametrize("case", HOSTILE_CASES, ids=lambda case: case.name)
def test_shared_hostile_corpus_is_refused_on_the_target(tmp_path, root, octopack, case):
    drop = tmp_path / "drop"
    drop.mkdir()
    package, expected = case.write(drop)
    _check_refused(tmp_path, root, octopack, package, expected, statuses=("refused", "failed"))


def _check_refused(
    tmp_path: Path,
    root: Path,
    octopack,
    package: Path,
    expected: str,
    statuses: tuple[str, ...] = ("refused",),
) -> None:
    """Deploy `package`; require exit 1, the message, and nothing left anywhere."""
    before = {k: v for k, v in _snapshot(tmp_path).items() if not k.startswith("target")}
    result = octopack("deploy", "--file", package, "--root", root, "--output-format", "json")
    assert result.exit_code == 1, result.output
    assert expected in result.stderr, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] in statuses and document["directory"] is None
    assert expected in document["message"]
    after = {k: v for k, v in _snapshot(tmp_path).items() if not k.startswith("target")}
    assert after == before  # nothing written or changed outside the root
    assert {p.name for p in root.iterdir()} <= {".octopack"}  # no release, no temp dir
    assert not (Path("/tmp") / "planted.txt").exists()
    entries = journal(root) if (root / ".octopack" / "journal.json").exists() else []
    assert all(e["status"] in statuses and e["directory"] is None for e in entries)


def test_corpus_is_large_enough():
    assert len([c for c in CASES if c.startswith("zip")]) >= 10
    assert len([c for c in CASES if c.startswith("tar")]) >= 8


def test_limits_from_options_are_enforced_without_a_trace(tmp_path, root):
    package = write_zip(
        tmp_path / "Many.1.0.0.zip", {f"f{i}.txt": (b"x", 0o644) for i in range(20)}
    )
    options = DeployOptions(root=root, limits=Limits(max_entries=10), echo=lambda _: None)
    with pytest.raises(UnsafeArchive, match="too many entries"):
        deploy_file(package, options)
    small = DeployOptions(root=root, limits=Limits(max_uncompressed_bytes=10), echo=print)
    with pytest.raises(UnsafeArchive, match="uncompressed size"):
        deploy_file(package, small)
    assert [p.name for p in root.iterdir()] == [".octopack"]
    statuses = [
        e["status"]
        for e in json.loads((root / ".octopack/journal.json").read_text())["deployments"]
    ]
    assert statuses == ["refused", "refused"]
    assert sorted(os.listdir(tmp_path)) == ["Many.1.0.0.zip", "target"]


def test_package_the_feed_accepts_but_the_target_refuses_is_dropped_from_cache(
    tmp_path, root, octopack
):
    bomb = zip_case(("zeros.bin", bytes(20_000_000), FILE))(tmp_path)  # 1000:1
    with running_feed(tmp_path / "store", max_ratio=5000.0) as feed:
        with FeedClient(feed.url, feed.admin_key) as client:
            assert client.push(bomb).ok
        result = octopack(
            "deploy", "Evil", "--root", root, "--server", feed.url, "--api-key", feed.admin_key
        )
    assert result.exit_code == 1
    assert "compression ratio" in result.stderr and "'zeros.bin'" in result.stderr
    cache = root / ".octopack" / "cache"
    assert [p.name for p in cache.iterdir() if not p.name.startswith(".")] == []
    assert not (root / "Evil").exists()
    [entry] = journal(root)
    assert entry["status"] == "refused" and entry["package_file"] is None
