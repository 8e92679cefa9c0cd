"""Retention state kept in the feed's storage: the stored policy and the pins.

Every feed process and every `octopack retention --storage` cron job reads the same
records, so they all see one policy. Changes are compare-and-swap, never last-writer-wins.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from feed.core.errors import PackageConflict, PackageNotFound
from feed.core.repository import Repository, iso_utc
from feed.retention.policy import Policy, Rules
from packer.model.identity import id_key, validate_id
from packer.model.versions import parse_version
from storage import ObjectExists, ObjectNotFound, PreconditionFailed, Storage

RETENTION_PREFIX = "retention/"
POLICY_KEY = "retention/policy.json"
PINS_PREFIX = "retention/pins/"
CAS_ATTEMPTS = 8


@dataclass(frozen=True)
class Pin:
    """One pinned version: never deleted by retention until unpinned."""

    id: str
    version: str
    pinned_by: str
    pinned_at: str

    def to_json(self) -> dict[str, str]:
        """Return the JSON keys the CLI and the admin API print."""
        return {
            "id": self.id,
            "version": self.version,
            "pinned_by": self.pinned_by,
            "pinned_at": self.pinned_at,
        }


def pin_key(package_id: str, normalized_version: str) -> str:
    """Return the storage key of one pin: `retention/pins/{id-lower}/{version-lower}.json`."""
    return f"{PINS_PREFIX}{id_key(package_id)}/{normalized_version.lower()}.json"


class RetentionStore:
    """The stored policy and pins of one feed storage."""

    def __init__(self, storage: Storage, clock: Callable[[], datetime]) -> None:
        self.storage = storage
        self.clock = clock

    # -- policy ----------------------------------------------------------------------------

    def policy(self) -> Policy:
        """Return the stored policy (an empty one, which deletes nothing, when none is set)."""
        return self._read_policy()[0]

    def set_policy(self, pattern: str | None, rules: Rules) -> Policy:
        """Set the feed-wide default (pattern None) or one package override."""
        return self._update_policy(lambda policy: policy.with_rules(pattern, rules))

    def clear_policy(self, pattern: str | None) -> Policy:
        """Remove the default rules (pattern None) or one override; refuse an unknown one."""

        def change(policy: Policy) -> Policy:
            if pattern is not None and not any(
                p.lower() == pattern.lower() for p, _ in policy.packages
            ):
                raise PackageNotFound(f"the retention policy has no override for {pattern!r}")
            return policy.without(pattern)

        return self._update_policy(change)

    def _read_policy(self) -> tuple[Policy, str | None]:
        """Read the policy record with its etag (None when there is no record)."""
        try:
            data, etag = self.storage.read_record(POLICY_KEY)
        except ObjectNotFound:
            return Policy(), None
        return Policy.from_dict(json.loads(data)), etag

    def _update_policy(self, change: Callable[[Policy], Policy]) -> Policy:
        """Apply a change to the stored policy by compare-and-swap, retrying on a race."""
        for _ in range(CAS_ATTEMPTS):
            current, etag = self._read_policy()
            updated = change(current)
            data = json.dumps(updated.to_dict(), indent=1, sort_keys=True).encode("utf-8")
            try:
                if etag is None:
                    self.storage.create_record(POLICY_KEY, data)
                else:
                    self.storage.replace_record(POLICY_KEY, data, if_match=etag)
            except (ObjectExists, PreconditionFailed, ObjectNotFound):
                continue
            return updated
        raise PackageConflict("the retention policy kept changing; try again")

    # -- pins ------------------------------------------------------------------------------

    def pins(self) -> list[Pin]:
        """Return every pin of the feed (one listing), sorted by id then version key."""
        found = []
        for info in self.storage.list(PINS_PREFIX):
            try:
                data, _ = self.storage.read_record(info.key)
            except ObjectNotFound:
                continue
            found.append(Pin(**json.loads(data)))
        return found

    def pinned_versions(self) -> dict[str, set[str]]:
        """Return {id-lower: {normalised version}} for the planner."""
        by_id: dict[str, set[str]] = {}
        for pin in self.pins():
            by_id.setdefault(id_key(pin.id), set()).add(parse_version(pin.version).normalized)
        return by_id

    def pin(self, repository: Repository, package_id: str, version: str, by: str) -> Pin:
        """Pin a version that is in the feed; pinning it again keeps the first pin."""
        record = repository.get(validate_id(package_id), parse_version(version))
        pin = Pin(record.id, record.version, by, iso_utc(self.clock()))
        key = pin_key(record.id, record.normalized_version)
        try:
            self.storage.create_record(key, json.dumps(pin.to_json()).encode("utf-8"))
        except ObjectExists:
            data, _ = self.storage.read_record(key)
            return Pin(**json.loads(data))
        return pin

    def unpin(self, package_id: str, version: str) -> Pin:
        """Remove a pin (the version need not exist any more); refuse one that is not pinned."""
        parsed = parse_version(version)
        key = pin_key(validate_id(package_id), parsed.normalized)
        for _ in range(CAS_ATTEMPTS):
            try:
                data, etag = self.storage.read_record(key)
                self.storage.delete_record(key, if_match=etag)
            except ObjectNotFound:
                raise PackageNotFound(f"{package_id} {version} is not pinned") from None
            except PreconditionFailed:
                continue
            return Pin(**json.loads(data))
        raise PackageConflict(f"the pin of {package_id} {version} kept changing; try again")
