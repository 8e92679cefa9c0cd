"""Upload spool files: created locked, written with clear errors, swept when nobody holds them.

A spool is `octopack-upload-*.part` in the upload folder. Its creator holds an exclusive
``flock`` on it for as long as the upload lives; a killed process loses the lock with
its descriptors. So a sweep can tell a live upload from a leftover without guessing from
its age: a spool whose lock it can take belongs to nobody. A short grace (on the spool's
mtime, against an injectable `now`) covers the instant between creating and locking.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from storage.errors import os_failure

SPOOL_PREFIX = "octopack-upload-"
SPOOL_SUFFIX = ".part"
SPOOL_GRACE_SECONDS = 60.0  # a spool is locked microseconds after it exists


def spool_folder(directory: str | None) -> Path:
    """The folder spools go to: the configured upload folder or the system temp folder."""
    return Path(directory or tempfile.gettempdir())


def create_spool(directory: str | None) -> tuple[int, Path]:
    """Create a new spool file and lock it; return its descriptor (the lock) and path.

    Closing the descriptor releases the lock. A full or refusing disk raises
    StorageFull/StorageDenied, which the feed reports as such.
    """
    try:
        fd, name = tempfile.mkstemp(prefix=SPOOL_PREFIX, suffix=SPOOL_SUFFIX, dir=directory)
    except OSError as exc:
        raise spool_failure(exc) from exc
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd, Path(name)


def write_spool(write: Callable[[bytes], object], chunk: bytes | memoryview) -> None:
    """Write to an upload spool; a full or refusing disk becomes StorageFull/StorageDenied."""
    try:
        write(chunk)  # type: ignore[arg-type]
    except OSError as exc:
        raise spool_failure(exc) from exc


def flush_spool(flush: Callable[[], object]) -> None:
    """Flush an upload spool, turning a full disk into StorageFull as `write_spool` does."""
    try:
        flush()
    except OSError as exc:
        raise spool_failure(exc) from exc


def spool_failure(exc: OSError) -> Exception:
    """The feed's error for a failed spool write (the spool is the feed's storage too)."""
    return os_failure("writing the upload spool failed", exc)


def abandoned_spools(
    directory: str | None, now: float | None = None, grace: float = SPOOL_GRACE_SECONDS
) -> list[Path]:
    """Return the spools no live process holds (their lock is free) older than `grace`."""
    cutoff = (time.time() if now is None else now) - grace
    found = []
    for path in sorted(spool_folder(directory).glob(f"{SPOOL_PREFIX}*{SPOOL_SUFFIX}")):
        try:
            if path.lstat().st_mtime <= cutoff and not _held(path):
                found.append(path)
        except OSError:
            continue  # gone meanwhile, or not ours to open
    return found


def sweep_spools(
    directory: str | None, now: float | None = None, grace: float = SPOOL_GRACE_SECONDS
) -> int:
    """Remove the spools no live process holds; return how many went."""
    removed = 0
    for path in abandoned_spools(directory, now, grace):
        try:
            path.unlink()
            removed += 1
        except OSError:
            continue
    return removed


def _held(path: Path) -> bool:
    """Tell whether some open descriptor holds the spool's lock."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
