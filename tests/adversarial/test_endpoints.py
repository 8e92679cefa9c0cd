"""Every corpus case through every push endpoint of a real feed on loopback, and deploy --file.

A hostile case must get a 4xx naming the problem at each endpoint and exit 1 (2 for an id
the command line would also refuse) from `octopack deploy --file`; nothing may be stored,
nothing written outside the target, and the feed must stay healthy. An accepted case is
stored by every dialect that takes its format and deployed, and its release is checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from packer.archive.validator import folds_names
from packer.cli import main
from tests.adversarial.conftest import ENDPOINTS, record
from tests.adversarial.corpus import CASES, VERSION, Case
from tests.helpers.feed_server import RunningFeed, running_feed

OCTOPUS, NUGET_V3, NUGET_V2, DEPLOY = ENDPOINTS


@pytest.fixture
def feed(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A fresh feed on disk for one case: whatever it stores is that case's doing."""
    with running_feed(tmp_path / "store") as running:
        yield running


def _publish_url(feed: RunningFeed) -> str:
    """The v3 PackagePublish resource, as a NuGet client finds it."""
    index = requests.get(f"{feed.url}/v3/index.json", timeout=10).json()
    [url] = [r["@id"] for r in index["resources"] if r["@type"].startswith("PackagePublish")]
    return url


def _push(feed: RunningFeed, endpoint: str, path: Path) -> requests.Response:
    with path.open("rb") as stream:
        if endpoint == OCTOPUS:
            return requests.post(
                f"{feed.url}/api/packages/raw",
                files={"file": (path.name, stream)},
                headers={"X-Octopus-ApiKey": feed.admin_key},
                timeout=120,
            )
        url = _publish_url(feed) if endpoint == NUGET_V3 else f"{feed.url}/api/v2/package"
        return requests.put(
            url,
            files={"package": (path.name, stream)},
            headers={"X-NuGet-ApiKey": feed.admin_key},
            timeout=120,
        )


def _expected(case: Case, endpoint: str, fragment: str | None) -> str | None:
    """What an endpoint must refuse with (None: accept). NuGet dialects read every upload
    as a nupkg: a tar is no zip, an acceptable zip has no nuspec."""
    if endpoint == OCTOPUS or case.extension == "nupkg":
        return fragment
    if case.extension == "tar.gz":
        return "is not a valid zip archive"
    return fragment or "no .nuspec at its root"


def _snapshot(path: Path) -> dict[str, tuple[int, float]]:
    found = {}
    for item in path.rglob("*"):
        rel = item.relative_to(path).as_posix()
        if not rel.startswith(("target", "store")):
            info = item.lstat()
            found[rel] = (info.st_size, info.st_mtime)
    return found


def _stored(feed: RunningFeed) -> list[str]:
    """Every stored key but the feed's own index documents (queries may write those)."""
    return [info.key for info in feed.storage.list("") if not info.key.startswith("index/")]


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_case_at_every_endpoint(case: Case, feed: RunningFeed, tmp_path: Path) -> None:
    before = _snapshot(tmp_path)
    for number, endpoint in enumerate((OCTOPUS, NUGET_V3, NUGET_V2)):
        package_id = f"Adv{number}"
        path, fragment = case.write(tmp_path / f"drop{number}", package_id)
        expected = _expected(case, endpoint, fragment)
        stored_before = _stored(feed)
        response = _push(feed, endpoint, path)
        if expected is None:
            assert response.status_code == 201, (endpoint, response.text)
            record(case.name, endpoint, "accepted")
        else:
            assert 400 <= response.status_code < 500, (
                endpoint,
                response.status_code,
                response.text,
            )
            assert expected.lower() in response.text.lower(), (endpoint, response.text)
            assert _stored(feed) == stored_before, endpoint  # a refused push stores nothing
            record(case.name, endpoint, "refused")
        assert requests.get(f"{feed.url}/health", timeout=10).status_code == 200
    _deploy(case, tmp_path)
    after = _snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing changed outside
    assert all(k.startswith("drop") for k in set(after) - set(before)), set(after) - set(before)


def _deploy(case: Case, tmp_path: Path) -> None:
    """Deploy the case's package with the real CLI; check the outcome and what is left."""
    root = tmp_path / "target"
    root.mkdir()
    path, fragment = case.write(tmp_path / "drop-deploy", "AdvDeploy")
    if fragment is None and "collision" in case.name and folds_names(root):
        fragment = "on this file system"  # where names fold, the target refuses collisions
    args = ["deploy", "--file", str(path), "--root", str(root), "--output-format", "json"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    if fragment is None:
        assert result.exit_code == 0, result.output
        release = root / "AdvDeploy" / VERSION
        if case.check is not None:
            case.check(release)
        record(case.name, DEPLOY, "accepted")
        return
    allowed = (1, 2) if case.identity else (1,)
    assert result.exit_code in allowed, result.output
    assert fragment in result.stderr, result.stderr
    if result.exit_code == 1:
        assert json.loads(result.stdout)["directory"] is None
    assert {p.name for p in root.iterdir()} <= {".octopack"}  # no release, no temp dir
    record(case.name, DEPLOY, "refused")
