"""Build a package from a folder: collect files (globs, .octopackignore), write zip/nupkg/tar.gz.

The output is reproducible (sorted entries, fixed timestamps and modes) and appears only when
complete: it is written to a temp file in the out folder and renamed at the end.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import BinaryIO

import pathspec

from packer.errors import BadInput, PackerError
from packer.identity import package_filename, validate_id
from packer.nupkg import check_part_name, opc_parts, part_name
from packer.nuspec import NuspecMetadata, parse_nuspec
from packer.tarwriter import write_tar_gz
from packer.versioning import parse_version
from packer.zipwriter import LEVELS, ZipEntry, write_zip

FORMATS = ("zip", "nupkg", "tar.gz")
IGNORE_FILE = ".octopackignore"
DEFAULT_AUTHORS = "octopack"
DEFAULT_DESCRIPTION = "A deployment package built by octopack."
SCRIPT_NAMES = ("predeploy", "deploy", "postdeploy", "deployfailed")
SCRIPT_EXTENSIONS = (".sh", ".py", ".ps1")
EPOCH_1980 = 315532800
TEMP_PREFIX = ".octopack-"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")


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

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file or (empty) directory found under the base path; dirs' names end with '/'."""

    name: str
    path: str | None
    mode: int
    mtime: float
    size: int = 0


# globs ------------------------------------------------------------------------------------


def compile_glob(pattern: str) -> re.Pattern[str]:
    """Translate a glob over relative POSIX paths (`*`, `?`, `[...]`, `**`) into a regex."""
    text = pattern.removeprefix("./").lstrip("/").rstrip("/")
    if not text:
        raise BadInput(f"bad glob {pattern!r}: it is empty")
    if "\\" in text or "\x00" in text:
        raise BadInput(f"bad glob {pattern!r}: use '/' as the path separator")
    segments = text.split("/")
    if any(seg in ("", ".", "..") for seg in segments):
        raise BadInput(f"bad glob {pattern!r}: empty, '.' or '..' path segments are not allowed")
    regex = ""
    for index, seg in enumerate(segments):
        last = index == len(segments) - 1
        if seg == "**":
            if last:
                regex = regex[:-1] + "(?:/.*)?" if regex else ".*"
            else:
                regex += "(?:[^/]+/)*"
            continue
        regex += _segment_regex(seg, pattern) + ("" if last else "/")
    return re.compile(regex, re.DOTALL)


def _segment_regex(seg: str, pattern: str) -> str:
    """Translate one path segment of a glob."""
    out, i = [], 0
    while i < len(seg):
        char = seg[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = seg.find("]", i + 2 if seg[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end < 0:
                raise BadInput(f"bad glob {pattern!r}: '[' without a closing ']'")
            body = seg[i + 1 : end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


class _Matcher:
    """Include/exclude globs plus the ignore file; exclusion always wins."""

    def __init__(self, includes: tuple[str, ...], excludes: tuple[str, ...], ignore) -> None:
        self.includes = [compile_glob(p) for p in includes]
        self.excludes = [compile_glob(p) for p in excludes]
        self.ignore = ignore

    def excluded(self, rel: str, is_dir: bool) -> bool:
        if any(rx.fullmatch(rel) for rx in self.excludes):
            return True
        return self.ignore is not None and self.ignore.match_file(rel + ("/" if is_dir else ""))

    def included(self, rel: str) -> bool:
        return not self.includes or any(rx.fullmatch(rel) for rx in self.includes)


def _load_ignore(base: str):
    """Read `.octopackignore` (gitignore syntax) from the base path, if there is one."""
    path = os.path.join(base, IGNORE_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return pathspec.GitIgnoreSpec.from_lines(handle.read().splitlines())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise BadInput(f"cannot use {path}: {error}") from error


# collecting --------------------------------------------------------------------------------


@dataclass
class _Walk:
    base: str
    matcher: _Matcher
    skip: set[str]
    mtime: float | None
    seen: dict[str, str] = field(default_factory=dict)


def iter_files(
    base: str,
    includes: tuple[str, ...] = (),
    excludes: tuple[str, ...] = (),
    *,
    skip: set[str] | None = None,
    mtime: float | None = EPOCH_1980,
) -> Iterator[SourceFile]:
    """Yield what to pack under `base` in name order, lazily, so writing can start at once.

    `mtime=None` keeps each file's own modification time.
    """
    if not os.path.isdir(base):
        raise BadInput(f"base path {base} does not exist or is not a directory")
    real = os.path.realpath(base)
    walk = _Walk(real, _Matcher(includes, excludes, _load_ignore(real)), skip or set(), mtime)
    return _checked(walk, _walk_dir(walk, real, covered=not includes))


def collect_files(base: str, *args, **kwargs) -> list[SourceFile]:
    """List what to pack under `base`, in name order (see iter_files)."""
    return list(iter_files(base, *args, **kwargs))


def _checked(walk: _Walk, files: Iterator[SourceFile]) -> Iterator[SourceFile]:
    """Refuse names that differ only in case: feeds and Windows targets cannot hold both."""
    for item in files:
        key = item.name.rstrip("/").lower()
        if key in walk.seen:
            raise BadInput(f"{walk.seen[key]!r} and {item.name!r} differ only in case; exclude one")
        walk.seen[key] = item.name
        yield item


def _sort_key(child: os.DirEntry) -> str:
    """Sorting folders as 'name/' makes a depth-first walk come out in full-path order."""
    return child.name + "/" if child.is_dir() else child.name


@dataclass
class _Frame:
    """One directory on the walk's stack."""

    children: Iterator[os.DirEntry]
    prefix: str
    ancestors: frozenset
    covered: bool
    st: os.stat_result | None = None
    contributed: bool = False


def _scan(directory: str, prefix: str) -> Iterator[os.DirEntry]:
    """A directory's entries in walk order."""
    try:
        with os.scandir(directory) as scan:
            return iter(sorted(scan, key=_sort_key))
    except OSError as error:
        raise BadInput(f"cannot read directory {prefix or '.'}: {error.strerror}") from error


def _walk_dir(walk: _Walk, root: str, covered: bool) -> Iterator[SourceFile]:
    """Yield the tree's entries depth first (an explicit stack: deep trees cost no recursion).

    A folder that ends up contributing nothing but is itself included is yielded as an empty
    directory entry after its (excluded) contents.
    """
    stack = [_Frame(_scan(root, ""), "", frozenset({root}), covered)]
    while stack:
        frame = stack[-1]
        child = next(frame.children, None)
        if child is None:
            stack.pop()
            if stack and not frame.contributed and frame.covered and frame.st is not None:
                yield SourceFile(frame.prefix, None, 0o755, _mtime(walk, frame.st))
                frame.contributed = True
            if stack and frame.contributed:
                stack[-1].contributed = True
            continue
        rel = frame.prefix + child.name
        if child.name == ".git" or child.path in walk.skip:
            continue
        if child.name.startswith(TEMP_PREFIX) and stack[-1] is stack[0] and root in walk.skip:
            continue  # a package being written into this folder, by us or a parallel run
        if _CONTROL.search(child.name):
            raise BadInput(f"cannot pack {rel!r}: control characters or '\\' in a file name")
        if not _is_utf8(child.name):
            raise BadInput(f"cannot pack {rel!r}: the file name is not valid UTF-8")
        if walk.matcher.excluded(rel, child.is_dir()):
            continue
        target = _resolve(walk, child, rel)
        try:
            st = os.stat(target)
        except OSError as error:
            raise BadInput(f"cannot read {rel}: {error.strerror}") from error
        inside = frame.covered or walk.matcher.included(rel)
        if stat.S_ISDIR(st.st_mode):
            if target in frame.ancestors:
                raise BadInput(f"symlink loop at {rel}: it points to {target}")
            children = _scan(target, rel + "/")
            stack.append(_Frame(children, rel + "/", frame.ancestors | {target}, inside, st))
        elif not stat.S_ISREG(st.st_mode):
            raise BadInput(f"cannot pack {rel}: not a regular file (device, FIFO or socket)")
        elif inside:
            mode = 0o755 if st.st_mode & 0o111 else 0o644
            yield SourceFile(rel, target, mode, _mtime(walk, st), st.st_size)
            frame.contributed = True


def _is_utf8(name: str) -> bool:
    """Names from the file system may carry undecodable bytes (surrogate escapes)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _resolve(walk: _Walk, child: os.DirEntry, rel: str) -> str:
    """Return the path to read for an entry; symlinks must point inside the base path."""
    if not child.is_symlink():
        return child.path
    target = os.path.realpath(child.path)
    if not os.path.exists(target):
        raise BadInput(f"broken symlink {rel}: {os.readlink(child.path)} does not exist")
    if os.path.commonpath([walk.base, target]) != walk.base:
        raise BadInput(f"symlink {rel} points outside the base path, to {target}")
    return target


def _mtime(walk: _Walk, st: os.stat_result) -> float:
    return walk.mtime if walk.mtime is not None else max(int(st.st_mtime), EPOCH_1980)


def is_script_name(name: str) -> bool:
    """True for PreDeploy/Deploy/PostDeploy/DeployFailed with .sh, .py or .ps1, any case."""
    stem, dot, ext = name.rsplit("/", 1)[-1].rpartition(".")
    return bool(dot) and stem.lower() in SCRIPT_NAMES and "." + ext.lower() in SCRIPT_EXTENSIONS


def find_scripts(files: Iterable[SourceFile]) -> tuple[list[str], list[str]]:
    """Return deploy scripts at the root, and warnings for deploy scripts below it."""
    scripts, warnings = [], []
    for item in files:
        if not is_script_name(item.name):
            continue
        if "/" in item.name:
            warnings.append(
                f"{item.name} looks like a deploy script but is not at the package root;"
                " it will not run"
            )
        else:
            scripts.append(item.name)
    return sorted(scripts), warnings


@dataclass
class _Tally:
    """What the summary needs from a streamed walk, without keeping every file."""

    files: int = 0
    script_like: list[SourceFile] = field(default_factory=list)

    def add(self, item: SourceFile) -> None:
        self.files += item.path is not None
        if is_script_name(item.name):
            self.script_like.append(item)


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
) -> PackResult:
    """Build the package described by `options`; raise BadInput before writing anything bad."""
    env = os.environ if env is None else env
    package_id = validate_id(options.package_id)
    version_text = options.version or default_version(now or datetime.now(UTC))
    version = parse_version(version_text)
    fmt = options.format.lower()
    if fmt not in FORMATS:
        raise BadInput(f"unknown format {options.format!r}: use one of {', '.join(FORMATS)}")
    if options.compression_level not in LEVELS:
        raise BadInput(f"unknown compression level {options.compression_level!r}")
    release_notes = _release_notes(options)
    if not os.path.isdir(options.base_path):
        raise BadInput(f"base path {options.base_path} does not exist or is not a directory")
    out_dir = os.path.abspath(options.out_folder)
    final = os.path.join(out_dir, package_filename(package_id, version_text, fmt))
    if os.path.exists(final) and not options.overwrite:
        raise BadInput(f"{final} already exists; pass --overwrite to replace it")
    files = iter_files(
        options.base_path,
        tuple(options.includes),
        tuple(options.excludes),
        skip=_skip_paths(out_dir, final),
        mtime=None if options.keep_timestamps else source_date_epoch(env),
    )
    tally = _Tally()
    warnings: list[str] = []
    if fmt == "nupkg":
        collected = list(files)
        kept, meta = _nupkg_metadata(options, collected, version_text, release_notes, warnings)
        for item in kept:
            tally.add(item)
        entries: Iterable[ZipEntry] = _nupkg_entries(kept, meta, source_date_epoch(env))
    else:
        entries = _entries(files, tally)

    def check_found() -> None:
        if not tally.files:
            raise BadInput(f"nothing to pack: no file under {options.base_path} matched")

    size, digest = _write_atomically(out_dir, final, options.overwrite, fmt, entries, options,
                                     writer_options or {}, check_found)  # fmt: skip
    scripts, script_warnings = find_scripts(tally.script_like)
    return PackResult(final, package_id, version_text, version.normalized, fmt, size, digest,
                      tally.files, scripts, script_warnings + warnings)  # fmt: skip


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
    try:
        with open(path, "rb") as handle:
            return parse_nuspec(handle.read())
    except OSError as error:
        raise BadInput(f"cannot read {path}: {error.strerror}") from error
    except PackerError as error:
        raise BadInput(f"{path}: {error}") from error


def _entries(files: Iterable[SourceFile], tally: _Tally) -> Iterator[ZipEntry]:
    """Archive entries as the walk finds them, counted for the summary."""
    for f in files:
        tally.add(f)
        yield ZipEntry(f.name, f.mode, f.mtime, f.path, None, f.size)


def _nupkg_entries(files: list[SourceFile], meta: NuspecMetadata, epoch: int) -> list[ZipEntry]:
    """nupkg entries in order of their escaped names, the nuspec and OPC parts among them."""
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
            _write_format(handle, fmt, entries, options.compression_level, writer_options)
            check()
            handle.flush()
            os.fsync(handle.fileno())
            handle.seek(0)
            digest = hashlib.file_digest(handle, "sha256").hexdigest()  # type: ignore[arg-type]
            size = handle.tell()
        os.chmod(temp, 0o666 & ~_umask())
        _publish(temp, final, overwrite)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return size, digest


def _write_format(
    handle: BinaryIO, fmt: str, entries: Iterable[ZipEntry], level: str, writer_options: dict
) -> None:
    if fmt == "tar.gz":
        write_tar_gz(handle, entries, level)
    else:
        write_zip(handle, entries, level, **writer_options)


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
