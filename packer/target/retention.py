"""Target retention: keep the N newest successful releases per id and environment.

The current release always counts as kept; every failed release goes; a directory a kept
entry uses is never deleted; cache files of deleted releases go unless a kept one uses them.
The caller holds the deploy lock of each group it cleans.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from packer.archive.validator import remove_tree
from packer.model.errors import BadInput, OperationFailed
from packer.target.journal import Journal, JournalEntry


@dataclass
class RetentionResult:
    """Releases kept and deleted, as the deploy JSON reports them."""

    kept: list[dict[str, str | None]] = field(default_factory=list)
    deleted: list[dict[str, str | None]] = field(default_factory=list)


def _describe(entry: JournalEntry) -> dict[str, str | None]:
    """Return the JSON form of a release in a retention report."""
    return {
        "id": entry.id,
        "version": entry.version,
        "environment": entry.environment,
        "directory": entry.directory,
        "status": entry.status,
    }


def group_key(package_id: str, environment: str | None) -> tuple[str, str]:
    """Group releases by id (case-insensitive) and environment."""
    return package_id.lower(), environment or ""


def _current_target(current_link: Path) -> str | None:
    """Return the absolute directory `current` points at, or None."""
    if not current_link.is_symlink():
        return None
    return str((current_link.parent / os.readlink(current_link)).resolve())


def plan_group(
    entries: list[JournalEntry], keep: int, current: str | None
) -> tuple[list[JournalEntry], list[JournalEntry]]:
    """Split one group's live releases into (kept, deleted)."""
    live = [e for e in entries if e.deleted is None and e.directory]
    order = {e.key: i for i, e in enumerate(live)}

    def newest_first(entry: JournalEntry) -> tuple[str, int]:
        return entry.finished or entry.started, order[entry.key]

    successful = sorted((e for e in live if e.success), key=newest_first, reverse=True)
    successful.sort(key=lambda e: _resolved(e.directory) != current)  # current first, stable
    kept = successful[:keep]
    kept_dirs = {_resolved(e.directory) for e in kept} | ({current} if current else set())
    deleted = [e for e in live if e not in kept and _resolved(e.directory) not in kept_dirs]
    return kept, deleted


def _resolved(directory: str | None) -> str | None:
    """Normalise a journal directory for comparison."""
    return str(Path(directory).resolve()) if directory else None


def _remove_directory(root: Path, directory: str) -> None:
    """Delete a release directory, but only a real directory strictly inside `root`."""
    path = Path(directory)
    resolved = path.resolve()
    if (
        path.is_symlink()
        or resolved == root.resolve()
        or not resolved.is_relative_to(root.resolve())
    ):
        return
    try:
        remove_tree(resolved)
    except FileNotFoundError:
        pass
    except OSError as error:
        raise OperationFailed(f"target retention cannot delete {resolved}: {error}") from error


def apply_retention(
    root: Path,
    journal: Journal,
    keep: int,
    package_id: str,
    environment: str | None,
    current_link: Path,
    cache_dir: Path | None,
) -> RetentionResult:
    """Delete the releases of one id and environment beyond the newest `keep` successful ones."""
    if keep < 1:
        raise BadInput(f"--keep {keep} must be at least 1 (the current release always stays)")
    key = group_key(package_id, environment)
    all_entries = journal.entries()
    group = [e for e in all_entries if group_key(e.id, e.environment) == key]
    kept, deleted = plan_group(group, keep, _current_target(current_link))
    for entry in deleted:
        assert entry.directory is not None
        _remove_directory(root, entry.directory)
    journal.mark_deleted({e.key for e in deleted})
    deleted_keys = {e.key for e in deleted}
    still_used = {
        e.package_file
        for e in all_entries
        if e.package_file and e.deleted is None and e.key not in deleted_keys
    }
    for entry in deleted:
        file = entry.package_file
        if file and file not in still_used and cache_dir and _inside(cache_dir, Path(file)):
            Path(file).unlink(missing_ok=True)
    return RetentionResult([_describe(e) for e in kept], [_describe(e) for e in deleted])


def _inside(directory: Path, path: Path) -> bool:
    """Say whether `path` lies inside `directory` (only cache files are ever removed)."""
    return path.resolve().is_relative_to(directory.resolve())
