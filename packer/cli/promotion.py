"""`octopack lifecycle set|show|clear` and `octopack channel set|list|delete`.

Each works through a running feed's API (`--server` with an admin key; a read key for
`show` and `list`) or on a feed's storage directly (`--storage`), as `retention policy`.
"""

from __future__ import annotations

from typing import Any

import click

from packer.cli.common import admin_target_options, output_format_option, print_json, report_errors
from packer.model.errors import BadInput, OperationFailed

target_options = admin_target_options("Work on this feed storage directly (no server needed).")


class _Remote:
    """Lifecycles and channels through the feed's API under /api/octopack."""

    def __init__(self, server: str, api_key: str | None) -> None:
        from packer.client.deployments import DeploymentsClient

        self.client = DeploymentsClient(server, api_key)

    def lifecycles(self) -> dict[str, Any]:
        return self.client.lifecycles()

    def set_lifecycle(self, phases: list[str], package: str | None) -> dict[str, Any]:
        return self.client.set_lifecycle(phases, package)

    def clear_lifecycle(self, package: str | None) -> dict[str, Any]:
        return self.client.clear_lifecycle(package)

    def channels(self) -> list[dict[str, Any]]:
        return [channel.to_json() for channel in self.client.channels()]

    def set_channel(self, channel: Any) -> dict[str, Any]:
        return self.client.set_channel(channel)

    def delete_channel(self, name: str, package: str | None) -> dict[str, Any]:
        return self.client.delete_channel(name, package)


def _target(storage: str | None, server: str | None, api_key: str | None) -> Any:
    """Pick direct storage access or the feed's API."""
    if storage:
        from packer.cli.promotion_direct import Direct

        return Direct(storage)
    if server:
        return _Remote(server, api_key)
    raise BadInput("say where the feed is: --storage LOCATION, or --server URL --api-key KEY")


# -- lifecycles -------------------------------------------------------------------------------


@click.group("lifecycle")
def lifecycle_group() -> None:
    """Set, show or clear lifecycles: the phases (environments) a version is promoted through.

    With `Test,Production`, `deploy --environment Production` takes only versions with a
    succeeded deployment in Test. Targets enforce this (cooperatively); --force overrides.
    """


@lifecycle_group.command("set")
@click.argument("phases", metavar="PHASE[,PHASE...]")
@click.option("--package", metavar="ID|GLOB", help="Set an override for matching packages.")
@target_options
@output_format_option
@report_errors
def lifecycle_set(
    phases: str,
    package: str | None,
    storage: str | None,
    server: str | None,
    api_key: str | None,
    output_format: str,
) -> None:
    """Set the feed-wide lifecycle, or with --package an override (exact id beats glob)."""
    from packer.model.lifecycles import parse_phases
    from packer.model.patterns import check_pattern

    parsed = list(parse_phases(phases))
    if package is not None:
        check_pattern(package)
    document = _target(storage, server, api_key).set_lifecycle(parsed, package)
    print_json(document) if output_format == "json" else _echo_lifecycles(document)


@lifecycle_group.command("show")
@target_options
@output_format_option
@report_errors
def lifecycle_show(
    storage: str | None, server: str | None, api_key: str | None, output_format: str
) -> None:
    """Print the feed-wide lifecycle and the per-package overrides."""
    document = _target(storage, server, api_key).lifecycles()
    print_json(document) if output_format == "json" else _echo_lifecycles(document)


@lifecycle_group.command("clear")
@click.option("--package", metavar="ID|GLOB", help="Clear this override (else the default).")
@target_options
@output_format_option
@report_errors
def lifecycle_clear(
    package: str | None,
    storage: str | None,
    server: str | None,
    api_key: str | None,
    output_format: str,
) -> None:
    """Clear the feed-wide lifecycle, or with --package one override."""
    document = _target(storage, server, api_key).clear_lifecycle(package)
    print_json(document) if output_format == "json" else _echo_lifecycles(document)


def _echo_lifecycles(document: dict[str, Any]) -> None:
    """Print lifecycles in command-line words."""
    from packer.model.lifecycles import LifecycleTable

    table = LifecycleTable.from_json(document)
    click.echo(f"default: {table.default or 'none (every environment takes any version)'}")
    for pattern, lifecycle in table.packages:
        click.echo(f"{pattern}: {lifecycle}")


# -- channels ---------------------------------------------------------------------------------


@click.group("channel")
def channel_group() -> None:
    """Set, list or delete channels: named version rules for `deploy|versions --channel`."""


@channel_group.command("set")
@click.argument("name")
@click.option("--range", "version_range", metavar="RANGE", help="NuGet range, e.g. [2.0,3.0).")
@click.option("--tag", metavar="REGEX", help="Regex on the prerelease label ('^$': stable only).")
@click.option("--package", metavar="ID|GLOB", help="Only for matching packages.")
@target_options
@output_format_option
@report_errors
def channel_set(
    name: str,
    version_range: str | None,
    tag: str | None,
    package: str | None,
    storage: str | None,
    server: str | None,
    api_key: str | None,
    output_format: str,
) -> None:
    """Create or replace channel NAME; it needs --range, --tag or both."""
    from packer.model.channels import Channel

    channel = Channel(name, version_range, tag, package)
    document = _target(storage, server, api_key).set_channel(channel)
    if output_format == "json":
        print_json(document)
    else:
        click.echo(f"channel {channel.describe()}")


@channel_group.command("list")
@target_options
@output_format_option
@report_errors
def channel_list(
    storage: str | None, server: str | None, api_key: str | None, output_format: str
) -> None:
    """Print every channel."""
    channels = _target(storage, server, api_key).channels()
    if output_format == "json":
        print_json({"channels": channels})
        return
    from packer.model.channels import Channel

    for item in channels:
        click.echo(Channel.from_json(item).describe())
    if not channels:
        click.echo("no channels", err=True)


@channel_group.command("delete")
@click.argument("name")
@click.option("--package", metavar="ID|GLOB", help="Delete only the entry for this pattern.")
@target_options
@output_format_option
@report_errors
def channel_delete(
    name: str,
    package: str | None,
    storage: str | None,
    server: str | None,
    api_key: str | None,
    output_format: str,
) -> None:
    """Delete channel NAME (every entry of it, or with --package the one for that pattern)."""
    from packer.model.channels import Channel, check_channel_name

    target = _target(storage, server, api_key)
    document = target.delete_channel(check_channel_name(name), package)
    deleted = [Channel.from_json(item) for item in document.get("deleted") or []]
    if not deleted:
        raise OperationFailed(f"no channel {name!r} to delete")
    if output_format == "json":
        print_json(document)
        return
    for channel in deleted:
        click.echo(f"deleted channel {channel.describe()}")


COMMANDS = [lifecycle_group, channel_group]
