"""Downloads stop at the size they should be: a lying feed on loopback cannot fill the disk.

The server here answers the Octopus detail and raw routes like a feed, but streams 64 MiB
for a package it records (or advertises) as 3 MB. The client writes at most 3 MB, keeps
no file, and hangs up, so the server cannot push the rest.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from packer.cli import main
from packer.client.feed import FeedClient
from packer.model.errors import OperationFailed

ADVERTISED = 3_000_000
STREAMED = 64 << 20
BLOCK = b"\xa5" * (64 << 10)
DETAIL = "/api/packages/packages-Lying.App.1.0.0"


@dataclass
class Lies:
    """What the lying feed says, and how much of its stream got out."""

    recorded: int | None = ADVERTISED  # PackageSizeBytes in the detail
    content_length: int | None = None  # the raw download's header (None: close-delimited)
    sent: list[int] = field(default_factory=list)


class LyingFeed(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # a body without Content-Length ends when the socket closes
    lies: Lies

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == DETAIL:
            body = json.dumps(
                {"PackageId": "Lying.App", "Version": "1.0.0", "FileExtension": ".zip",
                 "Sha256": "ab" * 32, "PackageSizeBytes": self.lies.recorded}
            ).encode()  # fmt: skip
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path != DETAIL + "/raw":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if self.lies.content_length is not None:
            self.send_header("Content-Length", str(self.lies.content_length))
        self.end_headers()
        sent = 0
        try:
            while sent < STREAMED:
                self.wfile.write(BLOCK)
                sent += len(BLOCK)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.lies.sent.append(sent)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def lying_feed() -> Iterator[tuple[str, Lies]]:
    """Serve LyingFeed on 127.0.0.1; closing the server waits for every handler to end."""
    lies = Lies()
    handler = type("Handler", (LyingFeed,), {"lies": lies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = False  # so server_close joins the handlers
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", lies
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def download(url: str, dest: Path, **caps: int | None) -> tuple[list[int], Exception | None]:
    """Download Lying.App, recording every size the part file reached."""
    written: list[int] = [0]
    with FeedClient(url, retries=0, sleep=lambda _: None) as client:
        try:
            client.download(
                "Lying.App", "1.0.0", dest, "ab" * 32,
                progress=lambda done, _total: written.append(done), **caps,
            )  # fmt: skip
        except OperationFailed as error:
            return written, error
    return written, None


def test_a_feed_recording_3_mb_and_streaming_64_mib_gets_at_most_3_mb_written(lying_feed, tmp_path):
    url, lies = lying_feed
    dest = tmp_path / "cache" / "Lying.App.1.0.0.zip"
    written, error = download(url, dest, expected_size=ADVERTISED)
    assert max(written) <= ADVERTISED
    assert error is not None and "sent more than 3000000 bytes" in str(error)
    assert "the size the feed records" in str(error)
    assert list(dest.parent.iterdir()) == []  # neither the file nor its .part
    assert lies.sent and lies.sent[0] < STREAMED  # the client hung up; the rest never came


def test_the_configured_maximum_caps_a_stream_with_no_size_at_all(lying_feed, tmp_path):
    url, lies = lying_feed
    lies.recorded = None
    written, error = download(url, tmp_path / "x.zip", max_bytes=1_000_000)
    assert max(written) <= 1_000_000
    assert error is not None and "(the configured maximum)" in str(error)
    assert not (tmp_path / "x.zip.part").exists()


def test_an_advertised_length_over_the_cap_is_refused_before_any_byte(lying_feed, tmp_path):
    url, lies = lying_feed
    lies.content_length = STREAMED
    written, error = download(url, tmp_path / "x.zip", expected_size=ADVERTISED)
    assert max(written) == 0
    assert error is not None and f"offers {STREAMED} bytes, more than 3000000" in str(error)


def test_an_advertised_content_length_of_3_mb_is_where_reading_stops(lying_feed, tmp_path):
    url, lies = lying_feed
    lies.recorded, lies.content_length = None, ADVERTISED
    written, error = download(url, tmp_path / "x.zip")
    assert max(written) <= ADVERTISED
    assert error is not None and "does not match" in str(error)  # 3 MB of junk, discarded


def test_deploy_from_a_lying_feed_fails_in_one_line_and_caches_nothing(lying_feed, tmp_path):
    url, _lies = lying_feed
    root = tmp_path / "target"
    result = CliRunner().invoke(
        main, ["deploy", "Lying.App", "--version", "1.0.0", "--server", url, "--root", str(root)]
    )
    assert result.exit_code == 1
    assert "sent more than 3000000 bytes (the size the feed records)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert [p.name for p in (root / ".octopack" / "cache").iterdir()] == [
        ".Lying.App.1.0.0.zip.lock"
    ]
