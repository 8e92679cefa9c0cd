"""Retention never deletes what runs: current and previous per environment, the newest N
deployed (`--keep-deployed`), on disk and on S3; dry runs and the CLI show the rule."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner

from feed.retention.deployed import deployed_rules
from feed.retention.job import run_retention
from feed.retention.policy import Rules
from packer.cli import main
from tests.feed.retention.conftest import START, push, versions_of

VERSIONS = ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"]


def deploy(store, version, environment="Production", minute=0, status="succeeded", target="web"):
    """Report one deployment through the deployments store."""
    finished = (START + timedelta(minutes=minute)).isoformat()
    store.deployments.report(
        {
            "package_id": "Acme.Web",
            "version": version,
            "environment": environment,
            "target": target,
            "status": status,
            "started": finished,
            "finished": finished,
        }
    )


def fill(repository, folder, clock):
    for version in VERSIONS:
        push(repository, folder, "Acme.Web", version)
        clock.advance(days=1)


def decisions(report):
    return [(d.version, d.decision, d.rule) for d in report.decisions]


def test_current_and_previous_are_kept_under_keep_last_1(repository, store, clock, tmp_path):
    fill(repository, tmp_path, clock)
    deploy(store, "1.1.0", minute=1)
    deploy(store, "1.2.0", minute=2)
    deploy(store, "1.3.0", minute=3, status="failed")  # a failure keeps nothing
    report = run_retention(repository, store, actor="t", rules=Rules(keep_last=1))
    assert decisions(report) == [
        ("1.4.0", "kept", "latest stable"),
        ("1.3.0", "deleted", "beyond newest 1 stable"),
        ("1.2.0", "kept", "current in Production"),
        ("1.1.0", "kept", "previous in Production (rollback)"),
        ("1.0.0", "deleted", "beyond newest 1 stable"),
    ]
    assert versions_of(repository, "Acme.Web") == ["1.4.0", "1.2.0", "1.1.0"]
    # versions pushed meanwhile are deleted as before, while what runs stays
    for version in ("1.5.0", "1.6.0"):
        push(repository, tmp_path, "Acme.Web", version)
        clock.advance(days=1)
    report = run_retention(repository, store, actor="t", rules=Rules(keep_last=1))
    assert [d.version for d in report.deleted] == ["1.5.0", "1.4.0"]
    assert versions_of(repository, "Acme.Web") == ["1.6.0", "1.2.0", "1.1.0"]


def test_keep_deployed_and_several_environments(repository, store, clock, tmp_path):
    fill(repository, tmp_path, clock)
    for minute, version in enumerate(["1.0.0", "1.1.0", "1.2.0"], 1):
        deploy(store, version, minute=minute)
    deploy(store, "1.3.0", environment="Test", minute=5)
    rules = Rules(keep_last=0, keep_deployed=3)
    report = run_retention(repository, store, actor="t", rules=rules, dry_run=True)
    assert decisions(report) == [
        ("1.4.0", "kept", "latest stable"),
        ("1.3.0", "kept", "current in Test"),
        ("1.2.0", "kept", "current in Production"),
        ("1.1.0", "kept", "previous in Production (rollback)"),
        ("1.0.0", "kept", "newest 3 deployed in Production"),
    ]
    report = run_retention(repository, store, actor="t", rules=Rules(keep_last=0), dry_run=True)
    assert ("1.0.0", "deleted", "beyond newest 0 stable") in decisions(report)


def test_a_version_kept_in_two_environments_names_both() -> None:
    states = [
        {"environment": "Test", "current": {"version": "1.0"}, "previous": None,
         "succeeded": ["1.0"]},
        {"environment": "Production", "current": {"version": "1.0.0"}, "previous": None,
         "succeeded": ["1.0.0"]},
    ]  # fmt: skip
    assert deployed_rules(states, None) == {"1.0.0": "current in Production, current in Test"}


def test_the_cli_dry_run_prints_the_rules(repository, store, storage, clock, tmp_path):
    if not hasattr(storage, "root"):
        return  # the CLI reaches S3 through its own client; the disk run shows the text
    fill(repository, tmp_path, clock)
    deploy(store, "1.1.0", minute=1)
    deploy(store, "1.2.0", minute=2)
    where = ["--storage", str(storage.root), "--keep-last", "1", "--dry-run"]
    result = CliRunner().invoke(main, ["retention", *where])
    assert result.exit_code == 0, result.output
    assert "Acme.Web 1.2.0: kept: current in Production" in result.stdout
    assert "Acme.Web 1.1.0: kept: previous in Production (rollback)" in result.stdout
    assert "Acme.Web 1.0.0: deleted: beyond newest 1 stable" in result.stdout
    result = CliRunner().invoke(
        main, ["retention", *where, "--keep-deployed", "0", "--output-format", "json"]
    )
    assert result.exit_code == 0, result.output
    rules = {d["version"]: d["rule"] for d in json.loads(result.stdout)["decisions"]}
    assert rules["1.1.0"] == "previous in Production (rollback)"  # always kept
