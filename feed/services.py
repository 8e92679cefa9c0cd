"""`open_feed(storage, config)`: the feed's core objects over one storage, built once.

The CLI (the composition root) opens the storage and calls this; the HTTP app and the
direct `--storage` commands receive the result and never touch storage themselves. It
sits above `feed.core` and `feed.retention`, which it wires together.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from feed.core.channels import ChannelStore
from feed.core.config import FeedConfig
from feed.core.deployments import DeploymentStore
from feed.core.keys import KeyStore
from feed.core.lifecycles import LifecycleStore
from feed.core.repository import Repository
from feed.retention.store import RetentionStore
from packer.archive.validator import Limits
from storage import Storage

STALE_SPOOL_SECONDS = 24 * 3600  # no upload lives this long; its process is gone


@dataclass(frozen=True)
class FeedServices:
    """The core objects of one feed (repository, keys, retention, deployments, lifecycles,
    channels) and its configuration."""

    config: FeedConfig
    repository: Repository
    keys: KeyStore
    retention: RetentionStore
    deployments: DeploymentStore
    lifecycles: LifecycleStore
    channels: ChannelStore


def limits_for(config: FeedConfig) -> Limits:
    """Return the archive limits the configuration sets."""
    return Limits(
        max_package_bytes=config.max_package_bytes,
        max_uncompressed_bytes=config.max_uncompressed_bytes,
        max_entries=config.max_entries,
        max_ratio=config.max_ratio,
        max_nuspec_bytes=config.max_nuspec_bytes,
    )


def open_feed(storage: Storage, config: FeedConfig) -> FeedServices:
    """Build the core objects of a feed over an already opened storage."""
    repository = Repository(storage, limits_for(config), config.clock, config.upload_dir)
    keys = KeyStore(storage, config.api_keys, config.clock)
    deployments = DeploymentStore(storage, repository)
    retention = RetentionStore(storage, config.clock, deployments)
    promotion = (LifecycleStore(storage), ChannelStore(storage))
    return FeedServices(config, repository, keys, retention, deployments, *promotion)


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
