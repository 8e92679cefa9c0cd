"""Very deep trees on a target: they deploy, retention removes them, failures leave nothing.

Removal is iterative and relative to directory descriptors (packer.archive.safe_write),
so neither Python's recursion limit nor PATH_MAX stops `deploy --keep 1`, and a failed
extraction of a deep tree removes its temp folder and closes its journal entry.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from packer.archive.safe_write import remove_tree
from packer.model.conventions import DeployStatus
from packer.target import deploy as deploy_module
from packer.target.deploy import DeployOptions, deploy_file
from tests.packer.target.conftest import journal


@pytest.fixture(autouse=True)
def removed_afterwards(root: Path) -> Iterator[None]:
    """Remove the deep releases ourselves: pytest's own cleanup of old runs would recurse."""
    yield
    remove_tree(root)


def deep_zip(path: Path, depth: int, bad: str | None = None) -> Path:
    """A zip with one file `depth` folders down, then (optionally) a bad entry."""
    deep = "d/" * depth
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("top.txt", b"top")
        archive.writestr(deep + "leaf.txt", b"leaf")
        if bad == "too-long":  # longer than PATH_MAX: the path-length rule refuses it
            archive.writestr(deep + "e/" * 600 + "x.txt", b"x")
        elif bad == "corrupt":
            archive.writestr(deep + "z.txt", b"zzzzzzzzzzzzzzzz", zipfile.ZIP_STORED)
    if bad == "corrupt":  # flip the first stored byte of the last entry: its CRC fails
        data = bytearray(path.read_bytes())
        at = data.find(b"z.txt") + len("z.txt")  # after its local header's name (no extra)
        assert data[at : at + 4] == b"zzzz"
        data[at] ^= 0xFF
        path.write_bytes(bytes(data))
    return path


def leftovers(root: Path) -> list[str]:
    """Temp extraction folders anywhere below the root."""
    return [p.name for p in root.rglob(".*extracting-*")]


def test_a_2000_level_tree_deploys_and_keep_1_removes_the_old_release(tmp_path, root, octopack):
    for version in ("1.0.0", "2.0.0"):
        deep_zip(tmp_path / f"Deep.{version}.zip", 2000)
    first = octopack("deploy", "--file", tmp_path / "Deep.1.0.0.zip", "--root", root)
    assert first.exit_code == 0, first.output
    assert (root / "Deep" / "1.0.0" / ("d/" * 2000 + "leaf.txt")).read_text() == "leaf"
    second = octopack(
        "deploy", "--file", tmp_path / "Deep.2.0.0.zip", "--root", root, "--keep", "1",
        "--output-format", "json",
    )  # fmt: skip
    assert second.exit_code == 0, second.output
    report = json.loads(second.stdout)
    assert [d["version"] for d in report["deleted"]] == ["1.0.0"]
    assert not (root / "Deep" / "1.0.0").exists()
    assert (root / "Deep" / "current" / "top.txt").read_text() == "top"
    assert [e["deleted"] is not None for e in journal(root)] == [True, False]


@pytest.mark.parametrize(
    "bad,status,says",
    [
        ("too-long", DeployStatus.REFUSED, "path is longer than 4095 bytes"),
        ("corrupt", None, "Bad CRC-32"),  # refused where it is found: on push or while writing
    ],
)
def test_a_1500_level_tree_then_a_bad_entry_leaves_nothing_and_one_line(
    tmp_path, root, octopack, bad, status, says
):
    package = deep_zip(tmp_path / "Deep.1.0.0.zip", 1500, bad)
    result = octopack("deploy", "--file", package, "--root", root)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and len(lines[0]) < 600, result.stderr
    assert leftovers(root) == []
    assert not (root / "Deep").exists()
    [entry] = journal(root)
    assert entry["status"] in ((status,) if status else (DeployStatus.FAILED, DeployStatus.REFUSED))
    assert entry["success"] is False and entry["finished"]
    assert lines[0] == "error: " + entry["message"]


def test_an_interrupted_extraction_is_cleaned_and_journaled_as_failed(tmp_path, root, monkeypatch):
    package = deep_zip(tmp_path / "Deep.1.0.0.zip", 1500)
    extracted: list[Path] = []

    def interrupt(temp: Path, *args: object) -> None:  # Ctrl-C once the tree is written
        extracted.append(temp)
        assert (temp / ("d/" * 1500 + "leaf.txt")).exists()
        raise KeyboardInterrupt

    monkeypatch.setattr(deploy_module, "resolve_process", interrupt)
    with pytest.raises(KeyboardInterrupt):
        deploy_file(package, DeployOptions(root=root))
    [entry] = journal(root)
    assert entry["status"] == DeployStatus.FAILED
    assert entry["message"] == "extracting Deep.1.0.0.zip stopped: KeyboardInterrupt"
    assert extracted and not os.path.lexists(extracted[0])
    assert not (root / "Deep").exists()
