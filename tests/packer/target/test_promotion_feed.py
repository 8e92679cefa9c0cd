"""Lifecycles and channels against a real `octopack serve` process and real deploys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.feed_server import ADMIN_KEY
from tests.packer.target.promotion_feed import (
    backend_for,
    deploy,
    deployed_version,
    listed,
    octopack,
    push_app,
    served_feed,
)

VERSIONS = {"1.0.0": 0, "1.1.0": 0, "2.0.0": 0, "2.1.0-beta.1": 0, "2.1.0-feature-login.3": 0}


@pytest.fixture(params=["disk", "s3"])
def feed(request: pytest.FixtureRequest, tmp_path: Path):
    with served_feed(backend_for(request, tmp_path)) as running:
        push_app(running.url, tmp_path / "pkgs", "Web.App", VERSIONS)
        yield running


def _admin(feed, *args: str):
    result = octopack(*args, "--server", feed.url, "--api-key", ADMIN_KEY)
    assert result.exit_code == 0, result.output
    return result


def test_lifecycle_selection_refusal_and_force(feed, tmp_path):
    _admin(feed, "lifecycle", "set", "Test,Production")
    shown = _admin(feed, "lifecycle", "show")
    assert "default: Test,Production" in shown.output
    test_root, prod_root = tmp_path / "test", tmp_path / "prod"

    nothing = deploy(feed.url, prod_root, "Web.App", "Production")
    assert nothing.exit_code == 1
    assert "succeeded deployment in Test" in nothing.stderr

    # the first phase takes any version; environments outside the lifecycle too
    assert deployed_version(deploy(feed.url, test_root, "Web.App", "Test", "--version", "1.1.0"))
    assert deployed_version(deploy(feed.url, tmp_path / "dev", "Web.App", "Dev")) == "2.0.0"

    # Production takes the newest version that passed Test, though 2.0.0 is newer
    assert deployed_version(deploy(feed.url, prod_root, "Web.App", "Production")) == "1.1.0"

    refused = deploy(feed.url, prod_root, "Web.App", "Production", "--version", "2.0.0")
    assert refused.exit_code == 1
    assert "Web.App 2.0.0 has no succeeded deployment in Test" in refused.stderr
    assert "--force" in refused.stderr

    forced = deploy(feed.url, prod_root, "Web.App", "Production", "--version", "2.0.0", "--force")
    assert deployed_version(forced) == "2.0.0"
    records = listed(feed.url, "Web.App", "--environment", "Production")
    assert [(r["version"], r["forced"]) for r in records] == [("2.0.0", True), ("1.1.0", False)]


def test_a_package_override_and_a_failed_test_deploy_do_not_promote(feed, tmp_path):
    _admin(feed, "lifecycle", "set", "Staging,Production", "--package", "Web.*")
    shown = json.loads(_admin(feed, "lifecycle", "show", "--output-format", "json").stdout)
    assert shown["default"] is None
    push_app(feed.url, tmp_path / "more", "Web.Broken", {"1.0.0": 4})
    failed = deploy(feed.url, tmp_path / "s", "Web.Broken", "Staging")
    assert failed.exit_code == 1
    refused = deploy(feed.url, tmp_path / "p", "Web.Broken", "Production")
    assert refused.exit_code == 1 and "in Staging" in refused.stderr
    _admin(feed, "lifecycle", "clear", "--package", "Web.*")
    assert deployed_version(deploy(feed.url, tmp_path / "p", "Web.App", "Production")) == "2.0.0"


def test_channels_by_range_and_by_tag(feed, tmp_path):
    _admin(feed, "channel", "set", "stable-1", "--range", "[1.0,2.0)", "--tag", "^$")
    _admin(feed, "channel", "set", "login", "--tag", "^feature-login", "--package", "Web.App")
    listing = _admin(feed, "channel", "list", "--output-format", "json")
    assert {c["name"] for c in json.loads(listing.stdout)["channels"]} == {"stable-1", "login"}

    versions = _admin(feed, "versions", "Web.App", "--channel", "login")
    assert versions.output.split() == ["2.1.0-feature-login.3"]
    versions = _admin(feed, "versions", "Web.App", "--channel", "stable-1")
    assert versions.output.split() == ["1.1.0", "1.0.0"]

    root = tmp_path / "target"
    assert deployed_version(deploy(feed.url, root, "Web.App", "Test", "--channel", "stable-1")) == "1.1.0"  # fmt: skip
    picked = deploy(feed.url, root, "Web.App", "Test", "--channel", "login")
    assert deployed_version(picked) == "2.1.0-feature-login.3"
    outside = deploy(feed.url, root, "Web.App", "Test", "--channel", "login", "--version", "2.0.0")
    assert outside.exit_code == 1 and "is not in channel login" in outside.stderr

    _admin(feed, "channel", "delete", "login")
    gone = deploy(feed.url, root, "Web.App", "Test", "--channel", "login")
    assert gone.exit_code == 1 and "no channel 'login'" in gone.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (("channel", "set", "bad", "--tag", "(unclosed"), "is not a regular expression"),
        (("channel", "set", "empty"), "needs a --range, a --tag, or both"),
        (("channel", "set", "r", "--range", "[2.0"), "range"),
        (("lifecycle", "set", "Test,Test"), "given more than once"),
        (("lifecycle", "set", "Test,"), "lifecycle phase ''"),
    ],
)
def test_bad_rules_exit_2_before_the_feed_is_asked(args, message):
    result = octopack(*args, "--server", "http://127.0.0.1:9", "--api-key", "x")
    assert result.exit_code == 2
    assert message in result.stderr


def test_lifecycle_and_channels_on_the_storage_directly(tmp_path):
    store = str(tmp_path / "store")
    for args in (("lifecycle", "set", "Test,Production", "--package", "Web.*"),
                 ("channel", "set", "beta", "--tag", "^beta")):  # fmt: skip
        result = octopack(*args, "--storage", store)
        assert result.exit_code == 0, result.output
    shown = json.loads(octopack("lifecycle", "show", "--storage", store,
                                "--output-format", "json").stdout)  # fmt: skip
    assert shown["default"] is None and "Web.*" in json.dumps(shown["packages"])
    assert "beta: --tag '^beta'" in octopack("channel", "list", "--storage", store).output
    assert octopack("channel", "delete", "beta", "--storage", store).exit_code == 0
    gone = octopack("channel", "delete", "beta", "--storage", store)
    assert gone.exit_code == 1 and "no channel 'beta'" in gone.stderr


def test_a_bad_target_name_exits_2(tmp_path):
    result = octopack("deploy", "Web.App", "--root", tmp_path, "--environment", "Test",
                      "--server", "http://127.0.0.1:9", "--target", "web/01")  # fmt: skip
    assert result.exit_code == 2 and "--target 'web/01'" in result.stderr
