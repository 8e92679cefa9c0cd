"""`remove_tree`: iterative, descriptor-relative removal at any depth, never through a link."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from packer.archive.safe_write import remove_tree


def make_deep(root: Path, depth: int, name: str = "d") -> None:
    """Make `root/d/d/.../d/leaf.txt`, `depth` folders deep, without long path names."""
    root.mkdir()
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        leaf = os.open("leaf.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.close(leaf)
    finally:
        os.close(fd)


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_removes_a_tree_deeper_than_the_recursion_limit_and_path_max(tmp_path: Path) -> None:
    depth = max(sys.getrecursionlimit() * 3, 5000)  # 10,000 bytes of path: over PATH_MAX too
    tree = tmp_path / "tree"
    make_deep(tree, depth, "dd")
    before = open_descriptors()
    remove_tree(tree)
    assert not os.path.lexists(tree)
    assert open_descriptors() == before


def test_removes_read_only_and_unreadable_folders(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "ro" / "inner").mkdir(parents=True)
    (tree / "ro" / "inner" / "f.txt").write_text("x")
    (tree / "closed").mkdir()
    (tree / "closed" / "g.txt").write_text("y")
    os.chmod(tree / "ro" / "inner", 0o500)
    os.chmod(tree / "ro", 0o500)
    os.chmod(tree / "closed", 0o000)
    remove_tree(tree)
    assert not os.path.lexists(tree)


def test_symlinks_are_removed_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("precious")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "to-dir").symlink_to(outside)
    (tree / "to-file").symlink_to(outside / "keep.txt")
    remove_tree(tree)
    assert not os.path.lexists(tree)
    assert (outside / "keep.txt").read_text() == "precious"


def test_a_root_that_is_a_link_or_a_file_is_unlinked_only(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("precious")
    link = tmp_path / "link"
    link.symlink_to(outside)
    remove_tree(link)
    assert not os.path.lexists(link)
    assert (outside / "keep.txt").exists()
    single = tmp_path / "single.txt"
    single.write_text("x")
    remove_tree(single)
    assert not single.exists()


def test_a_missing_root_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        remove_tree(tmp_path / "absent")
