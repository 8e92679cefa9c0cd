"""The repository core directly: overwrite races, lookups by value, refusals that store nothing."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from feed.core.config import FeedConfig
from feed.core.errors import PackageNotFound, PackageRefused
from feed.services import open_feed
from packer.model.conventions import OverwriteMode
from tests.feed.conftest import stored_keys
from tests.feed.packages import digests, make_nupkg, make_zip


@pytest.fixture
def repository(backend, clock):
    return open_feed(backend.storage, FeedConfig(storage=backend.location, clock=clock)).repository


def test_parallel_overwrites_leave_one_record_and_only_its_blob(
    repository, backend, tmp_path
) -> None:
    paths = []
    for n in range(10):
        folder = tmp_path / str(n)
        folder.mkdir()
        paths.append(make_zip(folder, "Acme.Over.1.0.0.zip", {"n.txt": str(n).encode()}))
    repository.add_package(paths[0], paths[0].name)
    barrier = threading.Barrier(len(paths))

    def overwrite(path):
        barrier.wait()
        return repository.add_package(path, path.name, OverwriteMode.OVERWRITE_EXISTING).status

    with ThreadPoolExecutor(len(paths)) as pool:
        statuses = list(pool.map(overwrite, paths))
    assert statuses == ["overwritten"] * len(paths)
    final = repository.get("ACME.OVER", "1.0")
    assert final.sha256 in {digests(p)["sha256"] for p in paths}
    assert stored_keys(backend.storage, "packages/") == sorted(
        [final.blob, "packages/acme.over/1.0.0/package.json"]
    )
    with repository.open_download(final) as stream:
        assert digests_of(stream.read()) == final.sha256


def digests_of(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_stream_push_get_by_value_and_delete(repository, backend, tmp_path) -> None:
    path = make_zip(tmp_path, "Acme.S.2.0.zip")
    result = repository.add_package(io.BytesIO(path.read_bytes()), path.name)
    assert result.status == "created" and result.record.normalized_version == "2.0.0"
    assert repository.get("acme.s", "2.0.0.0").version == "2.0"
    assert [r.version for r in repository.list_versions("Acme.S")] == ["2.0"]
    assert repository.latest("Acme.S").version == "2.0"
    repository.delete("Acme.S", "2.0.0")
    with pytest.raises(PackageNotFound, match="Acme.S 2.0.0"):
        repository.get("Acme.S", "2.0.0")
    assert stored_keys(backend.storage) == []


def test_nupkg_identity_comes_from_the_nuspec(repository, tmp_path) -> None:
    path = make_nupkg(tmp_path, "whatever.nupkg", "Real.Id", "1.2.3-beta")
    record = repository.add_package(path, path.name).record
    assert (record.id, record.version, record.is_prerelease) == ("Real.Id", "1.2.3-beta", True)
    assert record.authors == ["Ann", "Bob"] and record.tags == ["web", "api"]
    assert repository.latest("Real.Id") is None
    assert repository.latest("Real.Id", include_prerelease=True).version == "1.2.3-beta"


def test_nuspec_with_a_bad_id_is_refused_and_nothing_stored(repository, backend, tmp_path) -> None:
    path = make_nupkg(tmp_path, "bad.nupkg", "bad id!", "1.0.0")
    with pytest.raises(PackageRefused, match="bad id!"):
        repository.add_package(path, path.name)
    assert stored_keys(backend.storage) == []


def test_unlisted_versions_hide_from_queries_but_resolve_exactly(repository, tmp_path) -> None:
    for version in ("1.0.0", "1.1.0"):
        folder = tmp_path / version
        folder.mkdir()
        path = make_zip(folder, f"Acme.U.{version}.zip")
        repository.add_package(path, path.name)
    repository.set_listed("Acme.U", "1.1.0", False)
    assert repository.latest("Acme.U").version == "1.0.0"
    assert repository.find_versions("Acme.U")[0] == 1
    assert repository.get("Acme.U", "1.1.0").listed is False
    assert [r.version for r in repository.list_versions("Acme.U")] == ["1.1.0", "1.0.0"]
