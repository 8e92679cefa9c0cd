"""`octopack deploy`: fetch, verify and extract a package on this target and run its scripts."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from packer.cli.common import (
    api_key_option,
    output_format_option,
    print_json,
    report_errors,
    server_option,
    shown_as_json,
    space_option,
)
from packer.cli.progress import progress
from packer.model.conventions import DeployReport, DeployStatus
from packer.model.errors import BadInput, OperationFailed, UnsafeArchive

if TYPE_CHECKING:
    from packer.target.promotion import Wanted


def _echo_for(output_format: str) -> Callable[[str], None]:
    """Send progress and script output to stdout, or to stderr when stdout carries JSON."""
    to_stderr = output_format == "json"

    def echo(text: str) -> None:
        click.echo(text, err=to_stderr)
        (sys.stderr if to_stderr else sys.stdout).flush()

    return echo


def _check_root(root: Path) -> Path:
    """Refuse a root that exists but is not a folder; create it otherwise."""
    if root.exists() and not root.is_dir():
        raise BadInput(f"--root {str(root)!r} exists and is not a directory")
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve()


@click.command("deploy")
@click.argument("package_id", required=False)
@click.option("--version", "version", help="Deploy exactly this version.")
@click.option("--range", "version_range", help="Deploy the newest version in a NuGet range.")
@click.option("--prerelease", is_flag=True, help="Let the newest version be a prerelease.")
@click.option("--channel", metavar="NAME", help="Only versions the feed's channel NAME admits.")
@click.option(
    "--force", is_flag=True,
    help="Deploy a version the lifecycle refuses (the report records forced: true).",
)  # fmt: skip
@click.option(
    "--target", "target_name", metavar="NAME",
    help="Name of this target in deployment reports [host name].",
)  # fmt: skip
@server_option
@api_key_option("Feed API key")
@space_option
@click.option("--file", "package_file", type=click.Path(path_type=Path), help="Deploy this file.")
@click.option("--root", required=True, type=click.Path(path_type=Path), help="Target root dir.")
@click.option("--environment", help="Environment name (a folder under the root).")
@click.option("--cache", "cache_dir", type=click.Path(path_type=Path), help="Package cache dir.")
@click.option("--keep", type=int, help="Keep the N newest successful releases (counts current).")
@click.option("--cleanup-only", is_flag=True, help="Apply --keep without deploying.")
@click.option("--variable", "variables", multiple=True, help="NAME=VALUE for scripts.")
@click.option("--sensitive-variable", "sensitive", multiple=True, help="NAME=VALUE, masked.")
@click.option("--variables-file", "variables_files", multiple=True, type=click.Path(path_type=Path))
@click.option("--substitute", multiple=True, help="Replace #{Name} in files matching GLOB.")
@click.option("--allow-missing-variables", is_flag=True, help="Leave unknown #{Name} as is.")
@click.option("--lock-timeout", type=float, default=600.0, show_default=True, help="Seconds.")
@click.option(
    "--dry-run", is_flag=True,
    help="Print the plan (steps, the values each variable would change, the health command) "
    "without touching the release folders.",
)  # fmt: skip
@output_format_option
@report_errors
def deploy_command(
    package_id: str | None,
    version: str | None,
    version_range: str | None,
    prerelease: bool,
    channel: str | None,
    force: bool,
    target_name: str | None,
    server: str | None,
    api_key: str | None,
    space: str | None,
    package_file: Path | None,
    root: Path,
    environment: str | None,
    cache_dir: Path | None,
    keep: int | None,
    cleanup_only: bool,
    variables: tuple[str, ...],
    sensitive: tuple[str, ...],
    variables_files: tuple[Path, ...],
    substitute: tuple[str, ...],
    allow_missing_variables: bool,
    lock_timeout: float,
    dry_run: bool,
    output_format: str,
) -> None:
    """Deploy a package: ID from the feed (--version, --range or latest) or --file PACKAGE.

    Extracts into {root}/{environment}/{id}/{version}, runs PreDeploy, substitutes
    variables (and structured variables of the package's octopack.toml), runs Deploy and
    PostDeploy, runs the health check, then points `current` at the release. With a
    lifecycle on the feed, an environment takes only versions that passed the phase before
    it. Every deployment against a feed is reported to it (reports that cannot be sent
    wait in {root}/.octopack/outbox/ and go first on the next run).
    """
    from packer.target import deploy
    from packer.target.layout import check_segment
    from packer.target.promotion import Wanted
    from packer.target.variables import Variables

    if version and version_range:
        raise BadInput("give --version or --range, not both")
    if keep is not None and keep < 1:
        raise BadInput(f"--keep {keep} must be at least 1 (the current release always stays)")
    if environment is not None:
        check_segment(environment, "environment")
    echo = _echo_for(output_format)
    options = deploy.DeployOptions(
        root=_check_root(root),
        environment=environment,
        cache_dir=cache_dir.resolve() if cache_dir else None,
        keep=keep,
        variables=Variables.build(variables, sensitive, variables_files),
        substitute=list(substitute),
        allow_missing_variables=allow_missing_variables,
        lock_timeout=lock_timeout,
        echo=echo,
        progress=progress,
    )
    if cleanup_only:
        if keep is None:
            raise BadInput("--cleanup-only needs --keep N")
        result = deploy.cleanup(options, package_id)
        _report_cleanup(package_id, environment, result, output_format)
        return
    if package_file is not None:
        if version or version_range or channel:
            raise BadInput(
                "--file takes id and version from the package; drop --version/--range/--channel"
            )
    elif not package_id:
        raise BadInput("give a package ID to deploy from the feed, or --file PACKAGE")
    wanted = Wanted(package_id or "", version, version_range, prerelease, environment,
                    channel, force)  # fmt: skip
    if dry_run:
        _dry_run(options, package_file, wanted, server, api_key, space, output_format)
        return
    try:
        outcome = _deploy_reported(options, package_file, wanted, target_name,
                                   server, api_key, space)  # fmt: skip
    except OperationFailed as error:
        if output_format == "json":  # a pipeline still gets one document saying what happened
            refused = isinstance(error, UnsafeArchive)
            status = DeployStatus.REFUSED if refused else DeployStatus.FAILED
            report = DeployReport(
                package_id, version, environment, None, status, message=str(error)
            )
            print_json(report.to_json())
            raise shown_as_json(error) from None
        raise
    if output_format == "json":
        print_json(outcome.to_json())
    elif outcome.status == DeployStatus.SUCCESS:
        for warning in outcome.warnings:
            click.echo(f"warning: {warning}")
        click.echo(f"deployed {outcome.id} {outcome.version} to {outcome.directory}")
        for item in outcome.deleted:
            click.echo(f"retention deleted {item['version']} ({item['directory']})")
    if outcome.status != DeployStatus.SUCCESS:
        failed = OperationFailed(
            f"deploy of {outcome.id} {outcome.version} failed: {outcome.message}; "
            f"the release stays in {outcome.directory} for inspection"
        )
        raise shown_as_json(failed) if output_format == "json" else failed


def _deploy_reported(
    options: Any,
    package_file: Path | None,
    wanted: Wanted,
    target_name: str | None,
    server: str | None,
    api_key: str | None,
    space: str | None,
) -> DeployReport:
    """Deploy, reporting to the feed when there is one (`--file` only with --server).

    The outbox goes first; the report of this deployment goes last, also when it failed.
    """
    from packer.client.deployments import DeploymentsClient
    from packer.target import deploy
    from packer.target.outbox import Outbox
    from packer.target.promotion import choose_version
    from packer.target.reporting import Reporter

    if package_file is not None and not server:
        return deploy.deploy_file(package_file.resolve(), options, wanted.package_id or None)
    with DeploymentsClient(server or "", api_key, space) as client:
        outbox = Outbox(options.layout.state_dir)
        reporter = Reporter(client, outbox, options.echo, target_name)
        reporter.flush()
        options = replace(options, on_finish=reporter.record)
        try:
            if package_file is not None:
                return deploy.deploy_file(
                    package_file.resolve(), options, wanted.package_id or None
                )
            choice = choose_version(client, wanted)
            reporter.forced = choice.forced
            return deploy.deploy_from_feed(
                options, wanted.package_id, choice.version, None, False, server, api_key,
                space, client=client,
            )  # fmt: skip
        finally:
            reporter.flush()


def _dry_run(
    options: Any,
    package_file: Path | None,
    wanted: Wanted,
    server: str | None,
    api_key: str | None,
    space: str | None,
    output_format: str,
) -> None:
    """Print what the deploy would do; the release folders stay as they are."""
    from packer.client.deployments import DeploymentsClient
    from packer.target import deploy
    from packer.target.plan import plan_package
    from packer.target.promotion import choose_version

    if package_file is not None:
        package = deploy.local_package(package_file.resolve(), options, wanted.package_id or None)
    else:
        with DeploymentsClient(server or "", api_key, space) as client:
            choice = choose_version(client, wanted)
            package = deploy.fetch_from_feed(
                options, wanted.package_id, choice.version, None, False, server, api_key,
                space, client=client,
            )  # fmt: skip
    plan = plan_package(package, options)
    if output_format == "json":
        print_json(plan.to_json())
        return
    environment = f" to {plan.environment}" if plan.environment else ""
    click.echo(f"plan: deploy {plan.id} {plan.version}{environment} (dry run, nothing changed)")
    for number, step in enumerate(plan.steps, start=1):
        click.echo(f"  {number}. {step['name']}: {step['detail']}")
    for change in plan.changes:
        click.echo(f"  change {change.file}: {change.key}: {change.old!r} -> {change.new!r}")
    for warning in plan.warnings:
        click.echo(f"warning: {warning}")


def _report_cleanup(
    package_id: str | None, environment: str | None, result: Any, output_format: str
) -> None:
    """Print what --cleanup-only kept and deleted."""
    if output_format == "json":
        cleaned = DeployStatus.CLEANED
        report = DeployReport(
            package_id, None, environment, None, cleaned, [], result.kept, result.deleted
        )
        print_json(report.to_json())
        return
    for item in result.kept:
        click.echo(f"kept {item['id']} {item['version']} ({item['directory']})")
    for item in result.deleted:
        click.echo(f"deleted {item['id']} {item['version']} ({item['directory']})")


COMMANDS = [deploy_command]
