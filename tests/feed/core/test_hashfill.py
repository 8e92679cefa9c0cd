"""Late hashes: a raw push's SHA-1 and SHA-512 are filled after the commit, never shown empty."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace

import pytest

from feed.core.config import FeedConfig
from feed.core.hashfill import hashes_pending
from feed.core.uploads import SpooledUpload
from feed.services import open_feed
from packer.model.conventions import OverwriteMode
from tests.feed.packages import digests, make_zip


@pytest.fixture
def repository(backend, clock):
    return open_feed(backend.storage, FeedConfig(storage=backend.location, clock=clock)).repository


def raw_upload(path, tmp_path) -> SpooledUpload:
    """An upload as the raw push hands it over: a movable spool with SHA-256 only."""
    spool = tmp_path / f"spool-{path.name}"
    shutil.copy(path, spool)
    sha256 = hashlib.sha256(spool.read_bytes()).hexdigest()
    return SpooledUpload(spool, spool.stat().st_size, "", sha256, "", movable=True)


def committed_record(repository, package_id: str, version: str):
    """The record as stored now, read past every cache and completion."""
    key = f"packages/{package_id.lower()}/{version}/package.json"
    found = repository._records.read(key)
    return found.value


def test_first_reader_fills_late_hashes_and_stores_them(repository, tmp_path, monkeypatch) -> None:
    path = make_zip(tmp_path, "Late.Hash.1.0.0.zip", {"a.txt": b"late"})
    monkeypatch.setattr(repository._hashes, "start", lambda record: None)  # no thread
    upload = raw_upload(path, tmp_path)
    result = repository.add_package(upload, path.name)
    assert hashes_pending(result.record)
    assert not upload.path.exists()  # the spool was taken into the store
    assert hashes_pending(committed_record(repository, "Late.Hash", "1.0.0"))

    expected = digests(path)
    for record in (
        repository.get("Late.Hash", "1.0.0"),
        repository.list_versions("Late.Hash")[0],
        next(r for r in repository.all_records() if r.id == "Late.Hash"),
    ):
        assert (record.sha1, record.sha512) == (expected["sha1"], expected["sha512"])
    stored = committed_record(repository, "Late.Hash", "1.0.0")
    assert (stored.sha1, stored.sha512) == (expected["sha1"], expected["sha512"])


def test_push_thread_fills_late_hashes(repository, tmp_path) -> None:
    path = make_zip(tmp_path, "Late.Thread.1.0.0.zip", {"a.txt": b"thread"})
    started = []
    repository._hashes.start = started.append  # run it here, as the thread would
    result = repository.add_package(raw_upload(path, tmp_path), path.name)
    assert started == [result.record]
    filled = repository._hashes.complete(started[0])
    assert filled.sha512 == digests(path)["sha512"]
    assert not hashes_pending(committed_record(repository, "Late.Thread", "1.0.0"))


def test_overwritten_record_is_not_given_old_hashes(repository, tmp_path) -> None:
    first = make_zip(tmp_path, "Late.Over.1.0.0.zip", {"a.txt": b"one"})
    repository._hashes.start = lambda record: None
    pending = repository.add_package(raw_upload(first, tmp_path), first.name).record
    other = tmp_path / "other"
    other.mkdir()
    second = make_zip(other, "Late.Over.1.0.0.zip", {"a.txt": b"two"})
    repository.add_package(second, second.name, OverwriteMode.OVERWRITE_EXISTING)

    filled = repository._hashes.complete(pending)  # the old blob is gone: the new one counts
    expected = digests(second)
    assert (filled.sha1, filled.sha512) == (expected["sha1"], expected["sha512"])
    stored = committed_record(repository, "Late.Over", "1.0.0")
    assert stored.sha512 == expected["sha512"]
    assert replace(stored, published=filled.published) == replace(filled)


def test_catalog_queries_never_show_a_late_hash_empty(repository, backend, clock, tmp_path) -> None:
    path = make_zip(tmp_path, "Late.Search.1.0.0.zip", {"a.txt": b"search"})
    repository._hashes.start = lambda record: None
    repository.add_package(raw_upload(path, tmp_path), path.name)
    fresh = open_feed(backend.storage, FeedConfig(storage=backend.location, clock=clock))
    expected = digests(path)
    [entry] = [e for e in fresh.repository.id_entries() if e.key == "late.search"]
    [record] = entry.records()  # what search, v2 and v3 pages decode
    assert (record.sha1, record.sha512) == (expected["sha1"], expected["sha512"])
    total, [found] = fresh.repository.search("late.search")
    assert total == 1
    assert found.sha512 == expected["sha512"]
