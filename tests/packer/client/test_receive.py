"""The download pipeline (receive.py, writeback.py) against real servers on loopback.

A real gunicorn feed serves whole packages with sendfile: the client gets them byte-exact
through its reused buffers, refuses a blob corrupted on the feed's disk (leaving nothing),
and ranged reads still answer 206. Small servers check the paths the feed never takes:
a gzip-encoded body (requests decodes it) and a chunked one (no Content-Length).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from packer.archive.writeback import Writeback
from packer.client.feed import FeedClient
from packer.client.receive import BLOCK, DEPTH, BackgroundSha256, receive
from packer.client.transfer import PartFile, file_sha256
from packer.model.errors import OperationFailed
from tests.helpers.feed_server import ADMIN_KEY, feed_process
from tests.packer.client.conftest import make_package

BODY = os.urandom(3 * BLOCK + 12345)


def _blob_of(store: Path, size: int) -> Path:
    """The one stored file of `size` bytes under the feed's storage folder (the package blob)."""
    found = [p for p in store.rglob("*") if p.is_file() and p.stat().st_size == size]
    assert len(found) == 1, found
    return found[0]


def test_gunicorn_feed_download_is_byte_exact_and_a_corrupted_blob_is_refused(
    tmp_path: Path,
) -> None:
    package = make_package(tmp_path / "src", "Big.App.1.0.0.zip", size=(DEPTH + 4) * BLOCK + 999)
    store = tmp_path / "store"
    with feed_process(str(store)) as feed, FeedClient(feed.url, api_key=ADMIN_KEY) as client:
        assert client.push(package).status == "created"
        dest = tmp_path / "cache" / "Big.App.1.0.0.zip"
        seen: list[int] = []
        result = client.download("Big.App", "1.0.0", dest, progress=lambda d, t: seen.append(d))
        assert dest.read_bytes() == package.read_bytes()
        assert result.sha256 == file_sha256(package) and seen[-1] == package.stat().st_size
        raw = feed.url + "/api/packages/packages-Big.App.1.0.0/raw"
        ranged = requests.get(raw, headers={"Range": "bytes=1000-2999"}, timeout=30)
        assert ranged.status_code == 206 and ranged.content == package.read_bytes()[1000:3000]

        blob = _blob_of(store, package.stat().st_size)
        with open(blob, "r+b") as stored:  # same size, one byte flipped in the middle
            stored.seek(blob.stat().st_size // 2)
            byte = stored.read(1)
            stored.seek(-1, os.SEEK_CUR)
            stored.write(bytes([byte[0] ^ 0xFF]))
        again = tmp_path / "again" / "Big.App.1.0.0.zip"
        with pytest.raises(OperationFailed, match="does not match the expected"):
            client.download("Big.App", "1.0.0", again)
        assert list(again.parent.iterdir()) == []


def test_background_sha256_hashes_in_order_and_calls_back_after_each_block() -> None:
    hasher = BackgroundSha256(depth=2)
    blocks = [os.urandom(n) for n in (1, 70_000, BLOCK, 0, 5)]
    released: list[int] = []
    for number, block in enumerate(blocks):
        hasher.update(block, lambda number=number: released.append(number))
    assert hasher.hexdigest() == hashlib.sha256(b"".join(blocks)).hexdigest()
    assert released == list(range(len(blocks)))


def test_writeback_reports_an_fdatasync_failure_at_check() -> None:
    read_end, write_end = os.pipe()  # fdatasync cannot sync a pipe: EINVAL
    try:
        writeback = Writeback(write_end, every=10)
        writeback.wrote(4)
        writeback.check()  # nothing pending yet: no sync, no error
        writeback.wrote(10)
        with pytest.raises(OSError):
            writeback.check()
    finally:
        os.close(read_end)
        os.close(write_end)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        """Keep test output clean."""

    def do_GET(self) -> None:
        if self.path == "/gzip":
            packed = gzip.compress(BODY)
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(packed)))
            self.end_headers()
            self.wfile.write(packed)
            return
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(BODY), 300_000):
            piece = BODY[start : start + 300_000]
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def small_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("path", ["/gzip", "/chunked"])
def test_encoded_and_chunked_bodies_arrive_whole(
    small_server: str, path: str, tmp_path: Path
) -> None:
    part = PartFile(tmp_path / "body.part", max_bytes=len(BODY))
    with requests.get(small_server + path, stream=True, timeout=30) as response:
        receive(response, part)
    part.finish()
    assert (tmp_path / "body.part").read_bytes() == BODY
    assert part.digest.hexdigest() == hashlib.sha256(BODY).hexdigest()


def test_a_chunked_body_past_the_cap_is_refused(small_server: str, tmp_path: Path) -> None:
    part = PartFile(tmp_path / "body.part", max_bytes=len(BODY) - 1)
    with requests.get(small_server + "/chunked", stream=True, timeout=30) as response:
        with pytest.raises(OperationFailed, match="sent more than"):
            receive(response, part)
    part.close()
    assert (tmp_path / "body.part").stat().st_size < len(BODY)
