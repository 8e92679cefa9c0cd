"""Properties of the rules: accepted names stay inside; accepted symlinks resolve inside on disk."""

from __future__ import annotations

import itertools
import os
import posixpath
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packer.archive.rules import ArchiveEntry, EntryChecker, Limits, normalize_name
from packer.model.errors import UnsafeArchive

_segment = st.sampled_from(["a", "b", "..", ".", "", "C:", "x\\y", "\x00", "\x1f", "é"])


@given(st.lists(_segment, min_size=1, max_size=5), st.booleans())
def test_accepted_names_stay_below_the_destination(parts: list[str], leading_slash: bool) -> None:
    raw = ("/" if leading_slash else "") + "/".join(parts)
    try:
        clean = normalize_name(raw)
    except UnsafeArchive as error:
        assert repr(raw) in str(error)  # every refusal names the entry
        return
    if clean is None:
        return
    assert not clean.startswith("/")
    assert ".." not in clean.split("/")
    assert "\\" not in clean and "\x00" not in clean
    assert posixpath.normpath(posixpath.join("/dest", clean)).startswith("/dest/")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("./a/b", "a/b"), ("a/./b/", "a/b"), ("dir/", "dir"), (".", None), ("./", None)],
)
def test_names_are_normalised(raw: str, clean: str | None) -> None:
    assert normalize_name(raw) == clean


# Few names and few target parts, so links often pass through each other.
_link_name = st.sampled_from(["l1", "l2", "d/l1", "d/l2", "d/e/l1"])
_link_target = st.lists(st.sampled_from(["l1", "l2", "d", "..", "."]), min_size=1, max_size=4).map(
    "/".join
)


def _check_on_disk(links: dict[str, str], scratch: Path | None = None) -> bool:
    """Return False when the checker accepts links that really resolve outside on disk."""
    checker = EntryChecker(Limits(), package_size=1000)
    try:
        for name, target in links.items():
            checker.add(ArchiveEntry(name, "symlink", link_target=target))
        checker.finish()
    except UnsafeArchive:
        return True
    with tempfile.TemporaryDirectory(dir=scratch) as place:
        root = Path(place, "root")
        root.mkdir()
        for name, target in links.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, path)
        real_root = os.path.realpath(root)
        for name in links:
            resolved = os.path.realpath(root / name)
            if not (resolved == real_root or resolved.startswith(real_root + os.sep)):
                return False
    return True


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_link_name, _link_target, min_size=1, max_size=4))
def test_accepted_symlinks_resolve_inside_on_a_real_file_system(links: dict[str, str]) -> None:
    assert _check_on_disk(links), links


def test_every_pair_of_short_links_is_judged_as_the_file_system_resolves_it(
    tmp_path: Path,
) -> None:
    names = ["l1", "d/l1", "d/l2"]
    targets = [
        "/".join(t) for n in (1, 2) for t in itertools.product(["l1", "l2", "d", ".."], repeat=n)
    ]
    wrong = [
        {first: t1, second: t2}
        for first, second in itertools.combinations(names, 2)
        for t1 in targets
        for t2 in targets
        if not _check_on_disk({first: t1, second: t2}, tmp_path)
    ]
    assert wrong == []


def test_symlink_through_a_link_to_the_root_is_refused() -> None:
    checker = EntryChecker(Limits(), package_size=1000)
    checker.add(ArchiveEntry("a/b/up", "symlink", link_target="../.."))
    checker.add(ArchiveEntry("a/b/t", "symlink", link_target="up/../x"))
    with pytest.raises(UnsafeArchive, match="'a/b/t': symlink to 'up/../x' points outside"):
        checker.finish()
