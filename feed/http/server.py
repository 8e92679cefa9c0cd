"""Run the feed under gunicorn: several worker processes sharing one storage.

Preload stays off: every worker calls the app factory the CLI hands over, so each builds
its own app (and opens its own storage, whose S3 client must not cross a fork). gthread
workers keep heartbeating while a thread streams a long upload.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from feed.core.config import FeedConfig
from feed.core.keys import KeyStore

THREADS_PER_WORKER = 4
TIMEOUT_SECONDS = 300

AppFactory = Callable[[], Any]  # builds one WSGI app, called once inside each worker


class FeedApplication(BaseApplication):
    """A gunicorn application whose workers each call the app factory."""

    def __init__(self, app_factory: AppFactory, options: dict[str, Any]) -> None:
        self.app_factory = app_factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Hand our options to gunicorn's settings."""
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        """Build the WSGI app inside the worker."""
        return self.app_factory()


def storage_label(location: str) -> str:
    """Return the storage location as the log line shows it (absolute for disk)."""
    return location if location.startswith("s3://") else os.path.abspath(location)


def announce_initial_key(keys: KeyStore) -> str | None:
    """On a first start with no key anywhere, create an admin key and print it once."""
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


def run(config: FeedConfig, app_factory: AppFactory, listener: socket.socket | None = None) -> None:
    """Serve until stopped; say "listening" once gunicorn is ready.

    `listener` is a socket the caller already bound (so a taken port is found before any
    key is made); without one gunicorn binds `config.host:config.port` itself.
    """
    configure_logging()
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
    FeedApplication(app_factory, options).run()
