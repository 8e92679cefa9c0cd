"""The faulty proxy itself, and download paths a real feed never takes (Range ignored).

The upstream here is Python's own http.server on loopback: a real server that ignores
Range and sends no ETag, which is exactly the case the client must restart from zero on.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from packer.client.feed import FeedClient
from packer.model.errors import BadInput, OperationFailed
from tests.helpers.faulty_proxy import Fault, faulty_proxy

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def plain_server(tmp_path: Path) -> Iterator[str]:
    """Serve tmp_path/www over HTTP on a free loopback port; stopped at teardown."""
    root = tmp_path / "www"
    raw = root / "api" / "packages" / "packages-Plain.App.1.0.0"
    raw.mkdir(parents=True)
    (raw / "raw").write_bytes(PAYLOAD)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


RAW_PATH = "/api/packages/packages-Plain.App.1.0.0/raw"


def test_clean_connections_pass_bytes_through(plain_server: str) -> None:
    with faulty_proxy(plain_server) as proxy:
        body = requests.get(proxy.url + RAW_PATH, timeout=10).content
    assert body == PAYLOAD
    assert proxy.faults_applied == ["clean"]
    assert proxy.request_lines == [f"GET {RAW_PATH} HTTP/1.1"]


def test_cut_response_after_n_bytes_truncates_the_body(plain_server: str) -> None:
    with faulty_proxy(plain_server, [Fault.cut_response_after(5000)]) as proxy:
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.get(proxy.url + RAW_PATH, timeout=10).content  # noqa: B018
        assert requests.get(proxy.url + RAW_PATH, timeout=10).content == PAYLOAD
    assert proxy.faults_applied == ["cut_response", "clean"]


def test_answer_fault_replies_without_reaching_upstream(plain_server: str) -> None:
    with faulty_proxy(plain_server, [Fault.answer(503, retry_after=7)]) as proxy:
        response = requests.get(proxy.url + RAW_PATH, timeout=10)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert response.json()["ErrorMessage"] == "injected by the faulty proxy"


def test_stall_lets_the_client_timeout_fire(plain_server: str) -> None:
    with faulty_proxy(plain_server, [Fault.stall()]) as proxy:
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(proxy.url + RAW_PATH, timeout=(5, 0.3))
    assert proxy.faults_applied == ["stall"]


def test_download_restarts_from_zero_when_the_server_ignores_range(
    plain_server: str, tmp_path: Path
) -> None:
    sleeps: list[float] = []
    dest = tmp_path / "out" / "Plain.App.1.0.0.zip"
    expected = hashlib.sha256(PAYLOAD).hexdigest()
    with faulty_proxy(plain_server, [Fault.cut_response_after(300_000)]) as proxy:
        client = FeedClient(proxy.url, sleep=sleeps.append, timeout=10)
        result = client.download("Plain.App", "1.0.0", dest, expected_sha256=expected)
    assert dest.read_bytes() == PAYLOAD
    assert result.sha256 == expected and result.resumes == 1
    assert proxy.faults_applied == ["cut_response", "clean"]
    assert not dest.with_name(dest.name + ".part").exists()
    assert sleeps == []  # progress was made, so the resume is immediate


def test_download_with_the_wrong_hash_leaves_nothing(plain_server: str, tmp_path: Path) -> None:
    dest = tmp_path / "Plain.App.1.0.0.zip"
    client = FeedClient(plain_server, sleep=lambda _: None, timeout=10)
    with pytest.raises(OperationFailed, match="does not match the expected 0{64}"):
        client.download("Plain.App", "1.0.0", dest, expected_sha256="0" * 64)
    assert list(tmp_path.iterdir()) == [tmp_path / "www"]


def test_download_gives_up_after_the_retries(plain_server: str, tmp_path: Path) -> None:
    sleeps: list[float] = []
    dest = tmp_path / "Plain.App.1.0.0.zip"
    plan = [Fault.answer(503)] * 3
    with faulty_proxy(plain_server, plan) as proxy:
        client = FeedClient(proxy.url, retries=2, backoff=1, sleep=sleeps.append, timeout=10)
        with pytest.raises(OperationFailed, match=r"failed after 3 attempts: .* answered 503"):
            client.download("Plain.App", "1.0.0", dest, expected_sha256="0" * 64)
    assert sleeps == [1, 2]
    assert not dest.exists() and not dest.with_name(dest.name + ".part").exists()


def test_download_into_an_unwritable_place_is_bad_input(plain_server: str, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    client = FeedClient(plain_server, sleep=lambda _: None, timeout=10)
    with pytest.raises(BadInput, match="cannot write .*file/sub/x.zip.part"):
        client.download("Plain.App", "1.0.0", blocker / "sub" / "x.zip")
    assert blocker.read_text() == "a file, not a folder"
