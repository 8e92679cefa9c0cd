"""Which version an environment may take: lifecycles and channels, enforced on the target.

With the lifecycle `Test,Production`, Production takes only a version that has a
succeeded deployment in Test (the feed's records say so); the first phase and
environments outside the lifecycle take any version. `--force` deploys anyway and the
report says `"forced": true`. The enforcement is cooperative: a target that does not ask
the feed is not stopped by it.
"""

from __future__ import annotations

from dataclasses import dataclass

from packer.client.deployments import DeploymentsClient
from packer.model.errors import OperationFailed
from packer.model.identity import validate_id
from packer.model.lifecycles import Lifecycle
from packer.model.versions import parse_version
from packer.target.fetch import candidate_versions, no_version_message


@dataclass(frozen=True)
class Choice:
    """The version to deploy, and whether it goes around the lifecycle."""

    version: str
    forced: bool = False


@dataclass(frozen=True)
class Wanted:
    """What the command line asks for."""

    package_id: str
    version: str | None = None
    version_range: str | None = None
    prerelease: bool = False
    environment: str | None = None
    channel: str | None = None
    force: bool = False


def choose_version(client: DeploymentsClient, wanted: Wanted) -> Choice:
    """Return the version to deploy under the channel and the package's lifecycle."""
    validate_id(wanted.package_id)
    channel = client.channel(wanted.channel, wanted.package_id) if wanted.channel else None
    lifecycle = client.lifecycle_for(wanted.package_id) if wanted.environment else None
    needed = lifecycle.phase_before(wanted.environment) if lifecycle else None
    passed = client.succeeded_versions(wanted.package_id, needed) if needed else None
    if wanted.version:
        parsed = parse_version(wanted.version)
        if channel is not None and not channel.matches(parsed):
            raise OperationFailed(
                f"{wanted.package_id} {wanted.version} is not in channel {channel.describe()}"
            )
        if passed is None or parsed in passed:
            return Choice(wanted.version)
        if wanted.force:
            return Choice(wanted.version, forced=True)
        assert lifecycle is not None and needed is not None
        raise OperationFailed(_refusal(wanted, lifecycle, needed, wanted.version))
    found = candidate_versions(
        client, wanted.package_id, wanted.version_range, wanted.prerelease, channel
    )
    if not found:
        message = no_version_message(
            client, wanted.package_id, wanted.version_range, wanted.prerelease, channel
        )
        raise OperationFailed(message)
    if passed is None:
        return Choice(found[0])
    if wanted.force:  # --force ignores the lifecycle: the newest version, flagged if it skips
        return Choice(found[0], forced=parse_version(found[0]) not in passed)
    promoted = [text for text in found if parse_version(text) in passed]
    if promoted:
        return Choice(promoted[0])
    assert lifecycle is not None and needed is not None
    raise OperationFailed(_refusal(wanted, lifecycle, needed, None))


def _refusal(wanted: Wanted, lifecycle: Lifecycle, needed: str, version: str | None) -> str:
    """Say which phase the version still needs, and how to go around it."""
    what = f"{wanted.package_id} {version}" if version else f"no version of {wanted.package_id}"
    verb = "has no" if version else "has a"
    return (
        f"{what} {verb} succeeded deployment in {needed}: {wanted.environment} takes only "
        f"versions that passed {needed} (lifecycle {lifecycle}); deploy to {needed} first, "
        "or give --force"
    )
