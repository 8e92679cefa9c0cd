"""Errors in the user's own words (issue 14.7): JSON errors, file names, spellings, 404s, logs."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from pathlib import Path

import click
import pytest
import requests
from click.testing import CliRunner

from feed.core.config import FeedConfig
from packer.cli import main
from tests.feed.packages import make_zip
from tests.helpers.feed_server import running_feed


def octopack(*args: str) -> tuple[int, str, str]:
    """Run octopack in-process; return exit code, stdout and stderr."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["versions", "Bad Id!", "--server", "http://127.0.0.1:9"], 2),
        (["retention", "policy", "show", "--storage", "/etc/passwd"], 2),
        (["keys", "list"], 2),
        (["pin", "Acme.App", "1.0.0", "--server", "http://127.0.0.1:9", "--api-key", "x"], 1),
    ],
)
def test_json_mode_errors_are_one_document_on_stdout(args: list[str], code: int) -> None:
    exit_code, out, err = octopack(*args, "--output-format", "json")
    assert exit_code == code
    document = json.loads(out)
    assert set(document) == {"error", "exit_code"} and document["exit_code"] == code
    assert err.strip() == f"error: {document['error']}"


def test_push_of_a_bad_file_names_the_users_file(tmp_path: Path) -> None:
    bad = tmp_path / "Acme.Bad.1.0.0.zip"
    bad.write_bytes(b"PK\x03\x04" + b"not a zip" * 20)
    with running_feed(tmp_path / "store") as feed:
        code, out, err = octopack(
            "push", str(bad), "--server", feed.url, "--api-key", feed.admin_key
        )
    assert code == 1
    assert "octopack-upload" not in err and ".part" not in err
    assert "Acme.Bad.1.0.0.zip is not a valid zip archive" in err


def test_conflict_is_spelt_for_the_cli_and_for_http(tmp_path: Path) -> None:
    package = make_zip(tmp_path, "Acme.App.1.0.0.zip")
    with running_feed(tmp_path / "store") as feed:
        push = ["push", str(package), "--server", feed.url, "--api-key", feed.admin_key]
        assert octopack(*push)[0] == 0
        code, _, err = octopack(*push)
        with package.open("rb") as body:
            answer = requests.post(
                feed.url + "/api/packages/raw",
                files={"file": (package.name, body)},
                headers={"X-Octopus-ApiKey": feed.admin_key},
                timeout=10,
            )
    assert code == 1
    assert "--overwrite-mode overwrite-existing" in err and "overwriteMode=" not in err
    assert answer.status_code == 409
    assert "overwriteMode=OverwriteExisting" in answer.json()["ErrorMessage"]


def test_nuget_v3_404_for_a_zip_only_id_says_why(tmp_path: Path) -> None:
    package = make_zip(tmp_path, "Acme.Zip.1.0.0.zip")
    with running_feed(tmp_path / "store") as feed:
        feed.repository.add_package(package, package.name)
        for path in (
            "/v3/flatcontainer/acme.zip/index.json",
            "/v3/registration/acme.zip/index.json",
        ):
            answer = requests.get(feed.url + path, timeout=10)
            assert answer.status_code == 404
            message = answer.json()["ErrorMessage"]
            assert "exists only as zip" in message and "NuGet" in message, message
        unknown = requests.get(feed.url + "/v3/flatcontainer/acme.none/index.json", timeout=10)
        assert "is not in the feed" in unknown.json()["ErrorMessage"]


def test_retention_metavars_match_their_help_text() -> None:
    command = main.get_command(click.Context(main), "retention")
    letters = {p.name: p.metavar for p in command.params if isinstance(p, click.Option)}
    for option in command.params:
        if isinstance(option, click.Option) and option.metavar and len(option.metavar) == 1:
            assert re.search(rf"\b{option.metavar}\b", option.help or ""), (option.name, letters)


def test_scheduled_retention_logs_one_summary_line(tmp_path: Path, capsys) -> None:
    from feed.http.server import configure_logging
    from feed.retention.scheduler import RetentionScheduler
    from feed.services import open_feed
    from storage import open_storage

    feed = open_feed(open_storage(str(tmp_path / "store")), FeedConfig())
    repository = feed.repository
    repository.add_package(make_zip(tmp_path, "Acme.App.1.0.0.zip"), "Acme.App.1.0.0.zip")
    logger = logging.getLogger("feed")
    saved = (list(logger.handlers), logger.level)
    waits: list[float] = []
    try:
        configure_logging()
        scheduler = RetentionScheduler(
            repository,
            feed.retention,
            timedelta(minutes=1),
            owner="feed-1",
            wait=lambda s: bool(waits.append(s) or len(waits) > 1),
        )
        scheduler.start()
        scheduler.stop()
    finally:
        logger.handlers[:], logger.level = saved[0], saved[1]
    lines = [line for line in capsys.readouterr().err.splitlines() if "retention" in line]
    assert len(lines) == 1, lines
    assert re.search(
        r"scheduled retention job \S+ \(feed-1\): deleted 0, kept 1 of 1 versions$", lines[0]
    )
