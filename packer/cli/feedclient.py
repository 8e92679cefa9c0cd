"""`octopack push`, `import` and `versions`: the feed client on the command line."""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from packer.cli.common import (
    FAILED_EXIT,
    api_key_option,
    output_format_option,
    print_json,
    report_errors,
    server_option,
    space_option,
)
from packer.cli.progress import progress as progress_bar
from packer.cli.storage_option import storage_failures, storage_option
from packer.client.deployments import DeploymentsClient
from packer.client.feed import FeedClient
from packer.client.results import PushReport, check_local_package
from packer.model.conventions import OverwriteMode, PushStatus
from packer.model.errors import BadInput, PackerError
from packer.model.formats import EXTENSIONS
from packer.model.identity import validate_id
from packer.model.ranges import parse_range

feed_key_option = api_key_option("API key sent as X-Octopus-ApiKey")


def network_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--retries and --timeout, shared by every command that talks to a feed."""
    func = click.option(
        "--timeout",
        type=click.FloatRange(min=0.1),
        default=300.0,
        show_default=True,
        help="Seconds to wait for each answer (and for each read of a transfer).",
    )(func)
    return click.option(
        "--retries",
        type=click.IntRange(min=0),
        default=4,
        show_default=True,
        help="Retries after a network error or 5xx, with exponential backoff from 0.5s.",
    )(func)


def _client(
    server: str | None, api_key: str | None, space: str | None, retries: int, timeout: float
) -> DeploymentsClient:
    """A feed client (with the promotion calls) from the command line options."""
    return DeploymentsClient(
        server or "", api_key=api_key, space=space, retries=retries, timeout=(10.0, timeout)
    )


def overwrite_option(default: str) -> Callable[[Any], Any]:
    """The --overwrite-mode option (alias --overwriteMode) with a per-command default."""
    return click.option(
        "--overwrite-mode",
        "--overwriteMode",
        "overwrite_mode",
        default=default,
        show_default=True,
        metavar="|".join(mode.cli_name for mode in OverwriteMode),
        help="What the feed does when the version exists (Octopus names also accepted).",
    )


HTTP_OVERWRITE_HINT = f"overwriteMode={OverwriteMode.OVERWRITE_EXISTING.value}"
CLI_OVERWRITE_HINT = f"--overwrite-mode {OverwriteMode.OVERWRITE_EXISTING.cli_name}"


def in_cli_words(result: PushReport) -> PushReport:
    """Say the feed's overwrite hint as the command line spells it."""
    message = result.message.replace(HTTP_OVERWRITE_HINT, CLI_OVERWRITE_HINT)
    return dataclasses.replace(result, message=message)


def _report(results: list[PushReport], output_format: str) -> None:
    """Print the results (json document or one line each) and exit 1 unless all are ok."""
    results = [in_cli_words(result) for result in results]
    if output_format == "json":
        print_json({"results": [result.to_json() for result in results]})
    else:
        for result in results:
            line = f"{result.status}: {result.id} {result.version} ({result.file}) {result.message}"
            click.echo(line, err=not result.ok)
    if not all(result.ok for result in results):
        sys.exit(FAILED_EXIT)


class _Pusher:
    """Push files one by one; once the feed gave no answer after retries, send no more."""

    def __init__(self, client: FeedClient, mode: OverwriteMode) -> None:
        self.client = client
        self.mode = mode
        self.unreachable: str | None = None

    def push(self, path: Path, filename: str | None = None) -> PushReport:
        """Push one file, turning a failure to reach the feed into an `error` result."""
        package_id, version, size = check_local_package(path, filename)
        if self.unreachable:
            message = f"not sent: an earlier push failed: {self.unreachable}"
            return PushReport(str(path), package_id, version, PushStatus.ERROR, message)
        try:
            with progress_bar(path.name, size) as progress:
                return self.client.push(path, self.mode, progress=progress, filename=filename)
        except BadInput as error:
            return PushReport(str(path), package_id, version, PushStatus.ERROR, str(error))
        except PackerError as error:
            self.unreachable = str(error)
            return PushReport(str(path), package_id, version, PushStatus.ERROR, str(error))


@click.command("push")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@server_option
@feed_key_option
@space_option
@overwrite_option("fail-if-exists")
@click.option(
    "--replace-existing",
    is_flag=True,
    help="Legacy octo flag: the same as --overwrite-mode overwrite-existing.",
)
@network_options
@output_format_option
@report_errors
def push_command(
    files: tuple[Path, ...],
    server: str | None,
    api_key: str | None,
    space: str | None,
    overwrite_mode: str,
    replace_existing: bool,
    retries: int,
    timeout: float,
    output_format: str,
) -> None:
    """Push package files (Id.Version.ext) to a feed.

    Every file is checked before anything is sent. Exit 0 when all were created, kept or
    overwritten; 1 when any conflict, refusal or error; 2 for a missing or misnamed file.
    """
    mode = (
        OverwriteMode.OVERWRITE_EXISTING
        if replace_existing
        else OverwriteMode.parse(overwrite_mode)
    )
    for path in files:
        check_local_package(path)
    with _client(server, api_key, space, retries, timeout) as client:
        pusher = _Pusher(client, mode)
        results = [pusher.push(path) for path in files]
    _report(results, output_format)


def find_packages(folder: Path) -> list[Path]:
    """Every file below `folder` whose name ends in a package extension, in a stable order.

    Covers Octopus built-in repository folders and package caches and NuGet folder feeds
    (`{id}/{version}/{id}.{version}.nupkg`; their .nuspec and .sha512 files are not packages).
    """
    suffixes = tuple("." + extension for extension in EXTENSIONS)
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root, name) for name in sorted(names) if name.lower().endswith(suffixes))
    return found


_CACHE_NAME = re.compile(r"(?P<id>[^@/]+)@S(?P<version>[^@/]+)@[0-9A-Za-z-]+(?P<ext>\.[a-z0-9.]+)")


def upload_name(path: Path) -> str:
    """The Id.Version.ext name to upload a file under.

    Octopus package caches name files `{Id}@S{Version}@{hash}.{ext}`; everything else is
    uploaded under its own name.
    """
    match = _CACHE_NAME.fullmatch(path.name)
    if match:
        return f"{match['id']}.{match['version']}{match['ext']}"
    return path.name


def _import_to_server(
    packages: list[Path], client: FeedClient, mode: OverwriteMode
) -> list[PushReport]:
    """Push each package, reporting a misnamed or unreadable one without stopping."""
    pusher = _Pusher(client, mode)
    results = []
    for path in packages:
        try:
            results.append(pusher.push(path, upload_name(path)))
        except BadInput as error:
            results.append(PushReport(str(path), "", "", PushStatus.ERROR, str(error)))
    return results


def _import_to_storage(
    packages: list[Path], location: str, mode: OverwriteMode
) -> list[PushReport]:
    """Add each package straight through the feed's repository core (no server needed)."""
    from feed.core.errors import PackageConflict
    from packer.cli.feedroot import feed_at

    repository = feed_at(location).repository
    results = []
    for path in packages:
        try:
            name = upload_name(path)
            package_id, version, _ = check_local_package(path, name)
            with storage_failures(location):
                outcome = repository.add_package(path, name, mode)
        except BadInput as error:
            results.append(PushReport(str(path), "", "", PushStatus.ERROR, str(error)))
            continue
        except PackerError as error:
            conflict = isinstance(error, PackageConflict)
            status = PushStatus.CONFLICT if conflict else PushStatus.REFUSED
            results.append(PushReport(str(path), package_id, version, status, str(error)))
            continue
        record = outcome.record
        message = f"{outcome.status} in {location}"
        results.append(PushReport(str(path), record.id, record.version, outcome.status, message))
    return results


@click.command("import")
@click.argument("folder", type=click.Path(path_type=Path))
@server_option
@feed_key_option
@space_option
@storage_option("Add straight to a feed's storage instead.")
@overwrite_option("ignore-if-exists")
@network_options
@output_format_option
@report_errors
def import_command(
    folder: Path,
    server: str | None,
    api_key: str | None,
    space: str | None,
    storage: str | None,
    overwrite_mode: str,
    retries: int,
    timeout: float,
    output_format: str,
) -> None:
    """Push every package file found below FOLDER (recursively), reporting each.

    Reads Octopus built-in repository folders and NuGet folder feeds. The default
    ignore-if-exists makes a repeated import a no-op. Exit 1 when any package failed.
    """
    if not folder.is_dir():
        raise BadInput(f"import folder {str(folder)!r} is not a directory")
    mode = OverwriteMode.parse(overwrite_mode)
    packages = find_packages(folder)
    if not packages:
        raise BadInput(f"no package files (.{', .'.join(EXTENSIONS)}) below {str(folder)!r}")
    if storage:
        results = _import_to_storage(packages, storage, mode)
    else:
        with _client(server, api_key, space, retries, timeout) as client:
            results = _import_to_server(packages, client, mode)
    _report(results, output_format)


@click.command("versions")
@click.argument("package_id", metavar="ID")
@server_option
@feed_key_option
@space_option
@click.option("--range", "version_range", metavar="RANGE", help="NuGet range, e.g. [1.0,2.0).")
@click.option("--prerelease", is_flag=True, help="Include pre-release versions.")
@click.option("--latest", is_flag=True, help="Only the newest matching version.")
@click.option("--channel", metavar="NAME", help="Only versions the feed's channel NAME admits.")
@network_options
@output_format_option
@report_errors
def versions_command(
    package_id: str,
    server: str | None,
    api_key: str | None,
    space: str | None,
    version_range: str | None,
    prerelease: bool,
    latest: bool,
    channel: str | None,
    retries: int,
    timeout: float,
    output_format: str,
) -> None:
    """List the versions of a package on a feed, newest first (exit 1 when none match)."""
    validate_id(package_id)
    if version_range:
        parse_range(version_range)
    with _client(server, api_key, space, retries, timeout) as client:
        if channel:
            rule = client.channel(channel, package_id)
            listed = client.versions(package_id, version_range, prerelease or rule.wants_prerelease)
            found = [v for v in listed if rule.matches(v.version)][: 1 if latest else None]
        else:
            found = client.versions(package_id, version_range, prerelease, latest)
    if output_format == "json":
        print_json(
            {
                "id": package_id,
                "versions": [
                    {"version": v.version, "published": v.published, "size": v.size} for v in found
                ],
            }
        )
    else:
        for info in found:
            click.echo(info.version)
    if not found:
        wanted = f" in range {version_range}" if version_range else ""
        wanted += f" in channel {channel!r}" if channel else ""
        click.echo(f"error: no versions of {package_id}{wanted} on {client.server}", err=True)
        sys.exit(FAILED_EXIT)


COMMANDS = [push_command, import_command, versions_command]
