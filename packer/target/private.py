"""Owner-only state on a target: logs, the journal, locks and the package cache.

Deploy logs and the journal can hold what scripts print and packages can hold secrets, so
octopack's own folders are 0700 and its files 0600, whatever the umask. Folders octopack
made before this rule are tightened when next used.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def private_dir(path: Path, tighten: bool = True) -> Path:
    """Create `path` (and missing parents) as 0700; with `tighten`, make an existing one 0700.

    `tighten=False` leaves a folder that already exists as it is (a `--cache DIR` the
    operator chose); a symlink is never chmodded through.
    """
    missing = []
    probe = path
    while not os.path.lexists(probe) and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, PRIVATE_DIR)
        except FileExistsError:
            pass
        _chmod_dir(folder)
    if tighten and not missing:
        _chmod_dir(path)
    return path


def _chmod_dir(path: Path) -> None:
    """Set 0700 on a real directory we own when other users could read or enter it."""
    found = os.lstat(path)
    if (
        stat.S_ISDIR(found.st_mode)
        and found.st_uid == os.geteuid()
        and stat.S_IMODE(found.st_mode) != PRIVATE_DIR
    ):
        os.chmod(path, PRIVATE_DIR)


def open_private(path: Path, flags: int) -> int:
    """Open (creating) a file readable and writable by its owner only; return the descriptor."""
    fd = os.open(path, flags | os.O_CREAT | _CLOEXEC, PRIVATE_FILE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != PRIVATE_FILE:
            os.fchmod(fd, PRIVATE_FILE)
    except BaseException:
        os.close(fd)
        raise
    return fd
