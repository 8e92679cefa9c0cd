"""`octopack deployments`: what ran where, from the feed's records; and the outbox flush."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from packer.cli.common import (
    api_key_option,
    output_format_option,
    print_json,
    report_errors,
    server_option,
    shown_as_json,
)
from packer.model.errors import BadInput, OperationFailed

LISTED_KEYS = ("id", "package_id", "version", "environment", "target", "status", "finished",
               "forced")  # fmt: skip


@click.command("deployments")
@click.argument("package_id", metavar="[ID]", required=False)
@click.option("--environment", metavar="ENV", help="Only deployments to this environment.")
@click.option(
    "--status", type=click.Choice(["succeeded", "failed"]), help="Only deployments that ended so."
)
@click.option("--take", type=click.IntRange(min=1), help="At most N deployments (newest first).")
@server_option
@api_key_option("A read key for --server (a deploy key to flush the outbox)")
@click.option("--flush-outbox", is_flag=True, help="Send the reports waiting under --root.")
@click.option("--root", type=click.Path(path_type=Path), help="Target root (--flush-outbox).")
@output_format_option
@report_errors
def deployments_command(
    package_id: str | None,
    environment: str | None,
    status: str | None,
    take: int | None,
    server: str | None,
    api_key: str | None,
    flush_outbox: bool,
    root: Path | None,
    output_format: str,
) -> None:
    """List deployments the feed knows of, newest first; or send a target's waiting reports.

    With --flush-outbox --root DIR the reports in DIR/.octopack/outbox/ go to --server
    (delivered ones are removed, refused ones move to outbox/rejected/); exit 1 when
    some could not be delivered.
    """
    from packer.client.deployments import DeploymentsClient

    if flush_outbox:
        if root is None:
            raise BadInput("--flush-outbox needs --root DIR (the target root)")
        with DeploymentsClient(server or "", api_key) as client:
            _flush(client, root, output_format)
        return
    if root is not None:
        raise BadInput("--root goes with --flush-outbox")
    if package_id:
        from packer.model.identity import validate_id

        validate_id(package_id)
    with DeploymentsClient(server or "", api_key) as client:
        records = client.deployments(package_id, environment, status, take=take)
    listed = [{key: record.get(key) for key in LISTED_KEYS} for record in records]
    if output_format == "json":
        print_json({"deployments": listed})
        return
    for item in listed:
        forced = " (forced)" if item["forced"] else ""
        click.echo(
            f"{item['finished']}  {item['package_id']} {item['version']}  "
            f"{item['environment']}  {item['target']}  {item['status']}{forced}"
        )
    if not listed:
        click.echo("no deployments", err=True)


def _flush(client: Any, root: Path, output_format: str) -> None:
    """Send the outbox of one target root; fail when reports had to stay."""
    from packer.target.layout import TargetLayout
    from packer.target.outbox import Outbox
    from packer.target.reporting import Reporter

    if not root.is_dir():
        raise BadInput(f"--root {str(root)!r} is not a directory")
    to_stderr = output_format == "json"
    echo = lambda text: click.echo(text, err=to_stderr)  # noqa: E731
    reporter = Reporter(client, Outbox(TargetLayout(root.resolve()).state_dir), echo)
    result = reporter.flush()
    if output_format == "json":
        print_json(result.to_json())
    else:
        click.echo(
            f"delivered {result.delivered}, rejected {result.rejected}, kept {result.kept} "
            "deployment reports"
        )
    if result.kept or result.rejected:
        error = OperationFailed(
            f"{result.kept + result.rejected} deployment reports were not delivered"
        )
        raise shown_as_json(error) if output_format == "json" else error


COMMANDS = [deployments_command]
