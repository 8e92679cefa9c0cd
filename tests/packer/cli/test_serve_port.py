"""`serve` checks its port before anything else (issue 14.2).

A port in use exits 1 with `port N is in use` and creates no key; an invalid port exits 2;
"listening" is printed only once the socket is bound and the feed answers.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import requests

from tests.helpers.feed_server import feed_process, free_port
from tests.packer.cli.cli_process import run


def test_port_in_use_exits_1_before_any_key_is_made(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run(["serve", "--port", str(port), "--storage", str(store)])
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: port {port} is in use on 127.0.0.1: stop what holds it or pick another --port"
    ]
    assert "listening" not in result.stderr and "API key" not in result.stdout
    assert not store.exists()  # no storage touched, no key stored


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
def test_invalid_port_exits_2(port: str, tmp_path: Path) -> None:
    result = run(["serve", "--port", port, "--storage", str(tmp_path / "store")])
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "listening" not in result.stderr
    assert "--port" in result.stderr


def test_invalid_port_from_the_environment_exits_2(tmp_path: Path) -> None:
    result = run(
        ["serve", "--storage", str(tmp_path / "store")], {**os.environ, "OCTOPACK_PORT": "99999"}
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: port 99999 is not a TCP port (1-65535)"


def test_listening_is_printed_once_the_feed_answers(tmp_path: Path) -> None:
    port = free_port()
    with feed_process(str(tmp_path / "store"), port=port) as feed:
        assert requests.get(feed.url + "/health", timeout=10).ok
        lines = [line for line in feed.stderr().splitlines() if "listening" in line]
        assert lines == [
            f"octopack feed listening on http://127.0.0.1:{port}, storing in {tmp_path / 'store'}"
        ]
