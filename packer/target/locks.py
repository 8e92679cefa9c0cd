"""Exclusive file locks on a target: one deploy per id and environment at a time."""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from packer.model.errors import OperationFailed
from packer.target.private import open_private, private_dir

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def lock_path(state_dir: Path, package_id: str, environment: str | None) -> Path:
    """Name the lock file of one id and environment under `.octopack/locks/`."""
    env_part = _UNSAFE.sub("_", environment) if environment else "_"
    return state_dir / "locks" / f"{env_part}.{_UNSAFE.sub('_', package_id.lower())}.lock"


def _try_lock(fd: int) -> bool:
    """Take the flock without waiting; say whether we got it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def exclusive_lock(
    path: Path,
    timeout: float,
    describe: str,
    on_wait: Callable[[str], None] = lambda message: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    poll_interval: float = 0.1,
) -> Iterator[None]:
    """Hold an exclusive flock on `path`, waiting up to `timeout` seconds for another holder.

    `on_wait` is told once, with a message a person can read, when we have to wait.
    """
    private_dir(path.parent, tighten=False)
    fd = open_private(path, os.O_RDWR)
    try:
        if not _try_lock(fd):
            on_wait(f"waiting for another deploy of {describe} to finish (lock {path})")
            deadline = clock() + timeout
            while not _try_lock(fd):
                if clock() >= deadline:
                    raise OperationFailed(
                        f"another deploy of {describe} still holds {path} after {timeout:g} s;"
                        " try again later or raise --lock-timeout"
                    )
                sleep(poll_interval)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock
