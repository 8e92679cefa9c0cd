"""The real NuGet 2.x client (Debian's `nuget`, mono) against a feed on loopback.

Covers push, list (with and without -Prerelease, -AllVersions), install (latest and
-Version), delete (an unlist: still installable by exact version), with the source given
as the v2 URL and as the site root. Packages come from `octopack pack --format nupkg`.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.feed.http.nuget.nuget_client import NuGetRun, require_nuget, run_nuget
from tests.helpers.feed_server import ADMIN_KEY, RunningFeed, running_feed

PACKAGE = "Acme.Web"
VERSIONS = ("1.0.0", "1.1.0-beta", "2.0.0")


@pytest.fixture
def nuget() -> str:
    return require_nuget()


@pytest.fixture
def client_feed(tmp_path: Path) -> Iterator[RunningFeed]:
    with running_feed(tmp_path / "store") as feed:
        yield feed


def octopack_pack(source: Path, out: Path, version: str) -> Path:
    """Pack with the real command line, as a pipeline would."""
    command = [sys.executable, "-c", "from packer.cli import main; main()", "pack"]
    command += ["--id", PACKAGE, "--version", version, "--format", "nupkg"]
    command += ["--base-path", str(source), "--out-folder", str(out), "--description", "Web"]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return out / f"{PACKAGE}.{version}.nupkg"


@pytest.fixture
def packages(tmp_path: Path) -> Path:
    """A folder holding Acme.Web 1.0.0, 1.1.0-beta and 2.0.0 nupkgs."""
    source, out = tmp_path / "src", tmp_path / "packages"
    (source / "content").mkdir(parents=True)
    (source / "content" / "readme.txt").write_text("hello from octopack\n")
    for version in VERSIONS:
        octopack_pack(source, out, version)
    return out


def listed(run: NuGetRun) -> list[str]:
    """Return the `Id Version` lines of a list run."""
    assert run.returncode == 0, run.output
    return [line for line in run.lines() if line.startswith(PACKAGE + " ")]


@pytest.mark.parametrize("form", ["v2", "root"])
def test_nuget_client_round_trip(
    nuget: str, client_feed: RunningFeed, packages: Path, tmp_path: Path, form: str
) -> None:
    source = client_feed.url + ("/api/v2/" if form == "v2" else "/")
    home, target = tmp_path / "home", tmp_path / "installed"
    home.mkdir()
    target.mkdir()

    def nuget_run(*args: str, cwd: Path = packages) -> NuGetRun:
        return run_nuget(nuget, list(args), cwd, home)

    for version in VERSIONS:
        pushed = nuget_run(
            "push", f"{PACKAGE}.{version}.nupkg", "-Source", source, "-ApiKey", ADMIN_KEY
        )
        assert pushed.returncode == 0 and "Your package was pushed" in pushed.output, pushed.output
    if form == "v2":
        duplicate = nuget_run(
            "push", f"{PACKAGE}.2.0.0.nupkg", "-Source", source, "-ApiKey", ADMIN_KEY
        )
        assert duplicate.returncode != 0, duplicate.output
        assert "409" in duplicate.output or "Conflict" in duplicate.output, duplicate.output

    assert listed(nuget_run("list", "-Source", source)) == [f"{PACKAGE} 2.0.0"]
    every = listed(nuget_run("list", "-Source", source, "-AllVersions", "-Prerelease"))
    assert every == [f"{PACKAGE} {v}" for v in VERSIONS]
    if form == "v2":
        stable = listed(nuget_run("list", "-Source", source, "-AllVersions"))
        assert stable == [f"{PACKAGE} 1.0.0", f"{PACKAGE} 2.0.0"]
        assert listed(nuget_run("list", "web", "-Source", source, "-Prerelease")) == [
            f"{PACKAGE} 2.0.0"
        ]

    if form == "v2":
        latest = nuget_run("install", PACKAGE, "-Source", source, cwd=target)
        assert latest.returncode == 0, latest.output
        assert (
            target / f"{PACKAGE}.2.0.0" / "content" / "readme.txt"
        ).read_text() == "hello from octopack\n"
    pinned = nuget_run("install", PACKAGE, "-Version", "1.0.0", "-Source", source, cwd=target)
    assert pinned.returncode == 0, pinned.output
    installed = target / f"{PACKAGE}.1.0.0" / f"{PACKAGE}.1.0.0.nupkg"
    assert installed.read_bytes() == (packages / f"{PACKAGE}.1.0.0.nupkg").read_bytes()

    deleted = nuget_run("delete", PACKAGE, "2.0.0", "-Source", source, "-ApiKey", ADMIN_KEY)
    assert deleted.returncode == 0 and "deleted successfully" in deleted.output, deleted.output
    assert client_feed.repository.get(PACKAGE, "2.0.0").listed is False
    assert listed(nuget_run("list", "-Source", source)) == [f"{PACKAGE} 1.0.0"]
    again = tmp_path / "again"
    again.mkdir()
    unlisted = nuget_run("install", PACKAGE, "-Version", "2.0.0", "-Source", source, cwd=again)
    assert unlisted.returncode == 0, unlisted.output
    assert (again / f"{PACKAGE}.2.0.0").is_dir()
