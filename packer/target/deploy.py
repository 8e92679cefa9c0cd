"""Target side of octopack: extract a verified package into a new release and run its scripts.

Order, as Octopus: extract (into a temp dir beside the release, renamed into place when
whole; the package's octopack.toml is read and its required secrets checked before the
rename), then the steps of `pipeline` (PreDeploy, substitution, structured variables,
Deploy, PostDeploy, health check); then `current` moves. Any failing step runs DeployFailed
and the deploy fails; the journal records every attempt.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from packer.archive import validator as archive
from packer.client.feed import FeedClient
from packer.model.conventions import DeployReport, DeployStatus, Transfer
from packer.model.errors import BadInput, OperationFailed, PackerError, UnsafeArchive
from packer.model.formats import detect_format
from packer.model.progress import ProgressFactory, no_progress
from packer.target.fetch import describe_local_file, fetch_package, select_version
from packer.target.journal import Journal, JournalEntry, one_line, utc_now
from packer.target.layout import TargetLayout
from packer.target.locks import exclusive_lock, lock_path
from packer.target.pipeline import StepRun, run_steps
from packer.target.private import open_private, private_dir
from packer.target.process import Process, resolve_process
from packer.target.retention import RetentionResult, apply_retention
from packer.target.scripts import StepResult
from packer.target.variables import Variables, script_environment


@dataclass
class DeployOptions:
    """How to deploy on this target: where, with which variables, what to keep."""

    root: Path
    environment: str | None = None
    cache_dir: Path | None = None
    keep: int | None = None
    variables: Variables = field(default_factory=Variables)
    substitute: list[str] = field(default_factory=list)
    allow_missing_variables: bool = False
    lock_timeout: float = 600.0
    echo: Callable[[str], None] = print
    now: Callable[[], str] = utc_now
    which: Callable[[str], str | None] = shutil.which
    limits: archive.Limits | None = None  # None means the shared defaults
    sleep: Callable[[float], None] = time.sleep  # between health-check attempts
    probe_folding: Callable[[Path], bool] = (
        archive.folds_names
    )  # once per deploy, where releases go
    on_finish: Callable[[JournalEntry], None] | None = None  # e.g. the feed report
    progress: ProgressFactory = no_progress  # download and extraction bars on a terminal

    @property
    def layout(self) -> TargetLayout:
        """Return the target layout under `root`."""
        return TargetLayout(self.root, self.cache_dir)


@dataclass(frozen=True)
class PackageToDeploy:
    """A package file on this machine and what it is; `cache_file` when we downloaded it."""

    path: Path
    package_id: str
    version: str
    fmt: str
    sha256: str | None = None
    from_cache: bool = False
    transfer: Transfer | None = None  # how it came from the feed


def deploy_package(package: PackageToDeploy, options: DeployOptions) -> DeployReport:
    """Deploy one local package file under the id/environment lock; see the module doc."""
    layout = options.layout
    env = options.environment
    package_dir = layout.package_dir(package.package_id, env)  # validates id and environment
    lock = lock_path(layout.state_dir, package.package_id, env)
    describe = package.package_id + (f" to {env}" if env else "")
    with exclusive_lock(lock, options.lock_timeout, describe, on_wait=_masked(options)):
        return _deploy_locked(package, options, layout, package_dir)


def _masked(options: DeployOptions) -> Callable[[str], None]:
    """Wrap `echo` so sensitive values never reach the console."""
    return lambda text: options.echo(options.variables.mask(text))


def _deploy_locked(
    package: PackageToDeploy, options: DeployOptions, layout: TargetLayout, package_dir: Path
) -> DeployReport:
    """Extract, run the steps, move `current` and apply retention; the lock is held."""
    echo = _masked(options)
    journal = Journal(layout.state_dir, options.now)
    entry = JournalEntry(
        id=package.package_id,
        version=package.version,
        environment=options.environment,
        directory=None,
        started=options.now(),
        sha256=package.sha256,
        package_file=str(package.path) if package.from_cache else None,
    )
    journal.record(entry)
    previous = layout.current_target(package.package_id, options.environment)
    try:
        release, process = _extract_release(package, options, layout, package_dir)
    except PackerError as error:
        refused = isinstance(error, UnsafeArchive)
        if refused:
            entry.package_file = None
            if package.from_cache:
                package.path.unlink(missing_ok=True)  # the cache keeps nothing refused
        status = DeployStatus.REFUSED if refused else DeployStatus.FAILED
        _finish(journal, entry, options, status, _described(error))
        error.args = (entry.message,)  # the one line the journal holds, shown on the console
        raise
    except OSError as error:
        message = f"extracting {package.path.name} failed: {_described(error)}"
        _finish(journal, entry, options, DeployStatus.FAILED, message)
        raise OperationFailed(entry.message) from error
    except BaseException as error:  # interrupted, or out of memory: the entry still closes
        message = f"extracting {package.path.name} stopped: {type(error).__name__}"
        message += f": {error}" if str(error) else ""
        _finish(journal, entry, options, DeployStatus.FAILED, _described(error, message))
        raise
    entry.directory = str(release)
    journal.record(entry)
    options = replace(options, variables=process.variables)  # the manifest's, and secrets masked
    echo = _masked(options)
    echo(f"extracted {package.package_id} {package.version} to {release}")
    warnings: list[str] = []
    try:
        steps, failure = _run_steps(package, options, layout, release, previous, process, warnings)
        entry.steps = [{"name": s.name, "exit_code": s.exit_code} for s in steps]
        if failure is None:
            layout.point_current(package.package_id, options.environment, release)
    except BaseException as error:  # interrupted, or a script could not even start
        _finish(journal, entry, options, DeployStatus.FAILED, f"{type(error).__name__}: {error}")
        if isinstance(error, OSError):
            raise OperationFailed(f"deploy of {release} stopped: {error}") from error
        raise
    status = DeployStatus.SUCCESS if failure is None else DeployStatus.FAILED
    _finish(journal, entry, options, status, failure)
    result = DeployReport(
        package.package_id,
        package.version,
        options.environment,
        str(release),
        entry.status,
        entry.steps,
        message=entry.message,
        warnings=warnings,
    )
    if failure is None and options.keep is not None:
        retention = apply_retention(
            options.root,
            journal,
            options.keep,
            package.package_id,
            options.environment,
            layout.current_link(package.package_id, options.environment),
            layout.cache_dir,
        )
        result.kept, result.deleted = retention.kept, retention.deleted
    return result


def _finish(
    journal: Journal, entry: JournalEntry, options: DeployOptions, status: str, message: str | None
) -> None:
    """Record the end of a deployment (messages masked)."""
    entry.status = status
    entry.success = status == DeployStatus.SUCCESS
    entry.finished = options.now()
    entry.message = one_line(options.variables.mask(message)) if message else None
    journal.record(entry)
    if options.on_finish is not None:
        options.on_finish(entry)


def _extract_release(
    package: PackageToDeploy, options: DeployOptions, layout: TargetLayout, package_dir: Path
) -> tuple[Path, Process]:
    """Extract into a temp dir beside the release, read its process, rename it into place."""
    release = layout.free_release_dir(package.package_id, options.environment, package.version)
    package_dir.mkdir(parents=True, exist_ok=True)
    temp = package_dir / f".{release.name}.extracting-{uuid.uuid4().hex[:12]}"
    limits = limits_of(options)
    try:
        archive.extract_archive(
            package.path,
            package.fmt,
            temp,
            limits,
            progress=options.progress,
            refuse_folded=options.probe_folding(package_dir),
        )
        process = resolve_process(temp, options.environment, options.variables, options.substitute)
        _fsync_directory(temp)
        os.rename(temp, release)
    except BaseException as error:
        _discard(temp, error)
        _remove_empty(package_dir, options.root)
        raise
    _fsync_directory(package_dir)
    return release, process


def _described(error: BaseException, text: str | None = None) -> str:
    """Return an error's message (or `text`) with any notes added to it."""
    notes = getattr(error, "__notes__", [])
    return "; ".join([text or str(error), *notes])


def _discard(temp: Path, error: BaseException) -> None:
    """Remove a failed extraction's temp folder, at any depth; note on `error` if we cannot."""
    try:
        if os.path.lexists(temp):
            archive.remove_tree(temp)
    except OSError as failure:
        error.add_note(f"could not remove {temp}: {failure}")


def _remove_empty(directory: Path, root: Path) -> None:
    """Remove `directory` and its parents up to `root` while they are empty."""
    while directory != root and directory.is_relative_to(root):
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def _fsync_directory(path: Path) -> None:
    """Flush a directory's entries to disk (one fsync, not one per file)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _run_steps(
    package: PackageToDeploy,
    options: DeployOptions,
    layout: TargetLayout,
    release: Path,
    previous: Path | None,
    process: Process,
    warnings: list[str],
) -> tuple[list[StepResult], str | None]:
    """Run the steps of `pipeline` with the release's environment, logged to one file."""
    context = {
        "OCTOPACK_PACKAGE_ID": package.package_id,
        "OCTOPACK_PACKAGE_VERSION": package.version,
        "OCTOPACK_INSTALL_DIR": str(release),
        "OCTOPACK_ENVIRONMENT": options.environment or "",
        "OCTOPACK_PREVIOUS_INSTALL_DIR": str(previous) if previous else "",
    }
    env = script_environment(os.environ, context, process.variables)
    private_dir(layout.logs_dir)
    log_fd = open_private(_log_path(layout, package, options, release), os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(log_fd, "w", encoding="utf-8") as log:
        run = StepRun(release, env, process, _masked(options), log,
                      options.allow_missing_variables, options.which, options.sleep, warnings)  # fmt: skip
        return run_steps(run)


def _log_path(
    layout: TargetLayout, package: PackageToDeploy, options: DeployOptions, release: Path
) -> Path:
    """Name the log of one deployment: environment, id, release directory and start time."""
    stamp = options.now().replace(":", "").replace("-", "")
    env = options.environment or "_"
    return layout.logs_dir / f"{env}.{package.package_id}.{release.name}.{stamp}.log"


def limits_of(options: DeployOptions) -> archive.Limits:
    """Return the archive limits of this deploy (the shared defaults unless given)."""
    return options.limits if options.limits is not None else archive.Limits()


def deploy_file(path: Path, options: DeployOptions, package_id: str | None = None) -> DeployReport:
    """Deploy a package file already on this machine (an offline drop); it is not cached."""
    return deploy_package(local_package(path, options, package_id), options)


def local_package(path: Path, options: DeployOptions, package_id: str | None) -> PackageToDeploy:
    """Describe a package file on this machine; refuse one that holds another id."""
    found_id, version, fmt = describe_local_file(path, limits_of(options))
    if package_id is not None and package_id.lower() != found_id.lower():
        raise BadInput(f"{path.name} holds package {found_id!r}, not {package_id!r}")
    return PackageToDeploy(path, found_id, version, fmt)


def deploy_from_feed(
    options: DeployOptions,
    package_id: str,
    version: str | None,
    version_range: str | None,
    prerelease: bool,
    server: str | None,
    api_key: str | None,
    space: str | None = None,
    client: FeedClient | None = None,
) -> DeployReport:
    """Pick a version on the feed, fetch it into the cache verified, and deploy it."""
    package = fetch_from_feed(
        options, package_id, version, version_range, prerelease, server, api_key, space, client
    )
    report = deploy_package(package, options)
    report.transfer = package.transfer
    return report


def fetch_from_feed(
    options: DeployOptions,
    package_id: str,
    version: str | None,
    version_range: str | None,
    prerelease: bool,
    server: str | None,
    api_key: str | None,
    space: str | None = None,
    client: FeedClient | None = None,
) -> PackageToDeploy:
    """Pick a version on the feed and fetch it into the cache, verified."""
    echo = _masked(options)
    with nullcontext(client) if client else FeedClient(server or "", api_key, space) as feed:
        chosen = select_version(feed, package_id, version, version_range, prerelease)
        path, found_id, found_version, sha, transfer = fetch_package(
            feed,
            options.layout.cache_dir,
            package_id,
            chosen,
            options.lock_timeout,
            echo,
            limits_of(options).max_package_bytes,
            options.progress,
        )
    fmt = detect_format(path.name)
    return PackageToDeploy(path, found_id, found_version, fmt, sha, True, transfer)


def cleanup(options: DeployOptions, package_id: str | None) -> RetentionResult:
    """Apply target retention without deploying: one id, or every id the journal knows."""
    if options.keep is None:
        raise OperationFailed("--cleanup-only needs --keep N")
    layout = options.layout
    journal = Journal(layout.state_dir, options.now)
    if package_id is not None:
        groups = {(package_id, options.environment)}
    else:
        groups = {
            (e.id, e.environment)
            for e in journal.entries()
            if e.directory and options.environment in (None, e.environment)
        }
    total = RetentionResult()
    for group_id, env in sorted(groups, key=lambda g: (g[0].lower(), g[1] or "")):
        lock = lock_path(layout.state_dir, group_id, env)
        describe = group_id + (f" to {env}" if env else "")
        with exclusive_lock(lock, options.lock_timeout, describe, on_wait=_masked(options)):
            result = apply_retention(
                options.root,
                journal,
                options.keep,
                group_id,
                env,
                layout.current_link(group_id, env),
                layout.cache_dir,
            )
        total.kept += result.kept
        total.deleted += result.deleted
    return total


def default_echo(text: str) -> None:
    """Print a line of deploy output on stdout."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
