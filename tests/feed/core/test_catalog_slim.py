"""Catalog shards in two parts: queries read the slim header and decode the full records
of the ids they answer with only; shards of the older single-document format (octopack
f037e0e) are read as they are and rewritten in the new format by the next change."""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict

from feed.core.catalog import CATALOG_PREFIX, COMPLETE_KEY, shard_of
from feed.core.catalog_shard import decoded_ids
from feed.maintenance.fsck import fsck
from tests.feed.core.search_reference import search_records
from tests.feed.core.test_catalog import from_records, push, services_on


def shard_keys(storage) -> list[str]:
    return [i.key for i in storage.list(CATALOG_PREFIX) if i.key != COMPLETE_KEY]


def test_queries_decode_only_the_ids_they_answer_with(backend, tmp_path) -> None:
    repository = services_on(backend).repository
    for n in range(12):
        for version in ("1.0.0", "2.0.0-beta"):
            push(repository, tmp_path, f"Pkg.N{n:02d}", version)
    fresh = services_on(backend).repository
    before = decoded_ids()
    assert fresh.list_ids() == [f"Pkg.N{n:02d}" for n in range(12)]
    assert decoded_ids() == before  # ids and their order come from the slim part
    total, page = fresh.search(None, False, 3, 4)  # versions 3..6: ids N01, N02, N03
    assert total == 24
    assert [(r.id, r.version) for r in page] == [
        ("Pkg.N01", "1.0.0"), ("Pkg.N02", "2.0.0-beta"), ("Pkg.N02", "1.0.0"),
        ("Pkg.N03", "2.0.0-beta"),
    ]  # fmt: skip
    assert decoded_ids() - before == 3
    total, page = fresh.search("n1", True, 0, 1)
    assert (total, [r.id for r in page]) == (2, ["Pkg.N10"])
    assert decoded_ids() - before == 4


def test_old_format_shards_answer_and_are_rewritten_by_the_next_change(backend, tmp_path) -> None:
    repository = services_on(backend).repository
    for package_id, version in [("Acme.Web", "1.0.0"), ("Acme.Web", "1.10.0"),
                                ("acme.web", "1.9.0-rc"), ("Beta.Api", "0.1.0")]:  # fmt: skip
        push(repository, tmp_path, package_id, version)
    repository.set_listed("Acme.Web", "1.0.0", False)
    storage = backend.storage
    repository.list_ids()  # the first query marks the catalog complete, as on an old feed
    assert storage.stat(COMPLETE_KEY)
    truth = from_records(repository)
    by_id: dict[str, list[dict]] = {}
    for record in truth:
        by_id.setdefault(record.id.lower(), []).append(asdict(record))
    for key in shard_keys(storage):  # write every shard as octopack f037e0e did
        data, etag = storage.read_record(key)
        ids = {i: by_id[i] for i in json.loads(data[: data.index(b"\n")])["ids"]}
        for fields in ids.values():
            fields.sort(key=lambda d: d["normalized_version"].lower())
        old = json.dumps({"ids": ids}, separators=(",", ":"), sort_keys=True).encode()
        storage.replace_record(key, old, if_match=etag)
    old_shards = {k: storage.read_record(k)[0] for k in shard_keys(storage)}
    assert all(data.startswith(b'{"ids":') for data in old_shards.values()), old_shards
    upgraded = services_on(backend).repository
    for text in (None, "acme", "API"):
        for latest in (False, True):
            expected = search_records(truth, text, latest)
            assert upgraded.search(text, latest, 0, 100) == (len(expected), expected)
    assert upgraded.list_ids() == ["Acme.Web", "Beta.Api"]
    assert fsck(storage, services_on(backend)).findings == []
    assert all(storage.read_record(k)[0] == d for k, d in old_shards.items())  # read as they are
    push(upgraded, tmp_path, "Acme.Web", "3.0.0")
    new = {k: storage.read_record(k)[0] for k in shard_keys(storage)}
    assert new[shard_of("acme.web")].startswith(b'{"format":3,')
    for k, data in old_shards.items():
        assert k == shard_of("acme.web") or new[k] == data, (k, new[k][:80])
    fresh = services_on(backend).repository
    latest = fresh.search("acme", True, 0, 10)[1]
    assert [(r.id, r.version) for r in latest] == [("Acme.Web", "3.0.0")]
    assert fsck(storage, services_on(backend)).findings == []


def as_format_2(data: bytes) -> bytes:
    """Return a format-3 shard as format 2 wrote it (uncompressed summaries, one per line)."""
    cut = data.index(b"\n")
    header, body = json.loads(data[:cut]), data[cut + 1 :]
    lines = bytearray()
    for key in sorted(header["ids"]):
        slim = header["ids"][key]
        raw = zlib.decompress(body[slim[6] : slim[7]])
        slim[6:8] = [len(lines), len(lines) + len(raw)]
        lines += raw + b"\n"
    head = json.dumps({**header, "format": 2}, separators=(",", ":"), sort_keys=True)
    return head.encode() + b"\n" + bytes(lines)


def test_uncompressed_format_2_shards_answer_and_are_rewritten_compressed(
    backend, tmp_path
) -> None:
    repository = services_on(backend).repository
    for package_id, version in [("Acme.Web", "1.0.0"), ("Acme.Web", "2.0.0-rc"),
                                ("Beta.Api", "0.1.0"), ("Gamma.Db", "4.0.0")]:  # fmt: skip
        push(repository, tmp_path, package_id, version)
    storage = backend.storage
    repository.list_ids()  # the catalog is complete: readers do not rebuild it
    truth = from_records(repository)
    for key in shard_keys(storage):
        data, etag = storage.read_record(key)
        assert data.startswith(b'{"format":3,')
        storage.replace_record(key, as_format_2(data), if_match=etag)
    old_shards = {k: storage.read_record(k)[0] for k in shard_keys(storage)}
    reader = services_on(backend).repository
    for text in (None, "acme", "db"):
        expected = search_records(truth, text, False)
        assert reader.search(text, False, 0, 100) == (len(expected), expected)
    assert fsck(storage, services_on(backend)).findings == []
    push(reader, tmp_path, "Beta.Api", "0.2.0")
    new = {k: storage.read_record(k)[0] for k in shard_keys(storage)}
    assert new[shard_of("beta.api")].startswith(b'{"format":3,')
    for k, data in old_shards.items():
        assert k == shard_of("beta.api") or new[k] == data
    fresh = services_on(backend).repository
    assert [r.version for r in fresh.search("beta", False, 0, 10)[1]] == ["0.2.0", "0.1.0"]
    assert fresh.search("acme", False, 0, 10) == reader.search("acme", False, 0, 10)
    assert fsck(storage, services_on(backend)).findings == []
