"""Load generation for the feed benchmark: wrk (or a bounded Python loop) and a bare floor app.

`bare_app` is a Flask app answering one constant JSON document; served by gunicorn with the
feed's own settings (gthread, same workers and threads) it is the floor the feed is
compared against. Started as `gunicorn bench.loadgen:bare_app` from the checkout root.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from flask import Flask, jsonify

REPO = Path(__file__).resolve().parents[1]
WRK = "/usr/bin/wrk"
BARE_DOCUMENT = {
    "ItemType": "Package",
    "TotalResults": 1,
    "ItemsPerPage": 30,
    "Items": [{"PackageId": "Bench.Target", "Version": "1.0.0", "SizeBytes": 22}],
    "Links": {},
}

bare_app = Flask("octopack-bench-bare")


@bare_app.route("/", defaults={"path": ""})
@bare_app.route("/<path:path>")
def _constant(path: str):  # noqa: ANN202 - a Flask view
    """Answer every path with the same small JSON document."""
    return jsonify(BARE_DOCUMENT)


@dataclass(frozen=True)
class Load:
    """What one load run measured."""

    tool: str
    requests_per_second: float
    requests: int
    errors: int


@dataclass(frozen=True)
class Server:
    """A server we started: its base URL and the pid of its master process."""

    url: str
    pid: int


def gunicorn_options(workers: int) -> list[str]:
    """Return gunicorn flags equal to those `octopack serve` uses (feed/server.py)."""
    from feed.http.server import THREADS_PER_WORKER, TIMEOUT_SECONDS

    return [
        f"--workers={workers}",
        "--worker-class=gthread",
        f"--threads={THREADS_PER_WORKER}",
        f"--timeout={TIMEOUT_SECONDS}",
        "--graceful-timeout=10",
        "--log-level=warning",
    ]


@contextmanager
def bare_server(port: int, workers: int) -> Iterator[Server]:
    """Run the bare app under gunicorn on 127.0.0.1:port; stop it by its own group id."""
    command = [sys.executable, "-m", "gunicorn", *gunicorn_options(workers)]
    command += [f"--bind=127.0.0.1:{port}", f"--chdir={REPO}", "bench.loadgen:bare_app"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", process)
        yield Server(f"http://127.0.0.1:{port}", process.pid)
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen) -> None:
    """Stop a server we started, with its workers, through its own process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    try:
        os.killpg(process.pid, signal.SIGKILL)  # orphaned workers, if any
    except (ProcessLookupError, PermissionError):
        pass


def wait_until_up(url: str, process: subprocess.Popen, limit: float = 60.0) -> None:
    """Poll `url` until it answers 200; raise with the server's stderr if it exits."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"server exited with {process.returncode}: {stderr[-2000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {limit:.0f} s")


def have_wrk() -> bool:
    """Tell whether wrk is installed."""
    return os.access(WRK, os.X_OK) or shutil.which("wrk") is not None


def run_wrk(url: str, seconds: int = 5, connections: int = 8, threads: int = 2) -> Load:
    """Run wrk for a bounded time and read its Requests/sec and error lines."""
    binary = WRK if os.access(WRK, os.X_OK) else shutil.which("wrk") or "wrk"
    command = [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-1000:]}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    total = re.search(r"(\d+) requests in", done.stdout)
    if rate is None or total is None:
        raise RuntimeError(f"cannot read wrk's output:\n{done.stdout}")
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", done.stdout)
    socket_errors = re.search(r"Socket errors:.*?(\d+).*?(\d+).*?(\d+).*?(\d+)", done.stdout)
    failed = int(errors.group(1)) if errors else 0
    if socket_errors:
        failed += sum(int(g) for g in socket_errors.groups())
    return Load("wrk", float(rate.group(1)), int(total.group(1)), failed)


def run_python_load(url: str, requests_total: int = 200, connections: int = 4) -> Load:
    """Send a fixed number of GETs from a few threads (the fallback when wrk is missing)."""
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()
    share = [requests_total // connections] * connections

    def worker(count: int) -> None:
        with requests.Session() as session:
            for _ in range(count):
                ok = session.get(url, timeout=30).status_code == 200
                with lock:
                    counts["ok" if ok else "errors"] += 1

    start = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(n,)) for n in share]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - start
    done = counts["ok"] + counts["errors"]
    return Load("python", done / elapsed, done, counts["errors"])
