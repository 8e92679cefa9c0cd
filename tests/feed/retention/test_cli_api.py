"""`octopack retention|pin|unpin` against a storage and against a running feed's admin API."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests
from click.testing import CliRunner

from feed.core.config import FeedConfig
from feed.services import open_feed
from packer.cli import main
from storage.s3 import S3Storage
from tests.feed.retention.conftest import push, versions_of
from tests.helpers.clock import FixedClock
from tests.helpers.feed_server import running_feed

DISK_ONLY = pytest.mark.parametrize("storage", ["disk"], indirect=True)  # no backend specifics
PAST = datetime(2026, 1, 1, tzinfo=UTC)  # before the real clock the --storage CLI uses
VERSIONS = ["1.0.0", "1.1.0", "1.2.0", "2.0.0-beta.1", "2.0.0-beta.2", "2.0.0-rc.1"]


def location_of(storage, monkeypatch) -> str:
    """Return the --storage location of a test storage (S3: point boto3 at moto)."""
    if isinstance(storage, S3Storage):
        endpoint = storage.client.meta.endpoint_url
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
        return f"s3://{storage.bucket}/{storage.prefix.rstrip('/')}"
    return str(storage.root)


@pytest.fixture
def feed(storage, tmp_path):
    """A feed on the test storage with two packages published in the past."""
    clock = FixedClock(PAST)
    repository = open_feed(storage, FeedConfig(clock=clock)).repository
    for package_id in ("Acme.Web", "Tools"):
        for text in VERSIONS:
            push(repository, tmp_path, package_id, text)
            clock.advance(hours=1)
    clock.now = datetime(2026, 1, 10, tzinfo=UTC)
    with running_feed(storage, clock=clock) as running:
        yield running


def cli(*args: str, env: dict[str, str] | None = None):
    """Run octopack in-process and return the result."""
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_storage_and_server_give_the_same_decisions(feed, monkeypatch):
    where = location_of(feed.storage, monkeypatch)
    rules = ["--keep-last", "1", "--keep-prerelease", "1", "--prerelease-group-labels", "1"]
    direct = cli("retention", "--storage", where, *rules, "--dry-run", "--output-format", "json")
    remote = cli(
        "retention",
        "--server",
        feed.url,
        "--api-key",
        feed.admin_key,
        *rules,
        "--dry-run",
        "--output-format",
        "json",
    )
    assert direct.exit_code == 0, direct.output
    assert remote.exit_code == 0, remote.output
    left, right = json.loads(direct.stdout), json.loads(remote.stdout)
    assert left["decisions"] == right["decisions"]
    assert left["dry_run"] is True
    assert {"id": "Acme.Web", "version": "2.0.0-beta.1", "decision": "deleted"}.items() <= next(
        d for d in left["decisions"] if d["version"] == "2.0.0-beta.1"
    ).items()
    assert next(d for d in left["decisions"] if d["version"] == "2.0.0-rc.1")["rule"] == (
        "newest 1 prerelease in group rc"
    )
    assert len(versions_of(feed.repository, "Acme.Web")) == 6  # dry runs delete nothing


def test_text_report_names_every_version_and_the_rule(feed):
    result = cli(
        "retention", "--server", feed.url, "--api-key", feed.admin_key, "--keep-last", "2",
        "--package", "acme.*",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "Acme.Web 2.0.0-rc.1: kept: no prerelease rule",
        "Acme.Web 2.0.0-beta.2: kept: no prerelease rule",
        "Acme.Web 2.0.0-beta.1: kept: no prerelease rule",
    ]
    assert "Acme.Web 1.0.0: deleted: beyond newest 2 stable" in lines
    assert lines[-1].startswith("deleted 1 of 6 versions (job 20260110T000000Z-")
    assert versions_of(feed.repository, "Acme.Web")[-1] == "1.1.0"
    assert len(versions_of(feed.repository, "Tools")) == 6  # --package limited the run
    audit = requests.get(
        feed.url + "/api/octopack/retention/audit", headers={"X-Octopus-ApiKey": feed.admin_key}
    ).json()["entries"]
    assert audit[0]["actor"] == "key config-1"
    assert audit[0]["versions"][0]["rule"] == "beyond newest 2 stable"


@pytest.mark.parametrize("target", ["storage", "server"])
def test_policy_and_pins_through_either_target(feed, monkeypatch, target):
    if target == "storage":
        where = ["--storage", location_of(feed.storage, monkeypatch)]
    else:
        where = ["--server", feed.url, "--api-key", feed.admin_key]
    set_default = cli("retention", "policy", "set", *where, "--keep-last", "1")
    assert set_default.exit_code == 0, set_default.output
    assert set_default.stdout == "default: --keep-last 1\n"
    override = cli(
        "retention", "policy", "set", *where, "--package", "Tools", "--keep-days", "3",
        "--output-format", "json",
    )  # fmt: skip
    assert json.loads(override.stdout) == {
        "default": {"keep_last": 1},
        "packages": {"Tools": {"keep_days": 3}},
    }
    pinned = cli("pin", "acme.web", "1.0", *where)
    assert pinned.exit_code == 0, pinned.output
    assert pinned.stdout == "pinned Acme.Web 1.0.0\n"
    shown = cli("retention", "policy", "show", *where, "--output-format", "json")
    document = json.loads(shown.stdout)
    assert document["pins"][0]["id"] == "Acme.Web"
    assert document["pins"][0]["pinned_by"].startswith("key " if target == "server" else "cli on ")
    run = cli("retention", *where, "--output-format", "json")
    decided = {(d["id"], d["version"]): d["rule"] for d in json.loads(run.stdout)["decisions"]}
    assert decided[("Acme.Web", "1.0.0")] == "pinned"
    assert decided[("Acme.Web", "1.1.0")] == "beyond newest 1 stable"
    assert decided[("Tools", "1.0.0")] == "older than 3 days"
    assert versions_of(feed.repository, "Acme.Web") == [
        "2.0.0-rc.1",
        "2.0.0-beta.2",
        "2.0.0-beta.1",
        "1.2.0",
        "1.0.0",
    ]
    assert versions_of(feed.repository, "Tools") == ["1.2.0"]
    unpinned = cli("unpin", "Acme.Web", "1.0.0", *where)
    assert unpinned.stdout == "unpinned Acme.Web 1.0.0\n"
    cleared = cli("retention", "policy", "clear", *where, "--package", "tools")
    assert cleared.stdout == "default: --keep-last 1\n"
    cleared = cli("retention", "policy", "clear", *where)
    assert cleared.stdout == "default: (no rules: nothing is deleted)\n"


@DISK_ONLY
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["retention", "--keep-last", "-1"], 2, "-1 is not in the range x>=0"),
        (
            ["retention", "--prerelease-group-labels", "1"],
            2,
            "--prerelease-group-labels needs --keep-prerelease",
        ),
        (["retention", "--keep-last", "1", "--package", "a/b"], 2, "package pattern 'a/b'"),
        (["pin", "Acme.Web", "v1"], 2, "invalid version 'v1'"),
        (["pin", "Acme.Web", "9.9.9"], 1, "Acme.Web 9.9.9 is not in the feed"),
        (["unpin", "Acme.Web", "1.0.0"], 1, "Acme.Web 1.0.0 is not pinned"),
        (["retention", "policy", "set"], 2, "give at least one rule"),
        (["retention", "policy", "clear", "--package", "Nope"], 1, "no override for 'Nope'"),
    ],
)
def test_bad_input_is_named_and_changes_nothing(feed, args, code, message):
    before = sorted(i.key for i in feed.storage.list(""))
    where = ["--server", feed.url, "--api-key", feed.admin_key]
    result = cli(*args, *where)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert sorted(i.key for i in feed.storage.list("")) == before


def test_no_target_is_a_usage_error():
    result = cli("retention", "--dry-run", env={"OCTOPACK_SERVER": "", "OCTOPACK_API_KEY": ""})
    assert result.exit_code == 2
    assert "--storage LOCATION, or --server URL --api-key KEY" in result.stderr


@DISK_ONLY
def test_admin_api_needs_an_admin_key(feed):
    url = feed.url + "/api/octopack/retention/run"
    anonymous = requests.post(url, json={"keep_last": 0})
    assert anonymous.status_code == 401
    _, push_key = feed.app.extensions["octopack"].keys.create("push", "ci")
    pusher = requests.post(url, json={"keep_last": 0}, headers={"X-Octopus-ApiKey": push_key})
    assert pusher.status_code == 403
    assert "has scope push; this needs admin" in pusher.json()["ErrorMessage"]
    result = cli("retention", "--server", feed.url, "--api-key", push_key, "--keep-last", "0")
    assert result.exit_code == 1
    assert "answered 403" in result.stderr
    assert len(versions_of(feed.repository, "Acme.Web")) == 6


@DISK_ONLY
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"keep_lats": 1}, "unknown retention setting 'keep_lats'"),
        ({"keep_last": -1}, "--keep-last must be a whole number >= 0, got -1"),
        ({"keep_last": 1, "dry_run": "yes"}, "dry_run must be true or false"),
        ({"package": ["x"]}, "package must be an id or glob"),
    ],
)
def test_admin_api_refuses_bad_bodies_with_400(feed, body, message):
    answer = requests.post(
        feed.url + "/api/octopack/retention/run",
        json=body,
        headers={"X-Octopus-ApiKey": feed.admin_key},
    )
    assert answer.status_code == 400
    assert message in answer.json()["ErrorMessage"]
    assert len(versions_of(feed.repository, "Acme.Web")) == 6
