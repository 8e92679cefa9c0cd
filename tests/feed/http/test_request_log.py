"""`octopack serve --log-format json`: one JSON object per access and audit line, naming the
key (never the key itself), the route template, the package and the version."""

from __future__ import annotations

import json
import os
import time

import pytest
import requests

from feed.http.logformat import JsonFormatter, TextFormatter
from tests.feed.packages import make_zip
from tests.helpers.feed_server import ADMIN_KEY, feed_process

ADMIN = {"X-Octopus-ApiKey": ADMIN_KEY}
FIELDS = {"time", "method", "route", "status", "bytes", "duration", "key", "package", "version"}
pytestmark = pytest.mark.slow  # a real gunicorn process


def _lines(feed, wanted: int) -> list[dict]:
    """Read the JSON lines of the serve log once `wanted` access lines are there."""
    for _ in range(200):  # the log is written after the answer: poll briefly, bounded
        lines = feed.stderr().splitlines()
        documents = [json.loads(line) for line in lines if line.startswith("{")]
        if sum(d.get("log") == "access" for d in documents) >= wanted:
            return documents
        time.sleep(0.05)
    raise AssertionError(f"fewer than {wanted} access lines:\n{feed.stderr()}")


def test_json_access_and_audit_lines(tmp_path) -> None:
    package = make_zip(tmp_path, "Acme.Logged.1.2.3.zip")
    env = {"OCTOPACK_LOG_FORMAT": "json"}
    with feed_process(str(tmp_path / "store"), env={**os.environ, **env}) as feed:
        with package.open("rb") as stream:
            pushed = requests.post(
                f"{feed.url}/api/packages/raw?apikey={ADMIN_KEY}",
                files={"file": (package.name, stream)},
                timeout=30,
            )
        assert pushed.status_code == 201
        raw = requests.get(f"{feed.url}/api/packages/packages-Acme.Logged.1.2.3/raw", timeout=10)
        assert raw.status_code == 200
        documents = _lines(feed, wanted=3)  # /health (startup), push, download
        assert ADMIN_KEY not in feed.stderr()
    access = [d for d in documents if d.get("log") == "access"]
    assert all(FIELDS <= set(d) for d in access)
    push_line = next(d for d in access if d["method"] == "POST")
    assert push_line["route"] == "/api/packages/raw"
    assert (push_line["status"], push_line["package"], push_line["version"]) == (
        201,
        "Acme.Logged",
        "1.2.3",
    )
    assert push_line["key"] and push_line["duration"] >= 0
    download = next(d for d in access if d["route"] == "/api/packages/<ref>/raw")
    assert (download["bytes"], download["package"], download["key"]) == (
        package.stat().st_size,
        "Acme.Logged",
        None,  # an anonymous read on a public feed
    )
    audit = [d for d in documents if d.get("log") == "audit"]
    assert [(d["method"], d["package"], d["version"]) for d in audit] == [
        ("POST", "Acme.Logged", "1.2.3")
    ]


def test_a_bad_log_format_stops_the_start(tmp_path) -> None:
    env = {**os.environ, "OCTOPACK_LOG_FORMAT": "xml"}
    with pytest.raises(RuntimeError, match="log format 'xml' is not one of text, json"):
        with feed_process(str(tmp_path / "store"), env=env):
            pass


def test_formatters_write_one_line_with_the_fields() -> None:
    import logging

    fields = {"method": "GET", "route": "/health", "path": "/health", "status": 200}
    fields |= {"bytes": 15, "duration": 0.002, "key": "ci", "package": None, "version": None}
    record = logging.LogRecord(
        "feed.access", logging.INFO, __file__, 1, "GET /health 200", (), None
    )
    record.fields = fields
    document = json.loads(JsonFormatter().format(record))
    assert document["log"] == "access" and document["status"] == 200 and document["key"] == "ci"
    assert document["time"].endswith("+00:00")
    text = TextFormatter().format(record)
    assert "\n" not in text and text.endswith("GET /health 200 15B 2.0ms key=ci")
