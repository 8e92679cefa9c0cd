"""`--substitute GLOB`: replace `#{Name}` in the matched files of a release with variables.

All files are read and checked before any is written, so an unknown name changes nothing.
Files are rewritten through a temp file and a rename, keeping their mode.

A variable name (as Octopus writes them) starts with a letter or `_` and goes on with
letters, digits, `_`, `-`, `.`, `:`, `[`, `]` and inner spaces, at most 200 characters;
spaces just inside the braces are ignored (`#{ Name }`). Anything else between `#{` and
`}` (`#{...}`, `#{1}`, `#{}`) is not a variable and stays as written.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from packer.model.errors import BadInput, OperationFailed
from packer.model.globs import compile_glob
from packer.target.variables import Variables

_TOKEN = re.compile(rb"#\{ *([A-Za-z_](?:[A-Za-z0-9_.:\[\] -]{0,198}[A-Za-z0-9_.:\[\]-])?) *\}")


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Translate a glob (`packer.model.globs`) to a regex that also covers the contents of
    a matched directory; surrounding spaces are ignored."""
    return compile_glob(pattern.strip(), covers_contents=True)


def match_files(root: Path, globs: Iterable[str]) -> dict[str, list[Path]]:
    """Return, per glob, the regular files below `root` it matches (sorted, no symlinks)."""
    files: list[tuple[str, Path]] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(directory) / name
            if path.is_symlink() or not path.is_file():
                continue
            files.append((path.relative_to(root).as_posix(), path))
    result: dict[str, list[Path]] = {}
    for glob in globs:
        try:
            regex = glob_to_regex(glob)
        except BadInput:  # a malformed glob matches nothing: reported as such, as before
            result[glob] = []
            continue
        result[glob] = [path for rel, path in files if regex.fullmatch(rel)]
    return result


@dataclass
class SubstitutionReport:
    """What `substitute_files` did: files changed, names left alone, globs matching nothing."""

    changed: list[str] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)
    unmatched_globs: list[str] = field(default_factory=list)


def _replace(data: bytes, variables: Variables, missing: set[str]) -> bytes:
    """Replace known tokens in `data`; collect the names that have no value."""

    def one(match: re.Match[bytes]) -> bytes:
        name = match.group(1).decode("utf-8", "replace").strip()
        value = variables.lookup(name)
        if value is None:
            missing.add(name)
            return match.group(0)
        return value.encode("utf-8")

    return _TOKEN.sub(one, data)


def find_tokens(data: bytes) -> Iterator[tuple[str, str]]:
    """Yield each `#{Name}` token in `data` and its name, in order."""
    for match in _TOKEN.finditer(data):
        yield (
            match.group(0).decode("utf-8", "replace"),
            match.group(1).decode("utf-8", "replace").strip(),
        )


def substitute_text(text: str, variables: Variables) -> tuple[str, list[str]]:
    """Replace `#{Name}` in one string; return the text and the names that had no value."""
    missing: set[str] = set()
    data = _replace(text.encode("utf-8"), variables, missing)
    return data.decode("utf-8"), sorted(missing)


def rewrite_file(path: Path, data: bytes) -> None:
    """Replace the file's bytes atomically, keeping its permission bits."""
    stat = path.stat()
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".subst", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, stat.st_mode & 0o7777)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def substitute_files(
    root: Path, globs: Iterable[str], variables: Variables, allow_missing: bool = False
) -> SubstitutionReport:
    """Replace `#{Name}` in files matching `globs`; unknown names fail unless allowed."""
    report = SubstitutionReport()
    matches = match_files(root, globs)
    planned: dict[Path, bytes] = {}
    for glob, paths in matches.items():
        if not paths:
            report.unmatched_globs.append(glob)
        for path in paths:
            if path in planned:
                continue
            original = path.read_bytes()
            missing: set[str] = set()
            updated = _replace(original, variables, missing)
            rel = path.relative_to(root).as_posix()
            if missing:
                report.missing[rel] = sorted(missing)
            if updated != original:
                planned[path] = updated
    if report.missing and not allow_missing:
        detail = "; ".join(f"{rel}: {', '.join(names)}" for rel, names in report.missing.items())
        raise OperationFailed(
            f"no value for variables in substituted files ({detail}); pass them with "
            "--variable or --variables-file, or use --allow-missing-variables"
        )
    for path, data in planned.items():
        rewrite_file(path, data)
        report.changed.append(path.relative_to(root).as_posix())
    return report
