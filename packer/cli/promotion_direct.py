"""Lifecycles and channels on a feed's storage directly (`--storage`), for
`octopack lifecycle|channel`: the same core stores the feed's API uses, the same answers."""

from __future__ import annotations

from typing import Any

from packer.cli.storage_option import storage_calls
from packer.model.channels import Channel


class Direct:
    """The lifecycle and channel stores of one storage location."""

    def __init__(self, location: str) -> None:
        from packer.cli.feedroot import feed_at

        self.location = location
        feed = feed_at(location)
        self.lifecycles_store = feed.lifecycles
        self.channels_store = feed.channels

    @storage_calls
    def lifecycles(self) -> dict[str, Any]:
        from feed.core.lifecycles import table_to_json

        return table_to_json(self.lifecycles_store.table())

    @storage_calls
    def set_lifecycle(self, phases: list[str], package: str | None) -> dict[str, Any]:
        from feed.core.lifecycles import table_to_json

        return table_to_json(self.lifecycles_store.set(phases, package))

    @storage_calls
    def clear_lifecycle(self, package: str | None) -> dict[str, Any]:
        from feed.core.lifecycles import table_to_json

        return table_to_json(self.lifecycles_store.clear(package))

    @storage_calls
    def channels(self) -> list[dict[str, Any]]:
        return [channel.to_json() for channel in self.channels_store.all()]

    @storage_calls
    def set_channel(self, channel: Channel) -> dict[str, Any]:
        return self.channels_store.set(channel).to_json()

    @storage_calls
    def delete_channel(self, name: str, package: str | None = None) -> dict[str, Any]:
        deleted = self.channels_store.delete(name, package)
        return {"deleted": [channel.to_json() for channel in deleted]}
