"""`octopack fsck`: check a feed's storage for what crashes leave, and repair it."""

from __future__ import annotations

import sys

import click

from packer.cli.common import output_format_option, print_json, report_errors, require_extra
from packer.cli.storage_option import storage_failures, storage_option
from packer.model.errors import BadInput


@click.command("fsck")
@storage_option("The feed's storage to check.", envvar="OCTOPACK_STORAGE", required=True)
@click.option("--repair", is_flag=True, help="Remove orphans older than the grace period.")
@click.option(
    "--verify", is_flag=True, help="Also read every blob and compare it with its SHA-256."
)
@click.option(
    "--grace",
    type=float,
    default=3600.0,
    show_default=True,
    metavar="SECONDS",
    help="Leave orphans younger than this alone (a push may be in flight).",
)
@output_format_option
@report_errors
def fsck_command(
    storage: str, repair: bool, verify: bool, grace: float, output_format: str
) -> None:
    """Find blobs without a record, records without a blob, stale spool and temp files,
    and unfinished retention work; one line each. Exit 0 clean, 1 when problems remain.
    """
    require_extra("feed")
    from feed.maintenance.fsck import fsck
    from packer.cli.feedroot import feed_at, feed_storage

    if grace < 0:
        raise BadInput(f"--grace {grace} must not be negative")
    store = feed_storage(storage)
    with storage_failures(storage):
        report = fsck(store, feed_at(storage), repair=repair, verify=verify, grace=grace)
    if output_format == "json":
        print_json(report.to_json())
    else:
        for finding in report.findings:
            click.echo(finding.line())
        click.echo(
            f"fsck: {report.records} records, {report.blobs} blobs; "
            f"{len(report.findings)} problems found, "
            f"{len(report.findings) - report.remaining} repaired, {report.remaining} remain"
        )
    if report.remaining:
        sys.exit(1)


COMMANDS = [fsck_command]
