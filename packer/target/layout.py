"""Where things live on a deployment target (DESIGN.md "files on a target").

`{root}/{environment}/{id}/{version}` (`_1`, `_2`, ... when taken), a `current` symlink
beside the releases, and octopack's own files under `{root}/.octopack/`.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from packer.model.environments import is_name
from packer.model.errors import BadInput

STATE_DIR = ".octopack"


def check_segment(value: str, what: str) -> str:
    """Refuse an environment, id or version that is not one safe directory name."""
    if not is_name(value):
        raise BadInput(
            f"{what} {value!r} cannot be a directory name: use letters, digits, '.', '_', '-'"
        )
    return value


@dataclass(frozen=True)
class TargetLayout:
    """The directories of one target root."""

    root: Path
    cache_override: Path | None = None

    @property
    def state_dir(self) -> Path:
        """Return `{root}/.octopack`."""
        return self.root / STATE_DIR

    @property
    def cache_dir(self) -> Path:
        """Return the package cache (`--cache DIR` or `{root}/.octopack/cache`)."""
        return self.cache_override or self.state_dir / "cache"

    @property
    def logs_dir(self) -> Path:
        """Return `{root}/.octopack/logs`."""
        return self.state_dir / "logs"

    def package_dir(self, package_id: str, environment: str | None) -> Path:
        """Return the folder holding every release of one id in one environment."""
        check_segment(package_id, "package id")
        if environment is None:
            return self.root / package_id
        return self.root / check_segment(environment, "environment") / package_id

    def current_link(self, package_id: str, environment: str | None) -> Path:
        """Return the `current` symlink of one id and environment."""
        return self.package_dir(package_id, environment) / "current"

    def free_release_dir(self, package_id: str, environment: str | None, version: str) -> Path:
        """Return `{version}`, or `{version}_1`, `_2`, ... when the name is taken."""
        parent = self.package_dir(package_id, environment)
        candidate = parent / check_segment(version, "version")
        suffix = 0
        while os.path.lexists(candidate):
            suffix += 1
            candidate = parent / f"{version}_{suffix}"
        return candidate

    def current_target(self, package_id: str, environment: str | None) -> Path | None:
        """Return the release `current` points at, or None when there is none."""
        link = self.current_link(package_id, environment)
        if not link.is_symlink():
            return None
        target = (link.parent / os.readlink(link)).resolve()
        return target if target.is_dir() else None

    def point_current(self, package_id: str, environment: str | None, release: Path) -> None:
        """Switch `current` to `release` atomically (a relative symlink renamed into place)."""
        link = self.current_link(package_id, environment)
        temp = link.parent / f".current.{uuid.uuid4().hex}"
        os.symlink(release.name, temp)
        try:
            os.replace(temp, link)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
