"""Retention state kept in the feed's storage: the stored policy, the pins, the lease and
the audit log.

Every feed process and every `octopack retention --storage` cron job reads the same
records, so they all see one policy. Changes are compare-and-swap, never last-writer-wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from feed.core.deployments import DeploymentStore
from feed.core.errors import PackageNotFound
from feed.core.jsonrecords import Codec, JsonRecords, json_codec
from feed.core.records import iso_utc
from feed.core.repository import Repository
from feed.retention.audit import Audit, read_audit
from feed.retention.lease import DEFAULT_LEASE, Lease
from feed.retention.policy import Policy, Rules
from packer.archive.validator import Limits
from packer.model.identity import id_key, validate_id
from packer.model.versions import parse_version
from storage import Storage

RETENTION_PREFIX = "retention/"
POLICY_KEY = "retention/policy.json"
PINS_PREFIX = "retention/pins/"


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


def _policy_codec() -> Codec[Policy]:
    document = json_codec(indent=1, sort_keys=True)
    return Codec(
        lambda p: document.encode(p.to_dict()), lambda b: Policy.from_dict(document.decode(b))
    )


def _pin_codec() -> Codec[Pin]:
    document = json_codec()
    return Codec(lambda pin: document.encode(pin.to_json()), lambda b: Pin(**document.decode(b)))


class RetentionStore:
    """The stored policy, pins, lease and audit log of one feed storage, and the
    deployment facts retention never deletes against."""

    def __init__(
        self,
        storage: Storage,
        clock: Callable[[], datetime],
        deployments: DeploymentStore | None = None,
    ) -> None:
        self._storage = storage
        self.deployments = deployments or DeploymentStore(
            storage, Repository(storage, Limits(), clock)
        )
        self._policy = JsonRecords(storage, _policy_codec())
        self._pins = JsonRecords(storage, _pin_codec())
        self.clock = clock

    # -- policy ----------------------------------------------------------------------------

    def policy(self) -> Policy:
        """Return the stored policy (an empty one, which deletes nothing, when none is set)."""
        found = self._policy.read(POLICY_KEY)
        return found.value if found is not None else Policy()

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

    def _update_policy(self, change: Callable[[Policy], Policy]) -> Policy:
        """Apply a change to the stored policy by compare-and-swap, retrying on a race."""
        swapped = self._policy.update(
            POLICY_KEY,
            lambda current: change(current if current is not None else Policy()),
            "the retention policy kept changing; try again",
        )
        return swapped.value

    # -- pins ------------------------------------------------------------------------------

    def pins(self) -> list[Pin]:
        """Return every pin of the feed (one listing), sorted by id then version key."""
        return [found.value for found in self._pins.values(PINS_PREFIX)]

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
        if self._pins.create(key, pin) is None:
            found = self._pins.read(key)
            if found is not None:
                return found.value
        return pin

    def unpin(self, package_id: str, version: str) -> Pin:
        """Remove a pin (the version need not exist any more); refuse one that is not pinned."""
        parsed = parse_version(version)
        key = pin_key(validate_id(package_id), parsed.normalized)
        conflict = f"the pin of {package_id} {version} kept changing; try again"
        removed = self._pins.remove(key, conflict)
        if removed is None:
            raise PackageNotFound(f"{package_id} {version} is not pinned")
        return removed

    # -- the lease and the audit log -------------------------------------------------------

    def lease(self, owner: str, duration: timedelta = DEFAULT_LEASE) -> Lease:
        """Return a (not yet taken) lease that lets one retention job run at a time."""
        return Lease(self._storage, owner, self.clock, duration)

    def audit(self, job: str, actor: str) -> Audit:
        """Return the audit log writer of one job."""
        return Audit(self._storage, job, actor, self.clock)

    def audit_entries(self, take: int = 100) -> list[dict[str, object]]:
        """Return the newest audit entries first."""
        return read_audit(self._storage, take)
