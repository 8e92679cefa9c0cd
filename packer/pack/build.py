"""Build a package: options, nupkg metadata, the writers, an atomic temp-then-rename.

The output is reproducible (sorted entries, fixed timestamps and modes) and appears only when
complete: it is written to a temp file in the out folder and renamed at the end.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO

from packer.archive.zip.writer import LEVELS, ZipEntry, write_zip
from packer.model.errors import BadInput, PackerError
from packer.model.formats import WRITABLE_FORMATS, archive_format
from packer.model.identity import package_filename, validate_id
from packer.model.progress import Progress
from packer.model.versions import parse_version
from packer.pack.collect import EPOCH_1980, TEMP_PREFIX, SourceFile, Tally, find_scripts, iter_files
from packer.pack.cpus import usable_cpus
from packer.pack.memory import return_big_buffers
from packer.pack.process import ProcessCheck
from packer.pack.walkproc import stream_files

if TYPE_CHECKING:
    from packer.model.nuspec import NuspecMetadata

# nupkg (nuspec, defusedxml) and tar.gz modules are imported only when those formats are
# asked for: every millisecond of start-up counts against a 2-second pack.

DEFAULT_AUTHORS = "octopack"
# from this many workers on, a zip is written by processes: on 2 loaded cores 2 processes took
# half the wall time of 2 threads (GIL waits on every read's return), 1 thread stays in-process
PROCESS_MIN = 2
DEFAULT_DESCRIPTION = "A deployment package built by octopack."


@dataclass
class PackOptions:
    """Everything `octopack pack` takes; defaults as documented for the command."""

    package_id: str
    version: str | None = None
    base_path: str = "."
    format: str = "zip"
    out_folder: str = "."
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    overwrite: bool = False
    authors: tuple[str, ...] = ()
    title: str | None = None
    description: str | None = None
    release_notes: str | None = None
    release_notes_file: str | None = None
    compression_level: str = "fast"
    keep_timestamps: bool = False
    threads: int | None = None  # compression threads; None: the CPUs this process may use


@dataclass
class PackResult:
    """What `pack` produced; `to_json` gives the documented JSON keys."""

    path: str
    id: str
    version: str
    normalized_version: str
    format: str
    size: int
    sha256: str
    file_count: int
    scripts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    process: dict | None = None  # octopack.toml's summary; absent from JSON without one

    def to_json(self) -> dict:
        document = dict(self.__dict__)
        if self.process is None:
            del document["process"]
        return document


# building ----------------------------------------------------------------------------------


def source_date_epoch(env: Mapping[str, str]) -> int:
    """SOURCE_DATE_EPOCH (clamped to 1980, zip's first year) or 1980-01-01."""
    text = env.get("SOURCE_DATE_EPOCH", "").strip()
    if not text:
        return EPOCH_1980
    try:
        return max(int(text), EPOCH_1980)
    except ValueError:
        raise BadInput(f"SOURCE_DATE_EPOCH {text!r} is not a whole number of seconds") from None


def default_version(now: datetime) -> str:
    """A UTC timestamp version `YYYY.M.D.HHMMSS` (no leading zero, so it is its own normal form)."""
    now = now.astimezone(UTC)
    return f"{now.year}.{now.month}.{now.day}.{now.hour * 10000 + now.minute * 100 + now.second}"


def pack(
    options: PackOptions,
    *,
    now: datetime | None = None,
    env: Mapping[str, str] | None = None,
    writer_options: dict | None = None,
    progress: Progress | None = None,
) -> PackResult:
    """Build the package described by `options`; raise BadInput before writing anything bad.

    `progress` hears (files, bytes) as the walk hands each file to the writer.
    """
    env = os.environ if env is None else env
    package_id = validate_id(options.package_id)
    version_text = options.version or default_version(now or datetime.now(UTC))
    version = parse_version(version_text)
    fmt = options.format.lower()
    if fmt not in WRITABLE_FORMATS:
        choices = ", ".join(WRITABLE_FORMATS)
        raise BadInput(f"unknown format {options.format!r}: use one of {choices}")
    if options.compression_level not in LEVELS:
        raise BadInput(f"unknown compression level {options.compression_level!r}")
    if options.threads is not None and options.threads < 1:
        raise BadInput(f"--threads must be at least 1, not {options.threads}")
    release_notes = _release_notes(options)
    if not os.path.isdir(options.base_path):
        raise BadInput(f"base path {options.base_path} does not exist or is not a directory")
    process = ProcessCheck.load(options.base_path)  # a bad manifest stops us before writing
    out_dir = os.path.abspath(options.out_folder)
    final = os.path.join(out_dir, package_filename(package_id, version_text, fmt))
    if os.path.exists(final) and not options.overwrite:
        raise BadInput(f"{final} already exists; pass --overwrite to replace it")
    return_big_buffers()
    warnings: list[str] = []  # the walk's (names differing only in case) and the nupkg's
    walk = iter_files(
        options.base_path,
        tuple(options.includes),
        tuple(options.excludes),
        skip=_skip_paths(out_dir, final),
        mtime=None if options.keep_timestamps else source_date_epoch(env),
        warnings=warnings,
    )
    files = stream_files(walk, warnings)  # walked by a child process, beside the compression
    try:
        tally = Tally()
        source = process.watch(files) if process else files
        if progress is not None:
            source = _counted(source, progress)
        if fmt == "nupkg":
            collected = list(source)
            kept, meta = _nupkg_metadata(options, collected, version_text, release_notes, warnings)
            for item in kept:
                tally.add(item)
            entries: Iterable[ZipEntry] = _nupkg_entries(kept, meta, source_date_epoch(env))
        else:
            entries = _entries(source, tally)

        def check_found() -> None:
            if not tally.files:
                raise BadInput(f"nothing to pack: no file under {options.base_path} matched")
            if process:
                process.finish()

        writer_options = {"workers": options.threads or usable_cpus(), **(writer_options or {})}
        size, digest = _write_atomically(out_dir, final, options.overwrite, fmt, entries, options,
                                         writer_options, check_found)  # fmt: skip
        scripts, script_warnings = find_scripts(tally.script_like)
        summary = None
        if process:
            scripts, script_warnings = process.scripts(
                (scripts, script_warnings), tally.script_like
            )
            script_warnings += process.warnings()
            summary = process.summary()
        return PackResult(final, package_id, version_text, version.normalized, fmt, size, digest,
                          tally.files, scripts, script_warnings + warnings, summary)  # fmt: skip
    finally:
        files.close()  # type: ignore[attr-defined]  # reaps the walker process on every path


def _release_notes(options: PackOptions) -> str | None:
    if options.release_notes_file is None:
        return options.release_notes
    if options.release_notes is not None:
        raise BadInput("use either --release-notes or --release-notes-file, not both")
    try:
        with open(options.release_notes_file, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"cannot read release notes file {options.release_notes_file}: "
                       f"{getattr(error, 'strerror', None) or error}") from error  # fmt: skip


def _skip_paths(out_dir: str, final: str) -> set[str]:
    """What the walk must not pack: the out folder inside the base and the package itself.

    The out folder is listed too so that temp files in it (`.octopack-*`) are skipped; when
    it is the base path itself, listing it skips nothing else (the base is never a child).
    """
    out_real = os.path.realpath(out_dir)
    return {os.path.join(out_real, os.path.basename(final)), out_real}


def _nupkg_metadata(
    options: PackOptions,
    files: list[SourceFile],
    version_text: str,
    release_notes: str | None,
    warnings: list[str],
) -> tuple[list[SourceFile], NuspecMetadata]:
    """Take metadata from `{id}.nuspec` in the base path, if any; command-line values win."""
    own = f"{options.package_id}.nuspec".lower()
    from packer.archive.nupkg import check_part_name
    from packer.model.nuspec import NuspecMetadata

    kept, meta = [], NuspecMetadata(id=options.package_id, version=version_text)
    for item in files:
        if item.name.lower() == own:
            meta = _read_nuspec(item.path or "")
            continue
        if "/" not in item.name and item.name.lower().endswith(".nuspec"):
            raise BadInput(f"{item.name} would be a second nuspec in the package; exclude it")
        if item.path is None:
            warnings.append(f"empty directory {item.name} is not kept: a nupkg has no directories")
            continue
        check_part_name(item.name)
        kept.append(item)
    meta = replace(meta, id=options.package_id, version=version_text)
    if options.authors:
        meta.authors = ", ".join(options.authors)
    for attr in ("title", "description"):
        if getattr(options, attr) is not None:
            setattr(meta, attr, getattr(options, attr))
    if release_notes is not None:
        meta.release_notes = release_notes
    meta.authors = meta.authors or DEFAULT_AUTHORS
    meta.description = meta.description or DEFAULT_DESCRIPTION
    return kept, meta


def _read_nuspec(path: str) -> NuspecMetadata:
    from packer.model.nuspec import parse_nuspec

    try:
        with open(path, "rb") as handle:
            return parse_nuspec(handle.read())
    except OSError as error:
        raise BadInput(f"cannot read {path}: {error.strerror}") from error
    except PackerError as error:
        raise BadInput(f"{path}: {error}") from error


def _counted(files: Iterable[SourceFile], progress: Progress) -> Iterator[SourceFile]:
    """Pass the walk through, telling `progress` the files and bytes so far."""
    count = size = 0
    for item in files:
        if item.path is not None:
            count, size = count + 1, size + (item.size or 0)
            progress(count, size)
        yield item


def _entries(files: Iterable[SourceFile], tally: Tally) -> Iterator[ZipEntry]:
    """Archive entries as the walk finds them (a SourceFile is a ZipEntry), counted."""
    add = tally.add
    for f in files:
        add(f)
        yield f  # type: ignore[misc]


def _nupkg_entries(files: list[SourceFile], meta: NuspecMetadata, epoch: int) -> list[ZipEntry]:
    """nupkg entries in order of their escaped names, the nuspec and OPC parts among them."""
    from packer.archive.nupkg import opc_parts, part_name

    entries = [ZipEntry(part_name(f.name), f.mode, f.mtime, f.path, None, f.size) for f in files]
    parts = opc_parts(meta, [e.name for e in entries])
    entries += [ZipEntry(name, 0o644, epoch, None, data, len(data)) for name, data in parts.items()]
    return sorted(entries, key=lambda e: e.name)


def _write_atomically(
    out_dir: str,
    final: str,
    overwrite: bool,
    fmt: str,
    entries: Iterable[ZipEntry],
    options: PackOptions,
    writer_options: dict,
    check: Callable[[], None],
) -> tuple[int, str]:
    """Write to a temp file in the out folder, then rename; leave nothing behind on failure."""
    try:
        os.makedirs(out_dir, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=out_dir)
    except OSError as error:
        raise BadInput(f"cannot write to out folder {out_dir}: {error.strerror}") from error
    try:
        with os.fdopen(fd, "w+b") as handle:
            digest = _write_format(handle, fmt, entries, options.compression_level,
                                   {"folder": out_dir, **writer_options})  # fmt: skip
            check()
            handle.flush()
            os.fsync(handle.fileno())
            if digest is None:
                handle.seek(0)
                digest = hashlib.file_digest(handle, "sha256").hexdigest()  # type: ignore[arg-type]
            size = handle.seek(0, os.SEEK_END)
        os.chmod(temp, 0o666 & ~_umask())
        _publish(temp, final, overwrite)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return size, digest


def _write_format(
    handle: BinaryIO, fmt: str, entries: Iterable[ZipEntry], level: str, writer_options: dict
) -> str | None:
    """Write the archive; return its SHA-256 when the writer computed it on the way.

    With two workers or more a zip is written by worker processes (see zip/shards.py): the
    same bytes as threads, without the GIL between the reading and the ordering of entries.
    """
    if archive_format(fmt).family == "tar":
        from packer.archive.tar.writer import write_tar_gz

        write_tar_gz(handle, entries, level)
        return None
    options = dict(writer_options)
    folder = options.pop("folder", None)
    if (
        options.get("workers", 1) >= PROCESS_MIN
        and hasattr(os, "fork")
        and "executor" not in options
    ):
        from packer.archive.zip.shards import write_zip_sharded

        return write_zip_sharded(handle, entries, level, folder=folder, digest=True,
                                 **options).sha256  # fmt: skip
    return write_zip(handle, entries, level, digest=True, **options).sha256


def _publish(temp: str, final: str, overwrite: bool) -> None:
    """Move the finished temp file into place; never replace a file without --overwrite."""
    if overwrite:
        os.replace(temp, final)
        return
    try:
        os.link(temp, final)
    except FileExistsError:
        raise BadInput(f"{final} already exists; pass --overwrite to replace it") from None
    except OSError:
        if os.path.exists(final):
            raise BadInput(f"{final} already exists; pass --overwrite to replace it") from None
        os.replace(temp, final)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
