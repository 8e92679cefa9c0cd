"""Real `octopack serve` processes: shared storage, SIGKILL mid-upload, the first-start key."""

from __future__ import annotations

import random
import re
import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.feed.conftest import stored_keys
from tests.feed.packages import digests, make_zip
from tests.helpers.feed_server import ADMIN_KEY, feed_process, stop_process

ADMIN = {"X-Octopus-ApiKey": ADMIN_KEY}
pytestmark = pytest.mark.slow  # real gunicorn processes: seconds each


def _push(url: str, path: Path, **params: str) -> requests.Response:
    with path.open("rb") as stream:
        return requests.post(
            f"{url}/api/packages/raw",
            params=params,
            files={"file": (path.name, stream)},
            headers=ADMIN,
            timeout=30,
        )


def test_two_processes_see_each_others_changes_at_once(backend, tmp_path) -> None:
    first = make_zip(tmp_path, "Acme.Shared.1.0.0.zip", {"v": b"one"})
    (tmp_path / "b").mkdir()
    second = make_zip(tmp_path / "b", "Acme.Shared.1.0.0.zip", {"v": b"two"})
    with (
        feed_process(backend.location, env=backend.env, workers=2) as a,
        feed_process(backend.location, env=backend.env, workers=1) as b,
    ):
        versions = f"{b.url}/api/feeds/feeds-builtin/packages/versions?packageId=Acme.Shared"
        assert requests.get(versions, timeout=10).json()["TotalResults"] == 0
        assert _push(a.url, first).status_code == 201
        assert requests.get(versions, timeout=10).json()["TotalResults"] == 1

        assert _push(b.url, second, overwriteMode="OverwriteExisting").status_code == 200
        raw = requests.get(f"{a.url}/api/packages/packages-Acme.Shared.1.0.0/raw", timeout=10)
        assert raw.content == second.read_bytes()
        listed = requests.get(f"{a.url}/api/packages", timeout=10).json()["Items"]
        assert [i["Sha256"] for i in listed] == [digests(second)["sha256"]]

        gone = requests.delete(
            f"{a.url}/api/packages/packages-Acme.Shared.1.0.0", headers=ADMIN, timeout=10
        )
        assert gone.status_code == 200
        assert requests.get(versions, timeout=10).json()["TotalResults"] == 0


def _start_slow_upload(url: str, filename: str, body: bytes, sent: int) -> socket.socket:
    """Send the head and the first `sent` bytes of a multipart upload, then stall."""
    boundary = "octopack-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    parts = urlsplit(url)
    conn = socket.create_connection((parts.hostname, parts.port))
    request_head = (
        f"POST /api/packages/raw HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"X-Octopus-ApiKey: {ADMIN_KEY}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head) + len(body) + len(tail)}\r\n\r\n"
    ).encode()
    conn.sendall(request_head + head + body[:sent])
    return conn


def _wait_for_spooled_bytes(folder: Path) -> None:
    """Wait until the feed has written part of the upload to its spool folder."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(p.stat().st_size > 0 for p in folder.glob("octopack-upload-*")):
            return
        time.sleep(0.02)
    raise AssertionError(f"the feed never spooled any bytes into {folder}")


def test_sigkill_mid_upload_leaves_no_visible_package(backend, tmp_path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    noise = random.Random(5).randbytes(2 * 1024 * 1024)  # incompressible: the zip stays 2 MiB
    path = make_zip(tmp_path, "Acme.Half.1.0.0.zip", {"a.bin": noise})
    body = path.read_bytes()
    args = ("--upload-dir", str(spool))
    with feed_process(backend.location, env=backend.env, args=args) as feed:
        conn = _start_slow_upload(feed.url, path.name, body, len(body) // 2)
        try:
            _wait_for_spooled_bytes(spool)
            stop_process(feed.process, signal.SIGKILL)
        finally:
            conn.close()
    assert not [k for k in stored_keys(backend.storage) if k.endswith("package.json")]
    with feed_process(backend.location, env=backend.env) as again:
        assert requests.get(f"{again.url}/api/packages", timeout=10).json()["TotalResults"] == 0
        detail = requests.get(f"{again.url}/api/packages/packages-Acme.Half.1.0.0", timeout=10)
        assert detail.status_code == 404
        assert _push(again.url, path).status_code == 201  # nothing stale blocks the version


def test_first_start_prints_an_admin_key_once_and_stores_its_hash(disk_backend, tmp_path) -> None:
    with feed_process(disk_backend.location, api_keys=None) as feed:
        printed = re.findall(r"API-[A-Z2-7]{40}", feed.stdout())
        assert len(printed) == 1, feed.stdout()
        key = printed[0]
        response = requests.post(
            f"{feed.url}/api/packages/raw",
            files={"f": ("Acme.K.1.0.0.zip", make_zip(tmp_path, "x.zip").read_bytes())},
            headers={"X-Octopus-ApiKey": key},
            timeout=10,
        )
        assert response.status_code == 201
        assert "listening on http://127.0.0.1:" in feed.stderr()
    for info in disk_backend.storage.list("keys/"):
        assert key.encode() not in disk_backend.storage.read_record(info.key)[0]
    with feed_process(disk_backend.location, api_keys=None) as again:
        assert re.findall(r"API-[A-Z2-7]{40}", again.stdout()) == []


@pytest.mark.parametrize("workers", ["0"])
def test_serve_refuses_bad_options(workers, tmp_path) -> None:
    from click.testing import CliRunner

    from packer.cli import main

    result = CliRunner().invoke(main, ["serve", "--workers", workers, "--storage", str(tmp_path)])
    assert result.exit_code == 2 and "--workers 0" in result.output
    bad_size = CliRunner().invoke(main, ["serve", "--max-package-size", "lots"])
    assert bad_size.exit_code == 2 and "'lots'" in bad_size.output
