"""Run the feed under gunicorn: several worker processes sharing one storage.

Preload stays off: every worker builds its own app (and its own S3 client, which must not
cross a fork). gthread workers keep heartbeating while a thread streams a long upload.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from feed.core.config import FeedConfig
from feed.core.keys import KeyStore
from storage import Storage, open_storage

THREADS_PER_WORKER = 4
TIMEOUT_SECONDS = 300
STALE_SPOOL_SECONDS = 24 * 3600  # no upload lives this long; its process is gone


class FeedApplication(BaseApplication):
    """A gunicorn application whose workers each call create_app(config)."""

    def __init__(self, config: FeedConfig, options: dict[str, Any]) -> None:
        self.feed_config = config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Hand our options to gunicorn's settings."""
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        """Build the WSGI app inside the worker."""
        from feed.http.app import create_app

        return create_app(self.feed_config)


def storage_label(location: str) -> str:
    """Return the storage location as the log line shows it (absolute for disk)."""
    return location if location.startswith("s3://") else os.path.abspath(location)


def sweep_leftovers(config: FeedConfig, storage: Storage) -> int:
    """Remove upload spools and storage temp files that a killed process left behind."""
    removed = 0
    sweep = getattr(storage, "sweep_temp_files", None)
    if callable(sweep):
        removed += sweep()
    folder = Path(config.upload_dir or tempfile.gettempdir())
    cutoff = time.time() - STALE_SPOOL_SECONDS
    for leftover in folder.glob("octopack-upload-*.part"):
        try:
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
                removed += 1
        except OSError:
            pass  # another process took it, or it is not ours to remove
    return removed


def announce_initial_key(config: FeedConfig, storage: Storage) -> str | None:
    """On a first start with no key anywhere, create an admin key and print it once."""
    keys = KeyStore(storage, config.api_keys, config.clock)
    plain = keys.ensure_initial_admin()
    if plain:
        print(
            f"octopack: created the first admin API key (shown this once, stored hashed): {plain}",
            flush=True,
        )
    return plain


def configure_logging() -> None:
    """Send the feed's own INFO lines (scheduled retention summaries) to stderr, the serve log."""
    logger = logging.getLogger("feed")
    if any(getattr(h, "octopack", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.octopack = True  # type: ignore[attr-defined]
    handler.setFormatter(
        logging.Formatter(
            "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s", "%Y-%m-%d %H:%M:%S %z"
        )
    )
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def run(
    config: FeedConfig, storage: Storage | None = None, listener: socket.socket | None = None
) -> None:
    """Serve until stopped: print the key on a first start, then run; say "listening" when ready.

    `listener` is a socket the caller already bound (so a taken port is found before any
    key is made); without one gunicorn binds `config.host:config.port` itself.
    """
    configure_logging()
    storage = storage if storage is not None else open_storage(config.storage)
    sweep_leftovers(config, storage)
    announce_initial_key(config, storage)
    bind = f"fd://{listener.fileno()}" if listener else f"{config.host}:{config.port}"

    def when_ready(server: Any) -> None:
        print(
            f"octopack feed listening on http://{config.host}:{config.port}, "
            f"storing in {storage_label(config.storage)}",
            file=sys.stderr,
            flush=True,
        )

    options = {
        "bind": bind,
        "when_ready": when_ready,
        "workers": max(1, config.workers),
        "worker_class": "gthread",
        "threads": THREADS_PER_WORKER,
        "timeout": TIMEOUT_SECONDS,
        "graceful_timeout": 10,
        "preload_app": False,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "octopack-feed",
    }
    FeedApplication(config, options).run()
