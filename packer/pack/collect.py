"""Which files go into a package: globs, `.octopackignore`, the walk, deploy scripts.

The walk yields entries lazily in full-path order, so the writer can compress while it walks.
Globs match relative POSIX paths, case-sensitively; exclusion wins; `.git` is never packed;
symlinks must point inside the base path and are packed as what they point to.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from packer.model.conventions import script_step
from packer.model.errors import BadInput
from packer.model.globs import compile_glob

IGNORE_FILE = ".octopackignore"
EPOCH_1980 = 315532800
TEMP_PREFIX = ".octopack-"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")


class SourceFile(NamedTuple):
    """One file or (empty) directory found under the base path; dirs' names end with '/'.

    The fields are zipwriter.ZipEntry's, in its order, so the writers take it as it is.
    """

    name: str
    mode: int
    mtime: float
    path: str | None
    data: bytes | None = None
    size: int = 0

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/")


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
            import pathspec  # only when there is an ignore file: it costs 25 ms to import

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
    warnings: list[str] | None = None


def iter_files(
    base: str,
    includes: tuple[str, ...] = (),
    excludes: tuple[str, ...] = (),
    *,
    skip: set[str] | None = None,
    mtime: float | None = EPOCH_1980,
    warnings: list[str] | None = None,
) -> Iterator[SourceFile]:
    """Yield what to pack under `base` in name order, lazily, so writing can start at once.

    `mtime=None` keeps each file's own modification time.
    """
    if not os.path.isdir(base):
        raise BadInput(f"base path {base} does not exist or is not a directory")
    real = os.path.realpath(base)
    matcher = _Matcher(includes, excludes, _load_ignore(real))
    walk = _Walk(real, matcher, skip or set(), mtime, warnings=warnings)
    return _walk_dir(walk, real, covered=not includes)


def collect_files(base: str, *args, **kwargs) -> list[SourceFile]:
    """List what to pack under `base`, in name order (see iter_files)."""
    return list(iter_files(base, *args, **kwargs))


def _sort_key(child: os.DirEntry) -> str:
    """Sorting folders as 'name/' makes a depth-first walk come out in full-path order."""
    return child.name + "/" if child.is_dir() else child.name


@dataclass(slots=True)
class _Frame:
    """One directory on the walk's stack.

    `watched`: this folder's path collides case-insensitively with a sibling's (or is below
    one that does); only names below such folders can differ from another only in case.
    `colliding`: the children whose names equal a sibling's but for case.
    """

    children: Iterator[os.DirEntry]
    prefix: str
    ancestors: frozenset
    covered: bool
    path: str
    watched: bool
    colliding: frozenset
    contributed: bool = False


def _scan(directory: str, prefix: str) -> tuple[Iterator[os.DirEntry], frozenset]:
    """A directory's entries in walk order, and the names equal to a sibling's but for case."""
    try:
        with os.scandir(directory) as scan:
            children = sorted(scan, key=_sort_key)
    except OSError as error:
        raise BadInput(f"cannot read directory {prefix or '.'}: {error.strerror}") from error
    colliding: frozenset = frozenset()
    lowered = [child.name.lower() for child in children]
    if len(set(lowered)) < len(lowered):
        counts: dict[str, int] = {}
        for key in lowered:
            counts[key] = counts.get(key, 0) + 1
        colliding = frozenset(
            c.name for c, k in zip(children, lowered, strict=True) if counts[k] > 1
        )
    return iter(children), colliding


def _check_case(walk: _Walk, name: str) -> None:
    """Warn about names that differ only in case: two files on Linux, one where names fold
    (Windows, macOS), where deploy refuses the package."""
    key = name.rstrip("/").lower()
    if key in walk.seen:
        if walk.warnings is not None:
            walk.warnings.append(
                f"{walk.seen[key]!r} and {name!r} differ only in case: deploying to a file "
                "system that folds case (Windows, macOS) is refused"
            )
        return
    walk.seen[key] = name


def _walk_dir(walk: _Walk, root: str, covered: bool) -> Iterator[SourceFile]:
    """Yield the tree's entries depth first (an explicit stack: deep trees cost no recursion).

    A folder that ends up contributing nothing but is itself included is yielded as an empty
    directory entry after its (excluded) contents. Only names below folders whose names
    collide with a sibling's but for case are remembered, so memory does not grow per file.
    """
    children, colliding = _scan(root, "")
    stack = [_Frame(children, "", frozenset({root}), covered, root, False, colliding)]
    matcher, skip, fixed_mtime = walk.matcher, walk.skip, walk.mtime
    filtered = bool(matcher.excludes) or matcher.ignore is not None
    while stack:
        frame = stack[-1]
        child = next(frame.children, None)
        if child is None:
            stack.pop()
            if stack and not frame.contributed and frame.covered:
                if frame.watched:
                    _check_case(walk, frame.prefix)
                yield SourceFile(frame.prefix, 0o755, _dir_mtime(walk, frame), None)
                frame.contributed = True
            if stack and frame.contributed:
                stack[-1].contributed = True
            continue
        name = child.name
        path = child.path
        if name == ".git" or path in skip:
            continue
        if name.startswith(TEMP_PREFIX) and len(stack) == 1 and root in skip:
            continue  # a package being written into this folder, by us or a parallel run
        rel = frame.prefix + name
        if not (name.isascii() and name.isprintable()) or "\\" in name:
            _check_name(name, rel)
        is_dir = child.is_dir()
        if filtered and matcher.excluded(rel, is_dir):
            continue
        inside = frame.covered or matcher.included(rel)
        watched = frame.watched or name in frame.colliding
        if child.is_symlink():
            target = _resolve(walk, child, rel)
            st = _stat(target, rel)
            is_dir = stat.S_ISDIR(st.st_mode)
        elif is_dir:
            target, st = path, None
        else:
            target = path
            try:
                st = os.stat(path)
            except OSError as error:
                raise BadInput(f"cannot read {rel}: {error.strerror}") from error
            if not child.is_file():
                is_dir = stat.S_ISDIR(st.st_mode)  # a race: it became a folder
        if is_dir:
            if target in frame.ancestors:
                raise BadInput(f"symlink loop at {rel}: it points to {target}")
            children, colliding = _scan(target, rel + "/")
            stack.append(_Frame(children, rel + "/", frame.ancestors | {target}, inside,
                                target, watched, colliding))  # fmt: skip
            continue
        assert st is not None
        if not stat.S_ISREG(st.st_mode):
            raise BadInput(f"cannot pack {rel}: not a regular file (device, FIFO or socket)")
        if inside:
            if watched:
                _check_case(walk, rel)
            mode = 0o755 if st.st_mode & 0o111 else 0o644
            when = fixed_mtime if fixed_mtime is not None else max(int(st.st_mtime), EPOCH_1980)
            yield SourceFile(rel, mode, when, target, None, st.st_size)
            frame.contributed = True


def _check_name(name: str, rel: str) -> None:
    """Refuse control characters, backslashes and names that are not UTF-8."""
    if _CONTROL.search(name):
        raise BadInput(f"cannot pack {rel!r}: control characters or '\\' in a file name")
    if not _is_utf8(name):
        raise BadInput(f"cannot pack {rel!r}: the file name is not valid UTF-8")


def _stat(path: str, rel: str) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as error:
        raise BadInput(f"cannot read {rel}: {error.strerror}") from error


def _dir_mtime(walk: _Walk, frame: _Frame) -> float:
    """An empty folder's time: the fixed one, or (--keep-timestamps) its own."""
    if walk.mtime is not None:
        return walk.mtime
    try:
        return _mtime(walk, os.stat(frame.path))
    except OSError as error:
        raise BadInput(f"cannot read {frame.prefix}: {error.strerror}") from error


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
    return script_step(name) is not None


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
class Tally:
    """What the summary needs from a streamed walk, without keeping every file."""

    files: int = 0
    script_like: list[SourceFile] = field(default_factory=list)

    def add(self, item: SourceFile) -> None:
        self.files += item.path is not None
        if "deploy" in item.name.lower() and is_script_name(item.name):
            self.script_like.append(item)
