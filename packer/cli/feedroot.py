"""Where the CLI wires the feed together: open storage, build the core, build the app.

Only commands that need the feed import this, inside their bodies, so a deployment
target's `octopack pack|push|deploy` never loads feed, flask or boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from feed.core.config import FeedConfig
    from feed.services import FeedServices
    from storage import Storage


def feed_storage(location: str) -> Storage:
    """Open a storage location and list one key, so a bad location fails before any work."""
    from packer.cli.storage_option import check_reachable, open_feed_storage

    storage = open_feed_storage(location)
    check_reachable(storage, location)
    return storage


def feed_at(location: str, config: FeedConfig | None = None) -> FeedServices:
    """Return the feed's core objects over a storage location (`--storage` commands)."""
    from feed.core.config import config_from_env
    from feed.services import open_feed

    config = config if config is not None else config_from_env(storage=location)
    return open_feed(feed_storage(location), config)


def feed_app(config: FeedConfig) -> Any:
    """Build one feed WSGI app: its own storage client, core objects and Flask app.

    gunicorn calls this in every worker (preload off), so no S3 client crosses a fork.
    """
    from feed.http.app import create_app
    from feed.services import open_feed
    from storage import open_storage

    return create_app(open_feed(open_storage(config.storage), config))
