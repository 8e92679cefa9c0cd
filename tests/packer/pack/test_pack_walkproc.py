"""The walk in a child process: same entries in the same order, same errors, child reaped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from packer.model.errors import BadInput
from packer.pack.collect import iter_files
from packer.pack.walkproc import stream_files
from tests.packer.conftest import write

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the walker process needs fork")


def children() -> set[int]:
    """Pids of this process's live (or unreaped) children, from /proc."""
    found: set[int] = set()
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        path = f"/proc/{os.getpid()}/task/{task}/children"
        if not os.path.exists(path):
            pytest.skip("/proc/<pid>/task/<tid>/children is not available")
        with open(path) as handle:
            found.update(int(pid) for pid in handle.read().split())
    return found


def make_tree(root: Path, count: int = 1500) -> Path:
    """Enough entries for several batches, a script, an empty folder and keep-worthy modes."""
    for i in range(count):
        write(root / f"d{i % 13}" / f"f{i:04d}.txt", "x" * (i % 7))
    write(root / "Deploy.sh", "#!/bin/sh\n", 0o755)
    (root / "empty").mkdir()
    return root


def test_entries_are_those_of_the_walk_in_the_same_order(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "src")
    before = children()
    direct = list(iter_files(str(tree), mtime=None))
    streamed = list(stream_files(iter_files(str(tree), mtime=None)))
    assert streamed == direct
    assert len(streamed) == 1502 and streamed[-1].name == "empty/"
    assert {f.mode for f in streamed if f.name == "Deploy.sh"} == {0o755}
    assert children() == before


def test_an_error_arrives_in_order_with_its_message_and_the_child_is_reaped(
    tmp_path: Path,
) -> None:
    tree = make_tree(tmp_path / "src", 600)
    write(tree / "zz" / "bad\nname.txt")
    before = children()
    seen = []
    with pytest.raises(BadInput, match=r"cannot pack 'zz/bad\\nname.txt': control characters"):
        for item in stream_files(iter_files(str(tree))):
            seen.append(item.name)
    assert len(seen) == 602  # everything before the bad name came through first
    assert children() == before


def test_a_consumer_that_stops_early_leaves_no_child_behind(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "src", 3000)
    before = children()
    stream = stream_files(iter_files(str(tree)))
    assert next(stream).name == "Deploy.sh"
    stream.close()  # type: ignore[attr-defined]
    assert children() == before


def test_a_stream_never_read_leaves_no_child_behind(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "src", 3000)
    before = children()
    stream = stream_files(iter_files(str(tree)))
    stream.close()  # type: ignore[attr-defined]
    assert children() == before
