"""What a stored version carries: deploy scripts and octopack.toml, read without the whole blob."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from feed.core import contents
from feed.core.config import FeedConfig
from feed.services import open_feed
from tests.feed.packages import make_nupkg, make_targz, make_zip

MANIFEST = b"""[process]
scripts = "deploy"
substitute = ["app/*.json"]

[variables]
Greeting = "hello"

[environments.Production.variables]
Greeting = "hi"

[health]
command = "curl -f http://localhost/health"
attempts = 3
"""


@pytest.fixture
def repository(backend, clock):
    """A repository over each backend."""
    return open_feed(backend.storage, FeedConfig(storage="test", clock=clock)).repository


def test_zip_root_scripts_and_no_manifest(repository, tmp_path) -> None:
    files = {"Deploy.sh": b"echo", "PreDeploy.py": b"", "app/Deploy.sh": b"", "notes.txt": b""}
    path = make_zip(tmp_path, "Acme.Web.1.0.0.zip", files)
    record = repository.add_package(path, path.name).record
    found = repository.read_contents(record)
    assert found.scripts == ("Deploy.sh", "PreDeploy.py")  # below the root does not run
    assert found.manifest is None and found.manifest_text is None and found.problem is None


@pytest.mark.parametrize("builder", [make_zip, make_targz])
def test_manifest_names_the_scripts_folder(repository, tmp_path, builder) -> None:
    files = {
        "octopack.toml": MANIFEST,
        "deploy/Deploy.sh": b"echo",
        "deploy/PostDeploy.ps1": b"",
        "Deploy.sh": b"",
        "app/settings.json": b"{}",
    }
    ext = "zip" if builder is make_zip else "tar.gz"
    path = builder(tmp_path, f"Acme.Web.2.0.0.{ext}", files)
    record = repository.add_package(path, path.name).record
    found = repository.read_contents(record)
    assert found.scripts == ("deploy/Deploy.sh", "deploy/PostDeploy.ps1")
    assert found.manifest is not None and found.manifest.substitute == ("app/*.json",)
    assert found.manifest.health is not None and found.manifest.health.attempts == 3
    assert found.manifest_text == MANIFEST.decode()


def test_a_broken_manifest_is_named_with_its_line(repository, tmp_path) -> None:
    files = {"octopack.toml": b"[process]\nscripts = 3\n", "Deploy.sh": b""}
    path = make_zip(tmp_path, "Acme.Web.1.0.1.zip", files)
    found = repository.read_contents(repository.add_package(path, path.name).record)
    assert found.problem == "octopack.toml:2: scripts must be a folder name in quotes"
    assert found.manifest is None and found.scripts == ("Deploy.sh",)


def test_a_manifest_over_the_limit_is_not_read(backend, clock, tmp_path) -> None:
    config = FeedConfig(storage="test", clock=clock, max_nuspec_bytes=64)
    repository = open_feed(backend.storage, config).repository
    path = make_zip(tmp_path, "Acme.Web.1.0.2.zip", {"octopack.toml": b"#" * 65})
    found = repository.read_contents(repository.add_package(path, path.name).record)
    assert found.problem == "octopack.toml is over 64 bytes"


def test_nupkg_has_no_scripts(repository, tmp_path) -> None:
    path = make_nupkg(tmp_path, "Acme.Lib.3.1.0.nupkg", "Acme.Lib", "3.1.0")
    found = repository.read_contents(repository.add_package(path, path.name).record)
    assert found.scripts == () and found.problem is None


def test_a_big_zip_is_read_by_ranges_not_whole(disk_backend, clock, tmp_path) -> None:
    repository = open_feed(disk_backend.storage, FeedConfig(storage="t", clock=clock)).repository
    filler = os.urandom(4 * 1024 * 1024)  # stored, incompressible: the blob is over 4 MiB
    files = {"app/blob.bin": filler, "deploy/Deploy.sh": b"echo", "octopack.toml": MANIFEST}
    path = make_zip(tmp_path, "Acme.Big.1.0.0.zip", files)
    record = repository.add_package(path, path.name).record
    read: list[int] = []
    opener = repository.open_download

    def counting(start: int, end: int):
        read.append(end - start + 1)
        return opener(record, start, end)

    found = contents._read(record, counting, 1024 * 1024)
    assert found.scripts == ("deploy/Deploy.sh",)
    assert found.manifest is not None
    assert sum(read) < record.size // 8, f"read {sum(read)} of {record.size} bytes"


def test_tars_over_the_scan_limit_are_not_streamed(repository, tmp_path, monkeypatch) -> None:
    path = make_targz(tmp_path, "Acme.Web.3.0.0.tar.gz", {"Deploy.sh": b"echo"})
    record = repository.add_package(path, path.name).record
    monkeypatch.setattr(contents, "TAR_SCAN_LIMIT", record.size - 1)
    found = contents._read(record, lambda s, e: repository.open_download(record, s, e), 1024)
    assert found.problem is not None and "not scanned" in found.problem
    assert found.scripts == ()


def test_answers_are_kept_per_blob(repository, tmp_path: Path) -> None:
    path = make_zip(tmp_path, "Acme.Web.4.0.0.zip", {"Deploy.sh": b"echo"})
    record = repository.add_package(path, path.name).record
    first = repository.read_contents(record)
    calls: list[tuple[int, int]] = []
    again = contents.read_contents(record, lambda s, e: calls.append((s, e)), 1024)
    assert again is first and calls == []
