"""Structured configuration variables: `a:b:0:c` replaces that value in JSON, YAML, .properties.

The files are those matched by `[process] structured` in octopack.toml. The plan (what each
variable would change, old and new) is computed first and is the same for `deploy --dry-run`
and a real deploy; a real deploy then writes the planned files atomically. A variable whose
name holds `:` and that matches no key in any file is reported as a warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packer.model.errors import OperationFailed
from packer.target.structured_properties import PropertiesDocument
from packer.target.structured_tree import TreeDocument, display
from packer.target.substitution import match_files, rewrite_file
from packer.target.variables import MASK, Variables

_KINDS = {".json": TreeDocument, ".yaml": TreeDocument, ".yml": TreeDocument}
_KINDS[".properties"] = PropertiesDocument  # type: ignore[assignment]


@dataclass(frozen=True)
class Change:
    """One value a variable changes (or would change) in one file; secrets shown masked."""

    file: str
    key: str
    old: str
    new: str

    def to_json(self) -> dict[str, str]:
        """Return the `changes` entry of the dry-run document."""
        return {"file": self.file, "key": self.key, "old": self.old, "new": self.new}


@dataclass
class StructuredPlan:
    """What structured variables do to a release: changes, warnings, the new file texts."""

    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    contents: dict[Path, str] = field(default_factory=dict)


def plan_structured(root: Path, globs: Iterable[str], variables: Variables) -> StructuredPlan:
    """Work out every change without writing; raise OperationFailed for a file we cannot read."""
    plan = StructuredPlan()
    globs = list(globs)
    if not globs:
        return plan
    matched_names: set[str] = set()
    seen: set[Path] = set()
    files: list[str] = []
    for glob, paths in match_files(root, globs).items():
        if not paths:
            plan.warnings.append(f"structured: no file matches {glob!r}")
        for path in paths:
            if path in seen:
                continue
            seen.add(path)
            rel = path.relative_to(root).as_posix()
            kind = _KINDS.get(path.suffix.lower())
            if kind is None:
                plan.warnings.append(
                    f"structured: {rel} is not a .json, .yaml, .yml or .properties file; skipped"
                )
                continue
            files.append(rel)
            document = kind(rel, _read(path, rel))
            changed = _apply_variables(document, rel, variables, matched_names, plan)
            if changed:
                plan.contents[path] = document.render()
    for name in variables.values:
        if ":" in name and name not in matched_names:
            where = ", ".join(files) if files else "no file"
            plan.warnings.append(f"structured: variable {name!r} matches no key in {where}")
    return plan


def apply_structured(root: Path, globs: Iterable[str], variables: Variables) -> StructuredPlan:
    """Plan, then write each changed file through a temp file and a rename."""
    plan = plan_structured(root, globs, variables)
    for path, text in plan.contents.items():
        rewrite_file(path, text.encode("utf-8"))
    return plan


def _apply_variables(
    document: Any, rel: str, variables: Variables, matched: set[str], plan: StructuredPlan
) -> bool:
    """Replace every variable that names a value in `document`; return True if any changed."""
    changed = False
    for name, value in variables.values.items():
        keys = name.split(":")
        if any(not key for key in keys):
            continue
        try:
            result = document.replace(keys, value)
        except OperationFailed as error:
            raise OperationFailed(variables.mask(str(error))) from None
        if result is None:
            continue
        matched.add(name)
        old, new = result
        if type(old) is type(new) and display(old) == display(new):
            continue
        changed = True
        secret = name in variables.sensitive
        plan.changes.append(
            Change(
                rel,
                name,
                MASK if secret else variables.mask(display(old)),
                MASK if secret else variables.mask(display(new)),
            )
        )
    return changed


def _read(path: Path, rel: str) -> str:
    """Read a configuration file as UTF-8 text."""
    try:
        return path.read_bytes().decode("utf-8")  # line endings kept as they are
    except UnicodeDecodeError as error:
        raise OperationFailed(f"{rel} is not UTF-8 text: {error}") from None
