"""`octopack pack`: bundle a folder and its deploy scripts into a versioned zip, nupkg or tar.gz."""

from __future__ import annotations

import click

from packer.archive.zip.jobs import LEVELS
from packer.cli.common import output_format_option, print_json, report_errors
from packer.cli.progress import progress
from packer.model.formats import WRITABLE_FORMATS
from packer.pack.build import PackOptions, PackResult, pack

# octo's names for the levels, accepted too so pipelines move over unchanged.
_LEVEL_ALIASES = {"nocompression": "none", "fastest": "fast"}


def _level(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Accept none|fast|optimal and octo's NoCompression|Fastest|Optimal, any case."""
    text = value.lower()
    text = _LEVEL_ALIASES.get(text, text)
    if text not in LEVELS:
        raise click.BadParameter(f"{value!r} is not one of {', '.join(LEVELS)}")
    return text


@click.command("pack")
@click.option("--id", "package_id", required=True, help="Package id, e.g. Acme.Web.")
@click.option("--version", help="Package version [default: UTC time as YYYY.M.D.HHMMSS].")
@click.option(
    "--base-path", "--basePath", "base_path", default=".", show_default=True,
    help="Folder to pack.",
)  # fmt: skip
@click.option(
    "--format", "fmt", default="zip", show_default=True,
    type=click.Choice(WRITABLE_FORMATS, case_sensitive=False),
)  # fmt: skip
@click.option(
    "--out-folder", "--outFolder", "out_folder", default=".", show_default=True,
    help="Where the package is written (created if missing).",
)  # fmt: skip
@click.option(
    "--include", "includes", multiple=True, metavar="GLOB",
    help="Pack only paths matching GLOB, a case-sensitive pattern over the relative POSIX path "
    "('*.txt' matches at the root only, '**/*.txt' at any depth; a matched folder covers its "
    "contents). Repeatable; default everything, dotfiles included.",
)  # fmt: skip
@click.option(
    "--exclude", "excludes", multiple=True, metavar="GLOB",
    help="Leave out paths matching GLOB; wins over --include. Repeatable. A .octopackignore "
    "file (gitignore syntax) in the base path is applied too; .git/ is never packed.",
)  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace an existing package file.")
@click.option("--author", "authors", multiple=True, help="nupkg author. Repeatable.")
@click.option("--title", help="nupkg title.")
@click.option("--description", help="nupkg description.")
@click.option("--release-notes", "--releaseNotes", "release_notes", help="nupkg release notes.")
@click.option(
    "--release-notes-file", "--releaseNotesFile", "release_notes_file",
    help="Read the nupkg release notes from this file.",
)  # fmt: skip
@click.option(
    "--compression-level", "--compressionLevel", "compression_level", default="fast",
    show_default=True, callback=_level, metavar="|".join(LEVELS),
    help="fast (libdeflate level 1) is several times faster than octo's default, optimal, and the "
    "package a little larger (about 10%); optimal (libdeflate, zlib-ng) is about the size of zip -6 "
    "and still faster; none stores.",
)  # fmt: skip
@click.option(
    "--keep-timestamps", is_flag=True,
    help="Keep file modification times (default: SOURCE_DATE_EPOCH or 1980-01-01, so the "
    "same tree gives the same bytes).",
)  # fmt: skip
@click.option(
    "--threads", type=click.IntRange(1, 1024), envvar="OCTOPACK_THREADS", metavar="N",
    help="Compress with N workers (or OCTOPACK_THREADS): a zip or nupkg with N worker processes "
    "from 2 on, else threads [default: the CPUs this process may use, from its affinity and its "
    "cgroup's CPU quota]. The package is the same whatever N is.",
)  # fmt: skip
@output_format_option
@report_errors
def pack_command(
    package_id: str,
    version: str | None,
    base_path: str,
    fmt: str,
    out_folder: str,
    includes: tuple[str, ...],
    excludes: tuple[str, ...],
    overwrite: bool,
    authors: tuple[str, ...],
    title: str | None,
    description: str | None,
    release_notes: str | None,
    release_notes_file: str | None,
    compression_level: str,
    keep_timestamps: bool,
    threads: int | None,
    output_format: str,
) -> None:
    """Pack a folder with its deploy scripts into {id}.{version}.{zip|nupkg|tar.gz}.

    Deploy scripts (PreDeploy, Deploy, PostDeploy, DeployFailed with .sh, .py or .ps1) must
    sit at the root of the base path; the output is reproducible byte for byte.
    """
    options = PackOptions(
        package_id=package_id,
        version=version,
        base_path=base_path,
        format=fmt.lower(),
        out_folder=out_folder,
        includes=includes,
        excludes=excludes,
        overwrite=overwrite,
        authors=authors,
        title=title,
        description=description,
        release_notes=release_notes,
        release_notes_file=release_notes_file,
        compression_level=compression_level,
        keep_timestamps=keep_timestamps,
        threads=threads,
    )
    with progress("packing files", None) as counter:
        result = pack(options, progress=counter)
    if output_format.lower() == "json":
        print_json(result.to_json())
    else:
        _print_text(result)


def _print_text(result: PackResult) -> None:
    """The human summary: path, size, file count, sha256, scripts, warnings."""
    click.echo(f"Created {result.path}")
    click.echo(f"  size:    {result.size} bytes")
    click.echo(f"  files:   {result.file_count}")
    click.echo(f"  sha256:  {result.sha256}")
    click.echo(f"  scripts: {', '.join(result.scripts) if result.scripts else '(none)'}")
    if result.process is not None:
        _print_process(result.process)
    for warning in result.warnings:
        click.echo(f"warning: {warning}")


def _print_process(process: dict) -> None:
    """The deployment process of octopack.toml, one line per part."""
    health = process["health"]
    click.echo("  process (octopack.toml):")
    click.echo(f"    scripts folder: {process['scripts'] or '(package root)'}")
    click.echo(f"    substitute:     {', '.join(process['substitute']) or '(none)'}")
    click.echo(f"    structured:     {', '.join(process['structured']) or '(none)'}")
    click.echo(f"    environments:   {', '.join(process['environments']) or '(none)'}")
    click.echo(f"    secrets:        {', '.join(process['secrets']) or '(none)'}")
    click.echo(f"    health:         {health['command'] if health else '(none)'}")


COMMANDS = [pack_command]
