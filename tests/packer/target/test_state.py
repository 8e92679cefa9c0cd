"""Locks, journal and target retention on a real folder."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from packer.model.errors import BadInput, OperationFailed
from packer.target.journal import Journal, JournalEntry
from packer.target.layout import TargetLayout, check_segment
from packer.target.locks import exclusive_lock, lock_path
from packer.target.retention import apply_retention


class FakeClock:
    """A monotonic clock that moves only when `sleep` is called."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_second_holder_waits_with_message_then_gets_the_lock(tmp_path: Path) -> None:
    path = lock_path(tmp_path, "Web.App", "Prod")
    assert path.name == "Prod.web.app.lock"
    messages: list[str] = []
    holder = exclusive_lock(path, 1, "Web.App to Prod")
    holder.__enter__()

    def on_wait(message: str) -> None:
        messages.append(message)
        holder.__exit__(None, None, None)  # the first deploy finishes while we wait

    clock = FakeClock()
    with exclusive_lock(path, 5, "Web.App to Prod", on_wait, clock, clock.sleep):
        pass
    assert messages == [f"waiting for another deploy of Web.App to Prod to finish (lock {path})"]


def test_lock_times_out_with_a_clear_message(tmp_path: Path) -> None:
    path = lock_path(tmp_path, "Web", None)
    clock = FakeClock()
    with exclusive_lock(path, 1, "Web"):
        with pytest.raises(OperationFailed, match=r"still holds .* after 2 s"):
            with exclusive_lock(path, 2, "Web", clock=clock, sleep=clock.sleep):
                pass
    assert clock.now >= 2


def test_journal_updates_in_place_and_survives_concurrent_writers(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    first = JournalEntry("A", "1.0.0", None, None, "2026-01-01T00:00:00Z")
    journal.record(first)
    first.status = "success"
    journal.record(first)
    assert [e.status for e in journal.entries()] == ["success"]

    def writer(n: int) -> None:
        for i in range(10):
            journal.record(JournalEntry(f"P{n}", f"1.0.{i}", None, None, "t"))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(journal.entries()) == 41
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_corrupt_journal_is_reported_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "journal.json").write_text("{not json")
    with pytest.raises(OperationFailed, match="is not a valid octopack journal"):
        Journal(tmp_path).record(JournalEntry("A", "1", None, None, "t"))
    assert (tmp_path / "journal.json").read_text() == "{not json"


@pytest.mark.parametrize("bad", ["..", "a/b", ".hidden", "", "a\\b", "x\x00"])
def test_unsafe_environment_names_are_refused(bad: str) -> None:
    with pytest.raises(BadInput, match="cannot be a directory name"):
        check_segment(bad, "environment")


def _release(
    layout: TargetLayout, journal: Journal, version: str, ok: bool, stamp: str, cache: bool = True
) -> JournalEntry:
    """Make a release directory, a cache file and a journal entry as a deploy would."""
    directory = layout.free_release_dir("Web", "Prod", version)
    directory.mkdir(parents=True)
    (directory / "app.txt").write_text(version)
    package = layout.cache_dir / f"Web.{version}.zip"
    if cache:
        package.parent.mkdir(parents=True, exist_ok=True)
        package.write_bytes(b"zip")
    entry = JournalEntry(
        "Web", version, "Prod", str(directory), stamp, stamp, ok, "success" if ok else "failed",
        package_file=str(package) if cache else None,
    )  # fmt: skip
    journal.record(entry)
    if ok:
        layout.point_current("Web", "Prod", directory)
    return entry


def test_retention_keeps_newest_successful_and_removes_failed(tmp_path: Path) -> None:
    layout = TargetLayout(tmp_path)
    journal = Journal(layout.state_dir)
    r1 = _release(layout, journal, "1.0.0", True, "2026-01-01T00:00:01Z")
    r2 = _release(layout, journal, "1.0.1", False, "2026-01-01T00:00:02Z")
    r3 = _release(layout, journal, "1.0.2", True, "2026-01-01T00:00:03Z")
    r4 = _release(layout, journal, "1.0.3", True, "2026-01-01T00:00:04Z")
    layout.point_current("Web", "Prod", Path(r3.directory))  # e.g. a rollback to 1.0.2
    result = apply_retention(
        tmp_path, journal, 1, "Web", "Prod", layout.current_link("Web", "Prod"), layout.cache_dir
    )
    assert [k["version"] for k in result.kept] == ["1.0.2"]
    assert sorted(d["version"] for d in result.deleted) == ["1.0.0", "1.0.1", "1.0.3"]
    for gone in (r1, r2, r4):
        assert not Path(gone.directory).exists()
        assert not Path(gone.package_file).exists()
    assert Path(r3.directory, "app.txt").read_text() == "1.0.2"
    assert Path(r3.package_file).exists()
    marked = {e.version: e.deleted is not None for e in journal.entries()}
    assert marked == {"1.0.0": True, "1.0.1": True, "1.0.2": False, "1.0.3": True}
    again = apply_retention(
        tmp_path, journal, 1, "Web", "Prod", layout.current_link("Web", "Prod"), layout.cache_dir
    )
    assert again.deleted == []


def test_retention_never_deletes_a_directory_or_cache_file_a_kept_release_uses(
    tmp_path: Path,
) -> None:
    layout = TargetLayout(tmp_path)
    journal = Journal(layout.state_dir)
    kept = _release(layout, journal, "2.0.0", True, "2026-01-01T00:00:05Z")
    stale = JournalEntry(
        "Web", "2.0.0", "Prod", kept.directory, "2026-01-01T00:00:01Z", "2026-01-01T00:00:01Z",
        False, "failed", package_file=kept.package_file,
    )  # fmt: skip
    journal.record(stale)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    rogue = JournalEntry("Web", "0.1", "Prod", str(outside), "t", "t", False, "failed")
    journal.record(rogue)
    result = apply_retention(
        tmp_path, journal, 2, "Web", "Prod", layout.current_link("Web", "Prod"), layout.cache_dir
    )
    assert Path(kept.directory).is_dir() and Path(kept.package_file).is_file()
    assert outside.is_dir()  # a journal entry never makes us delete outside the root
    assert [k["version"] for k in result.kept] == ["2.0.0"]


def test_retention_refuses_keep_zero(tmp_path: Path) -> None:
    layout = TargetLayout(tmp_path)
    with pytest.raises(BadInput, match="--keep 0 must be at least 1"):
        apply_retention(tmp_path, Journal(layout.state_dir), 0, "Web", None, tmp_path, None)


def test_point_current_is_a_relative_symlink(tmp_path: Path) -> None:
    layout = TargetLayout(tmp_path)
    release = layout.free_release_dir("Web", None, "1.0.0")
    release.mkdir(parents=True)
    layout.point_current("Web", None, release)
    assert os.readlink(layout.current_link("Web", None)) == "1.0.0"
    assert layout.free_release_dir("Web", None, "1.0.0").name == "1.0.0_1"
    assert json.dumps(str(layout.current_target("Web", None))) == json.dumps(str(release))
