"""Download figures for bench/feed.py's transfer section, beside this machine's ceilings.

Every figure writes a file, as `cp` does, unless it says "discarded":

* SHA-256: reading the package and hashing it in one Python process (a verifying
  client cannot beat it: the hash cannot be split across cores);
* loopback TCP: a tiny Python server `sendfile`s the file to a reader that recv_into's a
  1 MiB buffer (discarded, then written to a file): what the kernel allows;
* curl against that plain sendfile server (the best any HTTP server can do for curl);
* curl against the feed, and octopack's own client (FeedClient.download, SHA-256 checked).

Targets: curl from the feed and octopack's client each at least 0.8x `cp`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from bench._common import verdict
from bench.transfer_refs import read_sha256_seconds, settle

TARGET_OF_CP = 0.8
BLOCK = 1 << 20
Row = tuple[str, str, str, str]


@contextmanager
def sendfile_server(path: Path) -> Iterator[int]:
    """Serve `path` to every connection (one HTTP/1.1 answer, then close); yield the port."""
    size = path.stat().st_size
    listener = socket.create_server(("127.0.0.1", 0))
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n".encode()

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            with connection, open(path, "rb") as source:
                request = b""
                while b"\r\n\r\n" not in request and (more := connection.recv(65536)):
                    request += more
                connection.sendall(head)
                connection.sendfile(source, 0, size)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        # close() alone does not wake a blocked accept() on Linux: the thread would then
        # accept on whatever socket reuses the descriptor number (another server's)
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        thread.join(timeout=5)
        listener.close()


def loopback_seconds(port: int, dest: Path | None) -> float:
    """Seconds to GET the file with recv_into one buffer, writing it to `dest` (None: discard)."""
    settle()
    began = time.perf_counter()
    view = memoryview(bytearray(BLOCK))
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
        out = open(dest, "wb", buffering=0) if dest else None  # noqa: SIM115
        try:
            while count := connection.recv_into(view):
                if out is not None:
                    out.write(view[:count])
        finally:
            if out is not None:
                out.close()
    return time.perf_counter() - began


def curl_seconds(url: str, dest: Path, headers: dict[str, str] | None = None) -> float:
    """Seconds for `curl -o dest url` (the file is removed after)."""
    command = ["curl", "--silent", "--show-error", "--fail", "--output", str(dest), url]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    settle()
    began = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - began
    if dest != Path(os.devnull):
        dest.unlink()
    return seconds


def have_curl() -> bool:
    """Whether curl is on PATH (the curl figures are left out without it)."""
    return shutil.which("curl") is not None


@dataclass
class Ceilings:
    """This machine's limits for moving the package (seconds; None: not measured)."""

    sha256: float
    loopback_discard: float
    loopback_file: float
    curl_plain: float | None


def measure_ceilings(package: Path, work: Path) -> Ceilings:
    """Measure the ceilings for `package`, writing scratch files under `work`."""
    sha = read_sha256_seconds(package)
    dest = work / "ceiling.bin"
    with sendfile_server(package) as port:
        discard = loopback_seconds(port, None)
        to_file = loopback_seconds(port, dest)
        dest.unlink()
        plain = curl_seconds(f"http://127.0.0.1:{port}/", dest) if have_curl() else None
    return Ceilings(sha, discard, to_file, plain)


@dataclass
class DownloadFigures:
    """Download seconds beside cp and the ceilings, with verdicts against 0.8x cp."""

    size: int
    cp: float
    ceilings: Ceilings
    client: float
    curl_feed: float | None
    curl_feed_discard: float | None
    load: tuple[float, float, float]

    def rate(self, seconds: float | None) -> str:
        """MB/s (10^6 bytes) and the share of cp's rate, or "-"."""
        if seconds is None:
            return "-"
        return f"{self.size / 1e6 / seconds:,.0f} MB/s ({self.cp / seconds:.2f}x cp)"

    def print(self) -> None:
        """Print every figure, ceilings first."""
        lines = [
            ("cp (copy_file_range, page cache)", self.cp),
            ("ceiling: read + SHA-256, one process", self.ceilings.sha256),
            ("ceiling: loopback sendfile -> recv_into, discarded", self.ceilings.loopback_discard),
            ("ceiling: loopback sendfile -> recv_into -> file", self.ceilings.loopback_file),
            ("ceiling: curl -> file from a plain sendfile server", self.ceilings.curl_plain),
            ("curl -> /dev/null from the feed (diagnostic)", self.curl_feed_discard),
            ("curl -> file from the feed", self.curl_feed),
            ("octopack client -> file, SHA-256 verified", self.client),
        ]
        for name, seconds in lines:
            print(f"[download] {name:<52} {self.rate(seconds)}")
        print("[download] load average during the run: " + ", ".join(f"{v:.2f}" for v in self.load))

    def rows(self) -> list[Row]:
        """Summary rows: the two 0.8x cp targets, and the verified client beside SHA-256."""
        goal = f">= {TARGET_OF_CP}x cp"
        rows: list[Row] = []
        if self.curl_feed is not None:
            met = self.cp / self.curl_feed >= TARGET_OF_CP
            rows.append(("download with curl", self.rate(self.curl_feed), goal, verdict(met)))
        if self.curl_feed is not None and self.ceilings.curl_plain is not None:
            share = f"{self.ceilings.curl_plain / self.curl_feed:.2f}x"
            rows.append(("curl: feed vs plain sendfile server", share, "(ceiling)", "-"))
        met = self.cp / self.client >= TARGET_OF_CP
        rows.append(("download with octopack client", self.rate(self.client), goal, verdict(met)))
        share = self.ceilings.sha256 / self.client
        rows.append(("octopack client vs read+SHA-256", f"{share:.2f}x", "(ceiling)", "-"))
        return rows


def measure_feed_downloads(
    url: str, headers: dict[str, str], work: Path
) -> tuple[float | None, float | None]:
    """curl the package from the feed into a file, then to /dev/null; (None, None) without curl."""
    if not have_curl():
        return None, None
    to_file = curl_seconds(url, work / "curl.bin", headers)
    discard = curl_seconds(url, Path(os.devnull), headers)
    return to_file, discard
