"""Run the feed under gunicorn: several worker processes sharing one storage.

Preload stays off: every worker builds its own app (and its own S3 client, which must not
cross a fork). gthread workers keep heartbeating while a thread streams a long upload.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from feed.auth import KeyStore
from feed.config import FeedConfig
from storage import open_storage

THREADS_PER_WORKER = 4
TIMEOUT_SECONDS = 300


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
        from feed.app import create_app

        return create_app(self.feed_config)


def storage_label(location: str) -> str:
    """Return the storage location as the log line shows it (absolute for disk)."""
    return location if location.startswith("s3://") else os.path.abspath(location)


def announce_initial_key(config: FeedConfig) -> str | None:
    """On a first start with no key anywhere, create an admin key and print it once."""
    keys = KeyStore(open_storage(config.storage), config.api_keys, config.clock)
    plain = keys.ensure_initial_admin()
    if plain:
        print(
            f"octopack: created the first admin API key (shown this once, stored hashed): {plain}",
            flush=True,
        )
    return plain


def run(config: FeedConfig) -> None:
    """Serve until stopped: print the key on a first start, the listening line, then run."""
    announce_initial_key(config)
    options = {
        "bind": f"{config.host}:{config.port}",
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
    print(
        f"octopack feed listening on http://{config.host}:{config.port}, "
        f"storing in {storage_label(config.storage)}",
        file=sys.stderr,
        flush=True,
    )
    FeedApplication(config, options).run()
