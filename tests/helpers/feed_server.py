"""Run a real feed for tests: in-process (werkzeug, threaded) or as `octopack serve` processes.

    with running_feed(tmp_path / "store") as feed:          # in this process
        requests.get(feed.url + "/api/packages")
        feed.admin_key, feed.storage, feed.repository       # for pushes and inspection

    with feed_process(str(tmp_path / "store")) as feed:     # a real gunicorn subprocess
        requests.get(feed.url + "/health"); feed.process.pid

Both bind 127.0.0.1 on a free port, pass ADMIN_KEY as an admin key unless `api_keys` is
given, and stop what they started (the subprocess by its own process group id).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ADMIN_KEY = "API-TESTADMINKEY0000000000000000000000"
STARTUP_LIMIT_SECONDS = 60.0


@dataclass
class RunningFeed:
    """An in-process feed: its URL, the app, its storage and an admin key."""

    url: str
    app: Any
    storage: Any
    admin_key: str

    @property
    def repository(self) -> Any:
        """Return the feed's repository core (for direct inspection in tests)."""
        return self.app.extensions["octopack"].repository


@dataclass
class FeedProcess:
    """A running `octopack serve` subprocess."""

    url: str
    process: subprocess.Popen
    admin_key: str | None
    log_dir: Path
    storage: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def stdout(self) -> str:
        """Return what the process printed on stdout so far."""
        return (self.log_dir / "stdout").read_text(errors="replace")

    def stderr(self) -> str:
        """Return what the process printed on stderr so far."""
        return (self.log_dir / "stderr").read_text(errors="replace")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_feed(storage_location: Any, **config: Any) -> Iterator[RunningFeed]:
    """Serve create_app over a storage (a location or a Storage) in a background thread."""
    from werkzeug.serving import make_server

    from feed.core.config import FeedConfig
    from feed.http.app import create_app
    from feed.services import open_feed
    from storage import open_storage

    storage = (
        open_storage(str(storage_location))
        if isinstance(storage_location, str | os.PathLike)
        else storage_location
    )
    config.setdefault("api_keys", (ADMIN_KEY,))
    config["api_keys"] = tuple(config["api_keys"])
    feed_config = FeedConfig(storage=str(storage_location), **config)
    app = create_app(open_feed(storage, feed_config))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="test-feed", daemon=True
    )
    thread.start()
    admin = config["api_keys"][0] if config["api_keys"] else ""
    try:
        yield RunningFeed(f"http://127.0.0.1:{server.server_port}", app, storage, admin)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@contextmanager
def feed_process(
    storage: str,
    *,
    api_keys: Sequence[str] | None = (ADMIN_KEY,),
    workers: int = 1,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> Iterator[FeedProcess]:
    """Start `octopack serve` on a free port, wait for /health, yield it, then stop it."""
    port = port or free_port()
    command = [sys.executable, "-c", "from packer.cli import main; main()", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--storage", storage]
    command += ["--workers", str(workers), *args]
    for key in api_keys or ():
        command += ["--api-key", key]
    child_env = dict(os.environ if env is None else env)
    child_env.pop("OCTOPACK_API_KEY", None)
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__file__).resolve().parents[2]), child_env.get("PYTHONPATH")) if p
    )
    with tempfile.TemporaryDirectory(prefix="octopack-feed-log-") as logs:
        log_dir = Path(logs)
        with (log_dir / "stdout").open("wb") as out, (log_dir / "stderr").open("wb") as err:
            process = subprocess.Popen(
                command, stdout=out, stderr=err, env=child_env, start_new_session=True
            )
        feed = FeedProcess(
            f"http://127.0.0.1:{port}",
            process,
            api_keys[0] if api_keys else None,
            log_dir,
            storage,
        )
        try:
            _wait_healthy(feed)
            yield feed
        finally:
            stop_process(process)


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop a feed subprocess and its gunicorn workers through its own process group."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    _kill_group_leftovers(process.pid)


def _kill_group_leftovers(pgid: int) -> None:
    """SIGKILL whatever is left in the process group we created (orphaned workers)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_healthy(feed: FeedProcess) -> None:
    """Poll /health until it answers; fail with the process's output if it exits first."""
    import time

    deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
    while time.monotonic() < deadline:
        if feed.process.poll() is not None:
            raise RuntimeError(
                f"octopack serve exited with {feed.process.returncode}:\n{feed.stderr()}"
            )
        try:
            if requests.get(feed.url + "/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"octopack serve did not answer /health in time:\n{feed.stderr()}")


def push_raw(url: str, package: Path) -> requests.Response:
    """POST `package` to the feed's Octopus upload endpoint as the admin key."""
    with package.open("rb") as stream:
        return requests.post(
            f"{url}/api/packages/raw",
            files={"file": (package.name, stream)},
            headers={"X-Octopus-ApiKey": ADMIN_KEY},
            timeout=60,
        )
