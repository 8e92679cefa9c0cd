"""The catalog (index/catalog/ shards of per-package summaries) follows every record change,
answers feed-wide queries exactly as the records do, costs the same few storage calls at any
feed size, and a stale summary left by a killed writer is found and rebuilt by fsck."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from feed.core.catalog import CATALOG_PREFIX, COMPLETE_KEY, SHARD_COUNT, shard_of
from feed.core.config import FeedConfig
from feed.maintenance.fsck import fsck
from feed.services import open_feed
from packer.model.conventions import OverwriteMode
from tests.feed.core.search_reference import search_records
from tests.feed.packages import make_zip


def clock() -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC)


def services_on(backend):
    return open_feed(backend.storage, FeedConfig(storage=backend.location, clock=clock))


def push(repository, tmp_path: Path, package_id: str, version: str, body: bytes = b"x", mode=None):
    folder = tmp_path / f"{package_id}-{version}-{body.hex()}"
    folder.mkdir()
    name = f"{package_id}.{version}.zip"
    path = make_zip(folder, name, {"a.txt": body})
    return repository.add_package(path, name, mode or OverwriteMode.FAIL_IF_EXISTS)


def from_records(repository) -> list:
    """Every record as listing and reading the records gives it (the slow, true answer)."""
    return sorted((r for r, _ in repository.records_with_etags()), key=lambda r: (r.id, r.version))


def from_fresh_catalog(backend) -> list:
    """Every record as a new process (no memory) reads it from the catalog."""
    records = services_on(backend).repository.all_records()
    return sorted(records, key=lambda r: (r.id, r.version))


def test_summaries_follow_push_overwrite_unlist_and_delete(backend, tmp_path) -> None:
    repository = services_on(backend).repository
    push(repository, tmp_path, "Acme.Web", "1.0.0")
    push(repository, tmp_path, "Acme.Web", "2.0.0")
    push(repository, tmp_path, "Beta.Api", "1.0.0")
    assert from_fresh_catalog(backend) == from_records(repository)
    push(repository, tmp_path, "Acme.Web", "1.0.0", b"y", OverwriteMode.OVERWRITE_EXISTING)
    assert from_fresh_catalog(backend) == from_records(repository)
    repository.set_listed("Acme.Web", "2.0.0", False)
    assert [r.listed for r in from_fresh_catalog(backend) if r.version == "2.0.0"] == [False]
    repository.delete("Beta.Api", "1.0.0")
    assert from_fresh_catalog(backend) == from_records(repository)
    assert services_on(backend).repository.list_ids() == ["Acme.Web"]
    assert fsck(backend.storage, services_on(backend)).findings == []


def test_queries_answer_as_the_records_do(backend, tmp_path) -> None:
    repository = services_on(backend).repository
    for package_id, version in [("Acme.Web", "1.0.0"), ("Acme.Web", "1.1.0-beta"),
                                ("acme.tools", "3.0.0"), ("Beta.Api", "0.1.0")]:  # fmt: skip
        push(repository, tmp_path, package_id, version)
    repository.set_listed("Acme.Web", "1.0.0", False)
    fresh = services_on(backend).repository
    truth = from_records(repository)
    for text in (None, "acme", "API", "nothing"):
        for latest in (False, True):
            expected = search_records(truth, text, latest)
            assert fresh.search(text, latest, 0, 100) == (len(expected), expected)
    assert fresh.list_ids() == ["acme.tools", "Acme.Web", "Beta.Api"]


def test_a_stale_summary_is_found_and_rebuilt_by_fsck(backend, tmp_path) -> None:
    services = services_on(backend)
    assert services.repository.list_ids() == []  # the first query builds the catalog
    push(services.repository, tmp_path, "Acme.Web", "1.0.0")
    push(services.repository, tmp_path, "Acme.Web", "2.0.0")
    shard = shard_of("acme.web")
    before = backend.storage.read_record(shard)
    push(services.repository, tmp_path, "Acme.Web", "3.0.0")
    # A writer killed between its record and its summary: the shard as it was before.
    _, etag = backend.storage.read_record(shard)
    backend.storage.replace_record(shard, before[0], if_match=etag)
    stale = from_fresh_catalog(backend)
    assert [r.version for r in stale] == ["1.0.0", "2.0.0"]
    found = fsck(backend.storage, services_on(backend))
    assert [(f.kind, f.key) for f in found.findings] == [("stale-summary", shard)]
    assert "acme.web" in found.findings[0].detail and found.remaining == 1
    repaired = fsck(backend.storage, services_on(backend), repair=True)
    assert repaired.remaining == 0 and repaired.count("stale-summary", True) == 1
    assert fsck(backend.storage, services_on(backend)).findings == []
    assert from_fresh_catalog(backend) == from_records(services.repository)


def test_a_feed_older_than_the_catalog_gets_it_built_on_first_query(backend, tmp_path) -> None:
    repository = services_on(backend).repository
    push(repository, tmp_path, "Acme.Web", "1.0.0")
    for info in list(backend.storage.list(CATALOG_PREFIX)):
        backend.storage.delete(info.key)
    assert services_on(backend).repository.list_ids() == ["Acme.Web"]
    assert backend.storage.stat(COMPLETE_KEY)


def test_storage_calls_per_query_do_not_grow_with_the_feed(disk_backend, tmp_path) -> None:
    repository = services_on(disk_backend).repository
    storage = disk_backend.storage

    def calls_of_first_search() -> int:
        fresh = services_on(disk_backend).repository  # a restarted process
        before = sum(storage.calls.values())
        fresh.search("acme", True, 0, 10)
        return sum(storage.calls.values()) - before

    push(repository, tmp_path, "Acme.A", "1.0.0")
    small = calls_of_first_search()
    for n in range(40):
        push(repository, tmp_path, f"Acme.P{n}", "1.0.0")
    large = calls_of_first_search()
    assert large <= SHARD_COUNT + 3  # one listing, the marker, a read per shard
    assert small <= large
    again = services_on(disk_backend).repository
    again.search("acme")
    before = sum(storage.calls.values())
    push(repository, tmp_path, "Acme.P0", "2.0.0")
    pushed = sum(storage.calls.values())
    again.search("acme")
    assert sum(storage.calls.values()) - pushed == 2  # the listing and the one changed shard
    assert pushed > before


@pytest.mark.parametrize("package_id", ["Acme.Web"])
def test_a_lost_summary_write_keeps_the_push(backend, tmp_path, package_id, monkeypatch) -> None:
    from feed.core import catalog
    from feed.core.errors import PackageConflict

    repository = services_on(backend).repository

    def refuse(self, id_lower):
        raise PackageConflict("catalog shard kept changing")

    monkeypatch.setattr(catalog.Catalog, "changed", refuse)
    assert push(repository, tmp_path, package_id, "1.0.0").status == "created"
    monkeypatch.undo()
    found = fsck(backend.storage, services_on(backend))
    assert [f.kind for f in found.findings] == ["stale-summary"]
