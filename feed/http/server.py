"""Run the feed under gunicorn: several worker processes sharing one storage.

Preload stays off: every worker calls the app factory the CLI hands over, so each builds
its own app (and opens its own storage, whose S3 client must not cross a fork). gthread
workers keep heartbeating while a thread streams a long upload.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from gunicorn.app.base import BaseApplication

from feed.core.config import FeedConfig
from feed.core.keys import KeyStore
from feed.http.logformat import formatter_for

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus-client in every worker

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


def configure_logging(log_format: str = "text") -> None:
    """Send the feed's lines (access, audit, scheduled retention) to stderr, the serve log."""
    logger = logging.getLogger("feed")
    for handler in [h for h in logger.handlers if getattr(h, "octopack", False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.octopack = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter_for(log_format))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    # a line per request only where it is asked for (json, for log pipelines): it costs
    # about a tenth of a cached query, and the text log stays what people read
    access = logging.INFO if log_format == "json" else logging.WARNING
    logging.getLogger("feed.access").setLevel(access)


@contextmanager
def metrics_folder() -> Iterator[str]:
    """Give the workers a private PROMETHEUS_MULTIPROC_DIR; remove it when the server stops.

    Workers are forks that unwind through this block too when they exit: only the process
    that made the folder removes it.
    """
    folder = tempfile.mkdtemp(prefix="octopack-metrics-")
    owner = os.getpid()
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = folder
    try:
        yield folder
    finally:
        if os.getpid() == owner:
            shutil.rmtree(folder, ignore_errors=True)
            if previous is None:
                os.environ.pop(MULTIPROC_ENV, None)
            else:
                os.environ[MULTIPROC_ENV] = previous


def child_exit(server: Any, worker: Any) -> None:
    """Tell prometheus-client a worker is gone, so its live gauges stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def run(config: FeedConfig, app_factory: AppFactory, listener: socket.socket | None = None) -> None:
    """Serve until stopped; say "listening" once gunicorn is ready.

    `listener` is a socket the caller already bound (so a taken port is found before any
    key is made); without one gunicorn binds `config.host:config.port` itself.
    """
    configure_logging(config.log_format)
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
        "child_exit": child_exit,
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
    with metrics_folder():
        FeedApplication(app_factory, options).run()
