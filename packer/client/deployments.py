"""The feed's promotion API under /api/octopack: deployment reports, listings,
environments, lifecycles and channels.

Built on FeedClient's session, key header and retries: every call here is safe to repeat
(a report carries the UUID the target chose, so a retried report is stored once).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from packer.client.feed import FeedClient
from packer.client.http import error_text, json_object
from packer.model.channels import Channel, channels_from_json
from packer.model.errors import BadInput, OperationFailed
from packer.model.lifecycles import Lifecycle, parse_phases
from packer.model.versions import parse_version

__all__ = ["Delivery", "DeploymentsClient", "ReportAnswer"]

PAGE_SIZE = 100
NEVER_ACCEPTED = frozenset({400, 413, 422})
"""Answers to a report that no retry can change: the report goes to outbox/rejected/."""


class Delivery(enum.StrEnum):
    """What became of one report."""

    DELIVERED = "delivered"  # 201 stored, or 200 already stored under the same id
    REJECTED = "rejected"  # the feed will never take it (400): kept aside with the reason
    KEPT = "kept"  # the feed is unreachable, failing or refusing the key: try again later


@dataclass(frozen=True)
class ReportAnswer:
    """The fate of one report and the feed's words about it."""

    delivery: Delivery
    message: str
    record: dict[str, Any] | None = None


class DeploymentsClient(FeedClient):
    """FeedClient plus the deployment, environment, lifecycle and channel calls."""

    def _api(self, path: str) -> str:
        """Return the URL of `/api/octopack/{path}` (never under a space)."""
        return f"{self.server}/api/octopack/{path}"

    def _json(
        self, method: str, path: str, what: str, retries: int | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Send one call and return its JSON object; 400 is BadInput, other errors fail."""
        response = self._get(self._api(path), what, retries, method=method, **kwargs)
        if response.status_code == 400:
            raise BadInput(f"{what}: {self.server} answered 400: {error_text(response)}")
        if response.status_code >= 300:
            raise self._failed(response, what)
        return json_object(response, what)

    # -- reports ----------------------------------------------------------------------------

    def report(self, record: dict[str, Any], retries: int | None = None) -> ReportAnswer:
        """POST one deployment report; say whether it was delivered, rejected or must wait."""
        what = f"reporting deployment {record.get('id')} to {self.server}"
        try:
            response = self._get(
                self._api("deployments"), what, retries, method="POST", json=record
            )
        except OperationFailed as error:  # unreachable or 5xx after the retries
            return ReportAnswer(Delivery.KEPT, str(error))
        if response.status_code in (200, 201):
            try:
                return ReportAnswer(Delivery.DELIVERED, "", json_object(response, what))
            except OperationFailed:
                return ReportAnswer(Delivery.DELIVERED, "")
        reason = f"{self.server} answered {response.status_code}: {error_text(response)}"
        if response.status_code in NEVER_ACCEPTED:
            return ReportAnswer(Delivery.REJECTED, reason)
        if response.status_code in (401, 403):
            reason = self._auth_message(response)
        return ReportAnswer(Delivery.KEPT, reason)

    def deployments(
        self,
        package_id: str | None = None,
        environment: str | None = None,
        status: str | None = None,
        skip: int = 0,
        take: int | None = None,
    ) -> list[dict[str, Any]]:
        """Deployment records, newest first; every page when `take` is None."""
        params: dict[str, Any] = {"skip": skip, "take": take or PAGE_SIZE}
        for key, value in (("packageId", package_id), ("environment", environment)):
            if value:
                params[key] = value
        if status:
            params["status"] = status
        what = f"listing deployments on {self.server}"
        found: list[dict[str, Any]] = []
        while True:
            document = self._json("GET", "deployments", what, params=dict(params))
            items = document.get("deployments")
            if not isinstance(items, list):
                raise OperationFailed(f"{what}: the answer has no 'deployments' list")
            found.extend(item for item in items if isinstance(item, dict))
            params["skip"] += len(items)
            total = document.get("total")
            done = isinstance(total, int) and params["skip"] >= total
            if take is not None or len(items) < params["take"] or done or not items:
                return found

    def succeeded_versions(self, package_id: str, environment: str) -> set[Any]:
        """The versions (compared by value) that succeeded in one environment."""
        records = self.deployments(package_id, environment, status="succeeded")
        return {
            parse_version(str(r["version"]))
            for r in records
            if r.get("status") == "succeeded"
            and str(r.get("environment", "")).lower() == environment.lower()
        }

    def environments(self) -> dict[str, Any]:
        """Per environment, each package's current version and how many targets run it."""
        return self._json("GET", "environments", f"listing environments on {self.server}")

    # -- lifecycles -------------------------------------------------------------------------

    def lifecycles(self) -> dict[str, Any]:
        """The stored lifecycles: `{"default": [...] | null, "packages": ...}`."""
        return self._json("GET", "lifecycles", f"reading lifecycles on {self.server}")

    def lifecycle_for(self, package_id: str) -> Lifecycle | None:
        """The lifecycle of one package (the feed resolves overrides); None when none applies
        or the feed has no lifecycles at all."""
        what = f"reading the lifecycle of {package_id} on {self.server}"
        response = self._get(self._api("lifecycles"), what, params={"package": package_id})
        if response.status_code == 404:  # not an octopack feed (an Octopus server, say)
            return None
        if response.status_code != 200:
            raise self._failed(response, what)
        phases = json_object(response, what).get("phases")
        return Lifecycle(parse_phases(phases)) if phases else None

    def set_lifecycle(self, phases: list[str], package: str | None) -> dict[str, Any]:
        """Set the default lifecycle, or with `package` an override (admin key)."""
        body = {"phases": phases, "package": package}
        return self._json("PUT", "lifecycles", f"setting a lifecycle on {self.server}", json=body)

    def clear_lifecycle(self, package: str | None) -> dict[str, Any]:
        """Clear the default lifecycle, or with `package` one override (admin key)."""
        params = {"package": package} if package else None
        what = f"clearing a lifecycle on {self.server}"
        return self._json("DELETE", "lifecycles", what, params=params)

    # -- channels ---------------------------------------------------------------------------

    def channels(self) -> list[Channel]:
        """Every channel the feed stores."""
        document = self._json("GET", "channels", f"reading channels on {self.server}")
        return channels_from_json(document)

    def channel(self, name: str, package_id: str) -> Channel:
        """The channel called `name` that applies to `package_id` (the feed resolves it)."""
        what = f"reading channel {name!r} on {self.server}"
        params = {"name": name, "package": package_id}
        found = channels_from_json(self._json("GET", "channels", what, params=params))
        if found:
            return found[0]
        others = channels_from_json(self._json("GET", "channels", what, params={"name": name}))
        if others:
            patterns = ", ".join(repr(c.package) for c in others)
            raise OperationFailed(
                f"channel {name!r} is for packages {patterns}, not {package_id!r}"
            )
        raise OperationFailed(f"{self.server} has no channel {name!r}")

    def set_channel(self, channel: Channel) -> dict[str, Any]:
        """Create or replace a channel by name (admin key)."""
        what = f"setting channel {channel.name!r} on {self.server}"
        return self._json("PUT", "channels", what, json=channel.to_json())

    def delete_channel(self, name: str, package: str | None = None) -> dict[str, Any]:
        """Delete a channel by name, or only its entry for `package` (admin key)."""
        what = f"deleting channel {name!r} on {self.server}"
        params = {"name": name, **({"package": package} if package else {})}
        return self._json("DELETE", "channels", what, params=params)
