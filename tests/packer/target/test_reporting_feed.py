"""Deployment reports against real `octopack serve` processes, on disk and on moto S3.

Every deployment that ran against a feed is reported; a report that cannot be delivered
waits in the target's outbox and is delivered on the next run, exactly once.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.feed_server import ADMIN_KEY, stop_process
from tests.packer.cli.cli_process import ROOT
from tests.packer.target.packages import write_zip
from tests.packer.target.promotion_feed import (
    backend_for,
    deploy,
    deployed_version,
    environments,
    listed,
    octopack,
    outbox_files,
    push_app,
    served_feed,
)

REPORT_KEYS = {"id", "package_id", "version", "environment", "target", "status", "finished",
               "forced"}  # fmt: skip


@pytest.fixture(params=["disk", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path):
    return backend_for(request, tmp_path)


@pytest.fixture(params=["disk"])
def disk_backend(request: pytest.FixtureRequest, tmp_path: Path):
    return backend_for(request, tmp_path)


def test_reports_list_and_current_per_environment(backend, tmp_path):
    with served_feed(backend) as feed:
        push_app(feed.url, tmp_path / "pkgs", "Web.App", {"1.0.0": 0, "1.1.0": 0})
        root = tmp_path / "target"
        for version in ("1.0.0", "1.1.0"):
            result = deploy(feed.url, root, "Web.App", "Test", "--version", version,
                            "--target", "web-01")  # fmt: skip
            assert deployed_version(result) == version
        assert deployed_version(deploy(feed.url, root, "Web.App", "Production",
                                       "--version", "1.0.0", "--target", "web-01")) == "1.0.0"  # fmt: skip

        records = listed(feed.url, "Web.App", "--environment", "Test")
        assert [r["version"] for r in records] == ["1.1.0", "1.0.0"]  # newest first
        assert all(set(r) == REPORT_KEYS for r in records)
        assert {(r["status"], r["target"], r["forced"]) for r in records} == {
            ("succeeded", "web-01", False)
        }
        assert len(listed(feed.url, "Web.App")) == 3
        current = environments(feed.url)
        assert current["Test"]["Web.App"]["version"] == "1.1.0"
        assert current["Production"]["Web.App"]["version"] == "1.0.0"
        assert outbox_files(root) == []  # delivered, nothing waits


def test_two_targets_in_one_environment(disk_backend, tmp_path):
    with served_feed(disk_backend) as feed:
        push_app(feed.url, tmp_path / "pkgs", "Web.App", {"1.0.0": 0})
        for target in ("web-01", "web-02"):
            result = deploy(feed.url, tmp_path / target, "Web.App", "Production",
                            "--target", target)  # fmt: skip
            assert deployed_version(result) == "1.0.0"
        records = listed(feed.url, "Web.App", "--environment", "Production")
        assert sorted(r["target"] for r in records) == ["web-01", "web-02"]
        assert environments(feed.url)["Production"]["Web.App"]["targets"] == 2


def test_a_failed_deploy_is_reported_as_failed_and_current_stays(backend, tmp_path):
    with served_feed(backend) as feed:
        push_app(feed.url, tmp_path / "pkgs", "Web.App", {"1.0.0": 0, "2.0.0": 3})
        root = tmp_path / "target"
        assert deployed_version(deploy(feed.url, root, "Web.App", "Test", "--version", "1.0.0"))
        failed = deploy(feed.url, root, "Web.App", "Test", "--version", "2.0.0")
        assert failed.exit_code == 1
        records = listed(feed.url, "Web.App", "--environment", "Test")
        assert [(r["version"], r["status"]) for r in records] == [
            ("2.0.0", "failed"),
            ("1.0.0", "succeeded"),
        ]
        assert records[0]["target"]  # the host name by default
        assert environments(feed.url)["Test"]["Web.App"]["version"] == "1.0.0"


def _deploy_process(url: str, root: Path, *args: str) -> subprocess.Popen:
    """Start `octopack deploy` as its own process (the test stops the feed meanwhile)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("OCTOPACK_API_KEY", None)
    command = [sys.executable, "-c", "from packer.cli import main; main()", "deploy", "Gate.App",
               "--root", str(root), "--environment", "Test", "--server", url,
               "--api-key", ADMIN_KEY, "--target", "web-01", *args]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip


def _wait_for(path: Path, process: subprocess.Popen) -> None:
    """Wait until the deploy script has made `path` (it waits for us in turn)."""
    deadline = time.monotonic() + 120
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the deploy script never started"
        time.sleep(0.02)


def test_feed_stopped_before_the_report_then_outbox_delivered_once(backend, tmp_path):
    ready, go = tmp_path / "ready", tmp_path / "go"
    gate = f'#!/bin/sh\ntouch "{ready}"\nwhile [ ! -e "{go}" ]; do sleep 0.02; done\n'
    package = write_zip(tmp_path / "Gate.App.1.0.0.zip",
                        {"Deploy.sh": (gate.encode(), 0o755)})  # fmt: skip
    root = tmp_path / "target"
    with served_feed(backend) as feed:
        from packer.client.feed import FeedClient

        with FeedClient(feed.url, ADMIN_KEY) as client:
            assert client.push(package).ok
        port = int(feed.url.rsplit(":", 1)[1])
        process = _deploy_process(feed.url, root)
        _wait_for(ready, process)
        stop_process(feed.process)  # the deployment runs on; its report cannot go
        go.touch()
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err  # an undelivered report never fails a deploy
        assert "kept in" in out and "sent on the next run" in out  # progress goes to stdout
    waiting = outbox_files(root)
    assert len(waiting) == 1
    assert stat.S_IMODE(waiting[0].stat().st_mode) == 0o600
    report = json.loads(waiting[0].read_text())["report"]
    assert report["status"] == "succeeded" and report["package_id"] == "Gate.App"

    with served_feed(backend, port=port) as feed:  # the same feed, back on its address
        flushed = octopack("deployments", "--flush-outbox", "--root", root,
                           "--server", feed.url, "--api-key", ADMIN_KEY)  # fmt: skip
        assert flushed.exit_code == 0, flushed.output
        assert "delivered 1, rejected 0, kept 0" in flushed.output
        assert outbox_files(root) == []
        # the answer to a delivered report can be lost: the resend is stored once
        again = root / ".octopack" / "outbox" / f"{report['id']}.json"
        again.write_text(json.dumps({"server": feed.url, "report": report}))
        assert deployed_version(deploy(feed.url, root, "Gate.App", "Test", "--version", "1.0.0"))
        assert outbox_files(root) == []
        records = listed(feed.url, "Gate.App")
        assert [r["id"] for r in records].count(report["id"]) == 1
        assert len(records) == 2
        stored = [k for k in backend.storage.list("deployments/records/")]
        assert len(stored) == 2


def test_a_report_the_feed_refuses_moves_aside_once(disk_backend, tmp_path):
    root = tmp_path / "target"
    with served_feed(disk_backend) as feed:
        report = {"id": "6a0b8f5e-2d6c-4f1e-9a53-0c1d2e3f4a5b", "package_id": "No.Such",
                  "version": "1.0.0", "environment": "Test", "target": "web-01",
                  "status": "succeeded", "started": "2026-01-02T03:04:05Z",
                  "finished": "2026-01-02T03:04:06Z", "forced": False}  # fmt: skip
        outbox = root / ".octopack" / "outbox"
        outbox.mkdir(parents=True)
        (outbox / f"{report['id']}.json").write_text(json.dumps({"server": feed.url,
                                                                 "report": report}))  # fmt: skip
        args = ("deployments", "--flush-outbox", "--root", root, "--server", feed.url,
                "--api-key", ADMIN_KEY)  # fmt: skip
        first = octopack(*args)
        assert first.exit_code == 1
        assert "refused deployment report" in first.output and "No.Such" in first.output
        rejected = json.loads((outbox / "rejected" / f"{report['id']}.json").read_text())
        assert rejected["report"] == report and "400" in rejected["reason"]
        second = octopack(*args)
        assert second.exit_code == 0 and "refused" not in second.output
        assert listed(feed.url) == []


def test_deploy_file_reports_only_with_a_server(disk_backend, tmp_path):
    package = write_zip(tmp_path / "Web.App.1.0.0.zip", {"version.txt": (b"1.0.0", 0o644)})
    root = tmp_path / "target"
    with served_feed(disk_backend) as feed:
        push_app(feed.url, tmp_path / "pkgs", "Web.App", {"1.0.0": 0})
        offline = octopack("deploy", "--file", package, "--root", root, "--environment", "Test")
        assert offline.exit_code == 0, offline.output
        assert not (root / ".octopack" / "outbox").exists()
        assert listed(feed.url) == []
        online = octopack("deploy", "--file", package, "--root", root, "--environment", "Test",
                          "--server", feed.url, "--api-key", ADMIN_KEY, "--target", "lab-1")  # fmt: skip
        assert online.exit_code == 0, online.output
        assert [(r["version"], r["target"]) for r in listed(feed.url)] == [("1.0.0", "lab-1")]
