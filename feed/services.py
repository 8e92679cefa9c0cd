"""`open_feed(storage, config)`: the feed's core objects over one storage, built once.

The CLI (the composition root) opens the storage and calls this; the HTTP app and the
direct `--storage` commands receive the result and never touch storage themselves. It
sits above `feed.core` and `feed.retention`, which it wires together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from feed.core.channels import ChannelStore
from feed.core.config import FeedConfig
from feed.core.deployments import DeploymentStore
from feed.core.keys import KeyStore
from feed.core.lifecycles import LifecycleStore
from feed.core.repository import Repository
from feed.core.sitesecret import SiteSecret
from feed.core.spool import sweep_spools
from feed.retention.store import RetentionStore
from packer.archive.validator import Limits
from storage import Storage


@dataclass(frozen=True)
class FeedServices:
    """The core objects of one feed (repository, keys, retention, deployments, lifecycles,
    channels, the web session secret) and its configuration."""

    config: FeedConfig
    repository: Repository
    keys: KeyStore
    retention: RetentionStore
    deployments: DeploymentStore
    lifecycles: LifecycleStore
    channels: ChannelStore
    site_secret: SiteSecret
    housekeeping: Callable[[], object] | None = None
    """The orphan and spool sweep the retention schedule runs under its lease."""


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
    secret = SiteSecret(storage, config.clock)

    def housekeeping() -> object:
        from feed.maintenance.fsck import scheduled_sweep  # maintenance sits above services

        return scheduled_sweep(storage, services)

    services = FeedServices(
        config, repository, keys, retention, deployments, *promotion, secret, housekeeping
    )
    return services


def sweep_leftovers(config: FeedConfig, storage: Storage, now: float | None = None) -> int:
    """Remove upload spools no live process holds and old storage temp files.

    Runs at start and on the retention schedule; a spool is taken only when its lock is
    free (its process is gone), a storage temp file only past the temp-file grace.
    """
    removed = 0
    sweep = getattr(storage, "sweep_temp_files", None)
    if callable(sweep):
        removed += sweep(now=now)
    return removed + sweep_spools(config.upload_dir, now)
